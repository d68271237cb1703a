"""The Polars implementations of the text, conversion and lookup functions.

Each takes a :class:`CallInput` and returns a :class:`Lowered`: whole-column expressions only,
so a mapping runs on a batch at once. A function that can fail on a row yields null there
and says where in ``failed``; null input is never a failure.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from isthmus.mapping.models import CallInput, Lowered, constant_type
from isthmus.types import DECIMAL, NULL, DataType, Kind, common_type

# Unicode White_Space, spelled out so trimming means the same everywhere (Python's str.strip
# also strips the \x1c-\x1f separators; Polars' default does not).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INTEGER_TEXT = r"^[+-]?[0-9]+$"
FLOAT_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
BOOLEAN_WORDS = dict.fromkeys(("true", "t", "yes", "y", "1"), True) | dict.fromkeys(
    ("false", "f", "no", "n", "0"), False
)
_TWO_TO_63 = 2.0**63
_TWO_TO_63_EXACT = Decimal(2**63)


def decimal_literal(number: Decimal) -> pl.Expr:
    return pl.lit(number, dtype=DECIMAL.to_polars())


def failing(value: pl.Expr, result: pl.Expr) -> Lowered:
    """A call that failed wherever its input is set and its result is not."""
    return Lowered(
        result, value.is_not_null() & result.is_null(), lambda r: value.is_not_null() & r.is_null()
    )


def trimmed(value: pl.Expr) -> pl.Expr:
    return value.str.strip_chars(WHITESPACE)


def lower(call: CallInput) -> Lowered:
    return Lowered(call.values[0].cast(pl.String).str.to_lowercase())


def upper(call: CallInput) -> Lowered:
    return Lowered(call.values[0].cast(pl.String).str.to_uppercase())


def trim(call: CallInput) -> Lowered:
    return Lowered(trimmed(call.values[0].cast(pl.String)))


def text_of(value: pl.Expr, data_type: DataType) -> pl.Expr:
    """A value as the text to_string() gives: a decimal without trailing zeros ('1.5', '2'),
    a date as YYYY-MM-DD, a timestamp as ISO-8601 in UTC with 'Z' and its microseconds only
    when it has some, a json value as its JSON text."""
    kind = data_type.kind
    if kind is Kind.DECIMAL:
        return value.cast(pl.String).str.replace(r"\.?0+$", "")  # always 9 places: 1.500000000
    if kind is Kind.TIMESTAMP:
        whole = value.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            pl.when(value.dt.microsecond() == 0)
            .then(whole)
            .otherwise(value.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        )
    return value.cast(pl.String)  # a date casts to YYYY-MM-DD; json is its text already


def to_string(call: CallInput) -> Lowered:
    return Lowered(text_of(call.values[0], call.types[0]))


def concat(call: CallInput) -> Lowered:
    parts = [
        text_of(value, data_type).fill_null("")
        for value, data_type in zip(call.values, call.types, strict=True)
    ]
    return Lowered(pl.concat_str(parts))


def coalesce(call: CallInput) -> Lowered:
    dtype = call.result.to_polars()
    return Lowered(pl.coalesce([value.cast(dtype) for value in call.values]))


def to_int(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.STRING:
        text = trimmed(value)
        parsed = text.cast(pl.Int64, strict=False)  # null on overflow
        return failing(value, pl.when(text.str.contains(INTEGER_TEXT)).then(parsed))
    if kind is Kind.FLOAT:
        integral = value.is_finite() & (value.floor() == value)
        in_range = (value >= -_TWO_TO_63) & (value < _TWO_TO_63)
        return failing(value, pl.when(integral & in_range).then(value.cast(pl.Int64)))
    if kind is Kind.DECIMAL:  # a fraction fails; so does a value past the integers' range
        # (the range first: Polars' floor overflows near the decimals' own limit)
        fits = pl.when(value.abs() < decimal_literal(_TWO_TO_63_EXACT)).then(value)
        return failing(value, pl.when(fits.floor() == fits).then(fits.cast(pl.Int64)))
    return Lowered(value.cast(pl.Int64))  # integer, boolean (0/1) or null


def to_float(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.STRING:
        text = trimmed(value)
        parsed = text.cast(pl.Float64, strict=False)
        valid = text.str.contains(FLOAT_TEXT) & parsed.is_finite()  # "1e999" parses to inf
        return failing(value, pl.when(valid).then(parsed))
    return Lowered(value.cast(pl.Float64))  # a decimal to the nearest float


def to_bool(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.STRING:
        words = trimmed(value).str.to_lowercase()
        result = words.replace_strict(
            list(BOOLEAN_WORDS),
            list(BOOLEAN_WORDS.values()),
            default=None,
            return_dtype=pl.Boolean,
        )
        return failing(value, result)
    if kind is Kind.INTEGER:
        return failing(value, pl.when(value == 1).then(True).when(value == 0).then(False))
    return Lowered(value.cast(pl.Boolean))


def lookup(call: CallInput) -> Lowered:
    """Replace by the table; an unmatched value takes the default or, without one, fails."""
    assert call.table is not None
    key_type = call.types[0] if call.types[0].kind is not Kind.NULL else _key_type(call)
    value = call.values[0].cast(key_type.to_polars())
    keys = [key for key, _ in call.table]
    if call.options.get("ignore_case") is True:
        value = value.str.to_lowercase()
        keys = [str(key).lower() for key in keys]
    # strict=False lets integer constants fill a float column; the type checker vouched for them
    key_series = pl.Series(keys, dtype=key_type.to_polars(), strict=False)
    dtype = call.result.to_polars()
    outcomes = pl.Series([outcome for _, outcome in call.table], dtype=dtype, strict=False)
    default = call.options.get("default")
    replaced = value.replace_strict(key_series, outcomes, default=pl.lit(default, dtype=dtype))
    result = pl.when(value.is_not_null()).then(replaced)
    if default is not None:
        return Lowered(result)
    unmatched = value.is_not_null() & ~value.is_in(key_series.implode())
    return Lowered(result, unmatched, lambda _result: unmatched)


def _key_type(call: CallInput) -> DataType:
    """The type of the table's keys, for a null input that has none of its own."""
    assert call.table is not None
    found = common_type([constant_type(key) for key, _ in call.table])
    return found if found is not None else NULL
