"""The Polars implementations of to_decimal, round and abs.

A decimal holds 38 digits, 9 of them after the point (types.DECIMAL_SCALE): values need
fewer than 10^29 in size, and finer fractions round to 9 places, halves to even.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from isthmus.mapping.lowering import decimal_literal, failing, trimmed
from isthmus.mapping.models import CallInput, Lowered
from isthmus.types import DECIMAL, DECIMAL_PRECISION, DECIMAL_SCALE, Kind

# Like a float's text, with an exponent of at most two digits: beyond that a value is either
# too large for a decimal or rounds to zero, and Polars does not read the longer ones.
DECIMAL_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"
_BELOW_ROUNDING = 1e-10  # a float this small is 0 at 9 places (Polars does not read 5e-324)
_INT64_MIN = -(2**63)


def to_decimal(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    dtype = DECIMAL.to_polars()
    if kind is Kind.STRING:
        text = trimmed(value)
        shaped = pl.when(text.str.contains(DECIMAL_TEXT)).then(text)
        return failing(value, shaped.cast(dtype, strict=False))  # null past 38 digits
    if kind is Kind.FLOAT:
        # By its shortest text, so to_decimal(0.1) is 0.1, not the float's binary value
        # 0.1000000000000000055...; a value past 10^29 reads as null, so it fails.
        text = (
            pl.when(value.abs() < _BELOW_ROUNDING)
            .then(pl.lit("0"))
            .otherwise(pl.when(value.is_finite()).then(value.cast(pl.String)))
        )
        return failing(value, text.cast(dtype, strict=False))
    return Lowered(value.cast(dtype))  # an integer (exactly) or a decimal


def round_number(call: CallInput) -> Lowered:
    """Halves away from zero; a float's half is judged on x * 10^digits as a float."""
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.INTEGER:
        return Lowered(value)  # digits is never negative: an integer is already round
    digits = int(call.options["digits"] or 0)
    if kind is Kind.FLOAT:
        return Lowered(value.round(digits, mode="half_away_from_zero"))
    if digits >= DECIMAL_SCALE:
        return Lowered(value)  # a decimal has no finer places to round
    # A decimal within half a step of 10^29 would round to a value no decimal holds (Polars
    # would fail the batch): that row fails instead. 29 nines, then the half step: exact.
    limit = Decimal(f"{'9' * (DECIMAL_PRECISION - DECIMAL_SCALE)}.{'9' * digits}5")
    fits = pl.when(value.abs() < decimal_literal(limit)).then(value)
    return failing(value, fits.round(digits, mode="half_away_from_zero"))


def absolute(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.INTEGER:  # -2^63 has no positive integer: it fails rather than wraps
        return failing(value, pl.when(value != _INT64_MIN).then(value.abs()))
    return Lowered(value.abs())
