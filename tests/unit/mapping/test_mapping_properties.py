"""Property tests: each function's compiled Polars result agrees with a plain per-record Python
reference on generated batches (nulls, unicode, empty text, extreme numbers), failing rows too.

The references are written from the language's documented semantics, independently of the
implementation (their regexes and whitespace set are spelled out here again on purpose).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.diagnostics import Location
from isthmus.mapping import compile_expression
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, DataType

LOC = Location(Path("templates/props.yaml"), 1, 1)
WHITE_SPACE = (  # the Unicode White_Space property
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
Outcome = tuple[Any, bool]  # (value, whether the row failed)
PROPERTY = settings(max_examples=60, deadline=None)

# Text Python's own Unicode tables know (so case mappings are comparable), no surrogates.
chars = st.characters(exclude_categories=("Cs", "Cn"))
texts = st.text(chars, max_size=12)
spaces = st.text(st.sampled_from(" \t\n\u3000\xa0"), max_size=2)


def nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.none() | values, max_size=16)


def evaluate(text: str, columns: dict[str, tuple[DataType, list[Any]]]) -> list[Outcome]:
    schema = {name: dtype for name, (dtype, _) in columns.items()}
    result, diagnostics = compile_expression(text, schema, LOC)
    assert diagnostics == [], diagnostics
    assert result is not None
    frame = pl.DataFrame(
        {
            name: pl.Series(values, dtype=dtype.to_polars())
            for name, (dtype, values) in columns.items()
        }
    )
    failed = pl.any_horizontal([f.condition for f in result.failures] or [pl.lit(False)])
    out = frame.select(result.expr.alias("value"), failed.alias("failed"))
    return list(zip(out["value"].to_list(), out["failed"].to_list(), strict=True))


UNCOMPARED: Outcome = ("not compared", False)  # a row the reference cannot speak for


def agrees(text: str, dtype: DataType, values: list[Any], reference: Callable[[Any], Outcome]):
    got = evaluate(text, {"x": (dtype, values)})
    expected = [(None, False) if v is None else reference(v) for v in values]
    got = [UNCOMPARED if e == UNCOMPARED else o for o, e in zip(got, expected, strict=True)]
    assert [_comparable(o) for o in got] == [_comparable(o) for o in expected], values


def _comparable(outcome: Outcome) -> Outcome:
    value, failed = outcome
    if isinstance(value, float) and math.isnan(value):
        return ("NaN", failed)
    return outcome


# ---- text -------------------------------------------------------------------------------


@PROPERTY
@given(nullable(texts))
def test_lower_upper_and_trim_agree_with_python(values: list[str | None]):
    agrees("lower(x)", STRING, values, lambda v: (v.lower(), False))
    agrees("upper(x)", STRING, values, lambda v: (v.upper(), False))
    agrees("trim(x)", STRING, values, lambda v: (v.strip(WHITE_SPACE), False))


def float_text(value: float) -> str:
    """How Polars writes a float: Python's repr, exponents unpadded, 1e-5 written out."""
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if int(exponent) == -5:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if int(exponent) > 0 else '-'}{abs(int(exponent))}"


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return float_text(value) if isinstance(value, float) else str(value)


int64s = st.integers(-(2**63), 2**63 - 1)


@PROPERTY
@given(
    nullable(texts),
    nullable(int64s),
    nullable(st.floats()),
    nullable(st.booleans()),
)
def test_concat_agrees_with_joining_python_text(
    s: list[Any], i: list[Any], f: list[Any], b: list[Any]
):
    n = min(len(s), len(i), len(f), len(b))
    columns = {
        "s": (STRING, s[:n]),
        "i": (INTEGER, i[:n]),
        "f": (FLOAT, f[:n]),
        "b": (BOOLEAN, b[:n]),
    }
    got = evaluate("concat(s, i, '|', f, b)", columns)
    parts = zip(s[:n], i[:n], ["|"] * n, f[:n], b[:n], strict=True)
    expected = ["".join("" if p is None else as_text(p) for p in row) for row in parts]
    assert got == [(text, False) for text in expected]


@PROPERTY
@given(nullable(st.floats()))
def test_to_string_of_a_float_agrees_with_the_documented_text(values: list[Any]):
    agrees("to_string(x)", FLOAT, values, lambda v: (float_text(v), False))


@PROPERTY
@given(nullable(int64s), nullable(st.floats(allow_nan=False)))
def test_coalesce_agrees_with_the_first_non_null(i: list[Any], f: list[Any]):
    n = min(len(i), len(f))
    i, f = i[:n], f[:n]
    got = evaluate("coalesce(i, f, -1)", {"i": (INTEGER, i), "f": (FLOAT, f)})
    expected = [next(v for v in (a, b, -1) if v is not None) for a, b in zip(i, f, strict=True)]
    assert got == [(float(v), False) for v in expected]


# ---- conversions ------------------------------------------------------------------------

INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def ref_to_int_text(value: str) -> Outcome:
    text = value.strip(WHITE_SPACE)
    if INTEGER_TEXT.fullmatch(text) and -(2**63) <= int(text) < 2**63:
        return int(text), False
    return None, True


def ref_to_int_float(value: float) -> Outcome:
    if math.isfinite(value) and value.is_integer() and -(2**63) <= value < 2**63:
        return int(value), False
    return None, True


def ref_to_float_text(value: str) -> Outcome:
    text = value.strip(WHITE_SPACE)
    if FLOAT_TEXT.fullmatch(text) and math.isfinite(float(text)):
        return float(text), False
    return None, True


def ref_to_bool_text(value: str) -> Outcome:
    words = {
        "true": True,
        "t": True,
        "yes": True,
        "y": True,
        "1": True,
        "false": False,
        "f": False,
        "no": False,
        "n": False,
        "0": False,
    }
    word = value.strip(WHITE_SPACE).lower()
    return (words[word], False) if word in words else (None, True)


number_texts = st.one_of(
    texts,
    st.text(st.sampled_from("0123456789+-.eE_x, "), max_size=8),
    st.builds(lambda pad, n: f"{pad}{n}{pad}", spaces, st.integers(-(2**65), 2**65)),
    st.builds(lambda pad, f: f"{pad}{f!r}{pad}", spaces, st.floats()),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "١٢", "0x10", "+0", "-0", ".", "1."]),
)


@PROPERTY
@given(nullable(number_texts))
def test_to_int_and_to_float_of_text_agree_with_the_reference(values: list[str | None]):
    agrees("to_int(x)", STRING, values, ref_to_int_text)
    agrees("to_float(x)", STRING, values, ref_to_float_text)


extreme_floats = st.one_of(
    st.floats(), st.integers(-(2**64), 2**64).map(float), st.sampled_from([2.0**63, -(2.0**63)])
)


@PROPERTY
@given(nullable(extreme_floats))
def test_to_int_of_a_float_agrees_with_the_reference(values: list[float | None]):
    agrees("to_int(x)", FLOAT, values, ref_to_int_float)


bool_texts = st.one_of(
    texts,
    st.builds(
        lambda pad, word, upper: f"{pad}{word.upper() if upper else word}{pad}",
        spaces,
        st.sampled_from(["true", "false", "yes", "no", "y", "n", "t", "f", "1", "0", "on"]),
        st.booleans(),
    ),
)


@PROPERTY
@given(nullable(bool_texts), nullable(st.integers(-3, 3)))
def test_to_bool_agrees_with_the_reference(words: list[Any], numbers: list[Any]):
    agrees("to_bool(x)", STRING, words, ref_to_bool_text)
    agrees(
        "to_bool(x)",
        INTEGER,
        numbers,
        lambda v: {1: (True, False), 0: (False, False)}.get(v, (None, True)),
    )


# ---- parse_timestamp --------------------------------------------------------------------

ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-5][0-9])"
    r"(?::([0-5][0-9])(?:\.([0-9]+))?)?(Z|([+-])([0-9]{2}):?([0-5][0-9]))?)?",
    re.ASCII,
)


def ref_parse_timestamp(value: str, tz: str) -> Outcome:
    match = ISO.fullmatch(value.strip(WHITE_SPACE))
    if match is None:
        return None, True
    year, month, day, hour, minute, second, fraction, zone, sign, oh, om = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "").ljust(6, "0")[:6]),
        )
        if zone is None and tz != "UTC" and naive.year >= 2100:
            return UNCOMPARED  # Polars' zone tables (chrono-tz) stop applying DST rules in 2100
        if zone is None:
            local = naive.replace(tzinfo=ZoneInfo(tz))
            if local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) != naive:
                return None, True  # a wall time the zone skips
            return local.astimezone(UTC), False
        if int(oh or 0) > 23:
            return None, True
        offset = timedelta(hours=int(oh or 0), minutes=int(om or 0))
        return (naive - offset if sign != "-" else naive + offset).replace(tzinfo=UTC), False
    except (ValueError, OverflowError):
        return None, True


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


timestamp_texts = st.one_of(
    texts,
    st.builds(
        "{}-{}-{}{}".format,
        st.sampled_from(["0000", "0001", "1969", "2023", "2024", "2099", "9999", "123"]),
        _two(0, 13),
        _two(0, 32),
        st.one_of(
            st.just(""),
            st.builds(
                "{}{}:{}{}{}".format,
                st.sampled_from(["T", " ", "t"]),
                _two(0, 25),
                _two(0, 61),
                st.sampled_from(["", ":00", ":59", ":60", ":07.5", ":07.123456789", "."]),
                st.sampled_from(["", "Z", "+02:00", "-0330", "+23:59", "+24:00", "+0260"]),
            ),
        ),
    ),
)


@PROPERTY
@given(
    nullable(timestamp_texts),
    st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]),
)
def test_parse_timestamp_agrees_with_the_reference(values: list[str | None], tz: str):
    agrees(f"parse_timestamp(x, tz={tz!r})", STRING, values, lambda v: ref_parse_timestamp(v, tz))


# ---- lookup -----------------------------------------------------------------------------

keys = st.text(st.sampled_from("aAbBéÉ"), min_size=1, max_size=3)


@PROPERTY
@given(
    st.dictionaries(keys, st.none() | st.integers(-5, 5), min_size=1, max_size=5),
    nullable(keys | texts),
    st.none() | st.integers(-5, 5),
    st.booleans(),
)
def test_lookup_agrees_with_a_python_dict(
    table: dict[str, int | None], values: list[str | None], default: int | None, ignore: bool
):
    folded = {k.lower() if ignore else k: v for k, v in table.items()}
    if len(folded) < len(table):
        return  # keys equal when case is ignored: the type checker refuses that table
    text = f"lookup(x, {table!r}, default={default!r}, ignore_case={ignore})"

    def reference(value: str) -> Outcome:
        key = value.lower() if ignore else value
        if key in folded:
            return folded[key], False
        return default, default is None

    agrees(text, STRING, values, reference)
