"""Registers the null handling functions (default, nullif, is_null) and hash."""

from __future__ import annotations

from isthmus.mapping import lowering_values
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import (
    TYPE_MISMATCH,
    FunctionSpec,
    conversion_hint,
    register,
    returns,
    value,
)
from isthmus.types import BOOLEAN, STRING, DataType, common_type


def _shared(binding: Binding) -> DataType:
    """The type both arguments fit in, or a type-mismatch at the second."""
    first, second = binding.values
    found = common_type([first.type, second.type])
    if found is None:
        conversion = conversion_hint(second.node.text, second.type, first.type)
        raise ArgumentError(
            TYPE_MISMATCH,
            f"{binding.function}() needs arguments of one type, found {first.type} "
            f"({first.node.text}) and {second.type} ({second.node.text})",
            second.node,
            hint=f"convert it: {conversion}" if conversion else "convert one of them",
        )
    return found


def _default_result(binding: Binding) -> DataType:
    return _shared(binding)


def _nullif_result(binding: Binding) -> DataType:
    _shared(binding)
    return binding.values[0].type


register(
    FunctionSpec(
        "default",
        (value(name="value", doc="the value"), value(name="fallback", doc="its stand-in")),
        "the arguments' common type",
        _default_result,
        lowering_values.default,
        "The value, or fallback where the value is null.",
        can_fail=False,
        null_tolerant=True,
    )
)
register(
    FunctionSpec(
        "nullif",
        (value(name="value", doc="the value"), value(name="other", doc="what counts as none")),
        "the value's type",
        _nullif_result,
        lowering_values.nullif,
        "Null where the value equals other (a placeholder like '' or 'N/A'), else the value.",
        can_fail=False,
        null_tolerant=True,
    )
)
register(
    FunctionSpec(
        "is_null",
        (value(),),
        "boolean",
        returns(BOOLEAN),
        lowering_values.is_null,
        "Whether the value is null: true or false, never null.",
        can_fail=False,
        null_tolerant=True,
    )
)
register(
    FunctionSpec(
        "hash",
        (value(),),
        "string",
        returns(STRING),
        lowering_values.sha256,
        "The SHA-256 of the value's text (as to_string writes it, UTF-8), in lower-case hex.",
        can_fail=False,
    )
)
