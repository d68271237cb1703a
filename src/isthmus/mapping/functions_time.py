"""Registers the date functions, format_timestamp and now_utc."""

from __future__ import annotations

from isthmus.mapping import lowering_time, timestamps
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import (
    NOW_COLUMN,
    FunctionSpec,
    option,
    register,
    returns,
    value,
)
from isthmus.types import DATE, STRING, TIMESTAMP, DataType

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _date_format(binding: Binding) -> DataType:
    fmt = binding.options.get("fmt")
    if isinstance(fmt, str):
        timestamps.check_format(fmt, binding.option_nodes["fmt"], "parse_date")
    return DATE


def _formatted(binding: Binding) -> DataType:
    node = binding.values[0].node
    timestamps.check_format(
        str(binding.options["fmt"]), binding.option_nodes.get("fmt", node), "format_timestamp"
    )
    timestamps.check_zone(
        str(binding.options["tz"]), binding.option_nodes.get("tz", node), "format_timestamp"
    )
    return STRING


register(
    FunctionSpec(
        "to_date",
        (value(TIMESTAMP, DATE, STRING),),
        "date",
        returns(DATE),
        lowering_time.to_date,
        "A date from a timestamp (its UTC day) or from ISO text 'YYYY-MM-DD'; fails on other "
        "text and on days that do not exist.",
        can_fail=True,
        converts_to=DATE,
    )
)
register(
    FunctionSpec(
        "parse_date",
        (
            value(STRING, doc="the text to read"),
            option("fmt", (STRING,), "a strftime format; YYYY-MM-DD when None"),
        ),
        "date",
        _date_format,
        lowering_time.parse_date,
        "A date from text in fmt (YYYY-MM-DD without one); fails on text that is not a real "
        "day of the years 1-9999.",
        can_fail=True,
    )
)
register(
    FunctionSpec(
        "format_timestamp",
        (
            value(TIMESTAMP, DATE, doc="the instant (or day) to write"),
            option("fmt", (STRING,), "a strftime format", ISO_FORMAT),
            option("tz", (STRING,), "the IANA zone to write the instant in", "UTC"),
        ),
        "string",
        _formatted,
        lowering_time.format_timestamp,
        "A timestamp as text in fmt, written in the zone tz; a date is written as its "
        "midnight, in no other zone.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "now_utc",
        (),
        "timestamp",
        returns(TIMESTAMP),
        lowering_time.now_utc,
        "The run's start time (UTC): the same for every row of every batch of the run.",
        can_fail=False,
        context_column=NOW_COLUMN,
    )
)
