"""Registers parse_json and json_get."""

from __future__ import annotations

from isthmus.mapping import lowering_json
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import (
    BAD_ARGUMENTS,
    FunctionSpec,
    option,
    register,
    returns,
    value,
)
from isthmus.types import JSON, STRING, DataType


def _got(binding: Binding) -> DataType:
    path = str(binding.options["path"])
    if lowering_json.PATH.fullmatch(path) is None:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"json_get() argument 'path' {path!r} is not a path like 'a.b[0].c'",
            binding.option_nodes["path"],
            hint="join names with dots and write [N] for a list's N-th item, counted from 0",
        )
    return JSON


register(
    FunctionSpec(
        "parse_json",
        (value(STRING, doc="the text"),),
        "json",
        returns(JSON),
        lowering_json.parse_json,
        "The text as a json value; fails on text that is not JSON.",
        can_fail=True,
        converts_to=JSON,
    )
)
register(
    FunctionSpec(
        "json_get",
        (
            value(JSON, doc="the json value"),
            option("path", (STRING,), "names and [N] indexes, like 'a.b[0].c'", required=True),
        ),
        "json",
        _got,
        lowering_json.json_get,
        "The json value at the path; null where the path leads nowhere; fails on a value that "
        "is not JSON.",
        can_fail=True,
    )
)
