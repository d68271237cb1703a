"""Registers to_decimal, round and abs."""

from __future__ import annotations

from isthmus.mapping import lowering_numbers
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import (
    BAD_ARGUMENTS,
    FunctionSpec,
    first_type,
    option,
    register,
    returns,
    value,
)
from isthmus.types import DECIMAL, FLOAT, INTEGER, STRING, DataType

MAX_DIGITS = 15  # past a float's precision; a decimal keeps 9 places anyway
_NUMBERS = (INTEGER, FLOAT, DECIMAL)


def _rounded(binding: Binding) -> DataType:
    digits = binding.options.get("digits")
    if not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"round() argument 'digits' is {digits!r}; it must be from 0 to {MAX_DIGITS}",
            binding.option_nodes["digits"],
            hint="round to whole numbers with digits=0, to cents with digits=2",
        )
    return first_type(binding)


register(
    FunctionSpec(
        "to_decimal",
        (value(STRING, INTEGER, FLOAT, DECIMAL),),
        "decimal",
        returns(DECIMAL),
        lowering_numbers.to_decimal,
        "An exact decimal (38 digits, 9 after the point) from text like '12.50' or '1e5', or "
        "from a number; fails on other text and on values of 10^29 or more.",
        can_fail=True,
        converts_to=DECIMAL,
    )
)
register(
    FunctionSpec(
        "round",
        (
            value(*_NUMBERS, doc="the number to round"),
            option("digits", (INTEGER,), "places after the point, 0 to 15", 0),
        ),
        "the input's type",
        _rounded,
        lowering_numbers.round_number,
        "The number rounded to digits places, halves away from zero (2.5 -> 3, -2.5 -> -3); "
        "fails on a decimal that would round to 10^29.",
        can_fail=True,
    )
)
register(
    FunctionSpec(
        "abs",
        (value(*_NUMBERS),),
        "the input's type",
        first_type,
        lowering_numbers.absolute,
        "The number without its sign; fails on the one integer whose absolute value no "
        "integer holds, -9223372036854775808.",
        can_fail=True,
    )
)
