"""Property tests: every function's compiled Polars expression agrees with its per-record
Python reference (reference_functions.py) on generated batches: nulls, unicode, empty text,
extreme numbers, failing rows too."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import reference_functions as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from support_functions import evaluate

from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    STRING,
    TIMESTAMP,
    DataType,
    list_of,
)

PROPERTY = settings(max_examples=120, deadline=None)
Columns = dict[str, tuple[DataType, list[Any]]]

chars = st.characters(exclude_categories=("Cs", "Cn"))
texts = st.text(chars, max_size=12)
spaces = st.text(st.sampled_from(" \t\n\u3000\xa0"), max_size=2)
int64s = st.integers(-(2**63), 2**63 - 1)
decimals = st.decimals(
    min_value=Decimal("-99999999999999999999999999999.999999999"),
    max_value=Decimal("99999999999999999999999999999.999999999"),
    places=9,
    allow_nan=False,
    allow_infinity=False,
) | st.sampled_from([Decimal("0.5"), Decimal("-2.5"), Decimal("1.000000001"), Decimal("0")])
extreme_floats = st.one_of(
    st.floats(),
    st.integers(-(2**64), 2**64).map(float),
    st.sampled_from([2.0**63, -(2.0**63), 1e28, 1e29, 5e-324, 2.675, 1.005, 0.5, -0.5]),
)
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
# From 1970: older zone offsets have seconds, which %z leaves out; to 2099: Polars' zone
# tables stop applying daylight saving rules in 2100.
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


def rows(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Batches of records, any field of which may be null."""
    return st.lists(st.tuples(*(st.none() | s for s in strategies)), max_size=12)


def normal(value: Any) -> Any:
    """A value as compared: NaN made equal to itself, JSON compared by its value."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def agrees(
    text: str,
    columns: dict[str, DataType],
    records: list[tuple[Any, ...]],
    reference: Callable[..., ref.Outcome],
    *,
    read: Callable[[Any], Any] = normal,
) -> None:
    batch: Columns = {
        name: (dtype, [record[k] for record in records])
        for k, (name, dtype) in enumerate(columns.items())
    }
    values, failures = evaluate(text, batch)
    failed_rows = {failure.row for failure in failures}
    got = [(read(v), row in failed_rows) for row, v in enumerate(values)]
    expected = [(normal(value), failed) for value, failed in (reference(*r) for r in records)]
    assert got == expected, records


# ---- text and the old conversions --------------------------------------------------------


@PROPERTY
@given(rows(texts))
def test_lower_upper_trim_length_and_hash_of_text_agree(records: list[tuple[Any, ...]]):
    for name, reference in (
        ("lower", ref.lower),
        ("upper", ref.upper),
        ("trim", ref.trim),
        ("length", ref.length),
        ("hash", ref.hash_value),
        ("is_null", ref.is_null),
    ):
        agrees(f"{name}(x)", {"x": STRING}, records, reference)


number_texts = st.one_of(
    texts,
    st.text(st.sampled_from("0123456789+-.eE_x, "), max_size=8),
    st.builds(lambda pad, n: f"{pad}{n}{pad}", spaces, st.integers(-(2**100), 2**100)),
    st.builds(lambda pad, f: f"{pad}{f!r}{pad}", spaces, st.floats()),
    st.builds(lambda pad, d: f"{pad}{d}{pad}", spaces, st.decimals(allow_nan=False)),
    st.sampled_from(["nan", "inf", "1e999", "1e-99", "١٢", "0x10", "+0", "-0", ".", "1.", "1e5"]),
)


@PROPERTY
@given(rows(number_texts))
def test_conversions_of_text_agree(records: list[tuple[Any, ...]]):
    for name, reference in (
        ("to_int", ref.to_int),
        ("to_float", ref.to_float),
        ("to_decimal", ref.to_decimal),
        ("to_bool", ref.to_bool),
    ):
        agrees(f"{name}(x)", {"x": STRING}, records, reference)


@PROPERTY
@given(rows(int64s, extreme_floats, decimals, st.booleans()))
def test_conversions_and_text_of_numbers_agree(records: list[tuple[Any, ...]]):
    columns = {"i": INTEGER, "f": FLOAT, "d": DECIMAL, "b": BOOLEAN}
    for k, name in enumerate(columns):
        only = [(r[k],) for r in records]
        schema = {name: columns[name]}
        agrees(f"to_string({name})", schema, only, ref.to_string)
        agrees(f"hash({name})", schema, only, ref.hash_value)
        if name != "b":
            agrees(f"to_int({name})", schema, only, ref.to_int)
            agrees(f"to_float({name})", schema, only, ref.to_float)
            agrees(f"to_decimal({name})", schema, only, ref.to_decimal)
            agrees(f"abs({name})", schema, only, ref.absolute)
    agrees(
        "concat(i, '|', f, d, b)", columns, records, lambda i, f, d, b: ref.concat(i, "|", f, d, b)
    )
    agrees(
        "coalesce(i, f, -1)",
        {"i": INTEGER, "f": FLOAT},
        [r[:2] for r in records],
        lambda i, f: ref.coalesce(None if i is None else float(i), f, -1.0),
    )


@PROPERTY
@given(rows(extreme_floats, decimals, int64s), st.integers(0, 15))
def test_round_agrees(records: list[tuple[Any, ...]], digits: int):
    for k, (name, dtype) in enumerate({"f": FLOAT, "d": DECIMAL, "i": INTEGER}.items()):
        only = [(r[k],) for r in records]
        agrees(
            f"round({name}, {digits})", {name: dtype}, only, lambda v: ref.round_number(v, digits)
        )


# ---- null handling --------------------------------------------------------------------------

small_texts = st.sampled_from(["", "a", "N/A", "é"]) | texts


@PROPERTY
@given(rows(small_texts, small_texts), rows(extreme_floats, int64s))
def test_default_and_nullif_agree(words: list[tuple[Any, ...]], numbers: list[tuple[Any, ...]]):
    agrees("default(x, y)", {"x": STRING, "y": STRING}, words, ref.default)
    agrees("nullif(x, y)", {"x": STRING, "y": STRING}, words, ref.nullif)
    agrees(
        "nullif(x, 'N/A')", {"x": STRING}, [w[:1] for w in words], lambda v: ref.nullif(v, "N/A")
    )

    def as_floats(f: Any, i: Any) -> tuple[Any, Any]:
        return f, None if i is None else float(i)

    agrees(
        "default(f, i)",
        {"f": FLOAT, "i": INTEGER},
        numbers,
        lambda f, i: ref.default(*as_floats(f, i)),
    )
    agrees(
        "nullif(f, i)",
        {"f": FLOAT, "i": INTEGER},
        numbers,
        lambda f, i: ref.nullif(*as_floats(f, i)),
    )


# ---- dates and timestamps ------------------------------------------------------------------


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


date_texts = st.one_of(
    texts,
    st.builds(
        "{}{}-{}-{}{}".format,
        spaces,
        st.sampled_from(["0000", "0001", "1969", "2024", "9999", "123", "+2024", "20240"]),
        _two(0, 13) | st.just("1"),
        _two(0, 32),
        spaces,
    ),
)
slashed_dates = st.one_of(
    texts,
    st.builds(
        "{}/{}/{}".format,
        _two(0, 32),
        _two(0, 13),
        st.sampled_from(["0000", "0001", "2023", "2024", "9999"]),
    ),
)


@PROPERTY
@given(rows(date_texts), rows(slashed_dates))
def test_to_date_and_parse_date_of_text_agree(
    iso: list[tuple[Any, ...]], other: list[tuple[Any, ...]]
):
    agrees("to_date(x)", {"x": STRING}, iso, ref.to_date)
    agrees("parse_date(x)", {"x": STRING}, iso, ref.parse_date)
    agrees(
        "parse_date(x, '%d/%m/%Y')", {"x": STRING}, other, lambda v: ref.parse_date(v, "%d/%m/%Y")
    )


ZONES = st.sampled_from(["UTC", "Asia/Tokyo", "America/St_Johns", "Europe/Berlin"])


@PROPERTY
@given(rows(timestamps, dates), ZONES)
def test_dates_and_timestamps_as_text_agree(records: list[tuple[Any, ...]], tz: str):
    schema = {"t": TIMESTAMP, "d": DATE}
    for k, name in enumerate(schema):
        only = [(r[k],) for r in records]
        column = {name: schema[name]}
        agrees(f"to_string({name})", column, only, ref.to_string)
        agrees(f"to_date({name})", column, only, ref.to_date)
        agrees(f"format_timestamp({name})", column, only, ref.format_timestamp)
        shaped = f"format_timestamp({name}, '%Y-%m-%d %H:%M %z', tz={tz!r})"
        agrees(shaped, column, only, lambda v: ref.format_timestamp(v, "%Y-%m-%d %H:%M %z", tz))


@PROPERTY
@given(st.lists(texts, max_size=6), st.datetimes(timezones=st.just(UTC)))
def test_now_utc_is_the_run_start_on_every_row(values: list[str], now: datetime):
    got, failures = evaluate("now_utc()", {"x": (STRING, values)}, now=now)
    assert failures == []
    assert got == [ref.now_utc(now)[0]] * len(values)


# ---- regular expressions, text and lists ------------------------------------------------

# Patterns whose meaning is the same in Python's re and in Rust's regex crate (no \w, no
# case folding, nothing that matches the empty text).
PATTERNS = st.sampled_from(
    [r"[0-9]+", r"^a", r"([a-z]+)@([a-z]+)", r"é+", r" +", r"(x)(y)?", r"(?<name>[A-Z])"]
)
regex_texts = texts | st.text(st.sampled_from("ab@xyzé 0129AZ"), max_size=10)


@PROPERTY
@given(rows(regex_texts), PATTERNS)
def test_regex_functions_agree_with_python_re(records: list[tuple[Any, ...]], pattern: str):
    schema = {"x": STRING}
    python = pattern.replace("(?<", "(?P<")
    agrees(f"regex_match(x, {pattern!r})", schema, records, lambda v: ref.regex_match(v, python))
    agrees(
        f"regex_extract(x, {pattern!r}, 0)",
        schema,
        records,
        lambda v: ref.regex_extract(v, python, 0),
    )
    if "(" in pattern:
        agrees(
            f"regex_extract(x, {pattern!r})",
            schema,
            records,
            lambda v: ref.regex_extract(v, python),
        )
        for replacement in ("<$1>", "${1}x$$", "-"):
            call = f"regex_replace(x, {pattern!r}, {replacement!r})"
            agrees(call, schema, records, partial(_replaced, pattern=python, new=replacement))


def _replaced(value: str | None, pattern: str, new: str) -> ref.Outcome:
    return ref.regex_replace(value, pattern, new)


split_texts = texts | st.text(st.sampled_from("a,;é, "), max_size=10)


@PROPERTY
@given(rows(split_texts), st.sampled_from([",", ", ", "é", ";;"]))
def test_split_join_first_last_and_length_agree(records: list[tuple[Any, ...]], sep: str):
    schema = {"x": STRING}
    agrees(f"split(x, {sep!r})", schema, records, lambda v: ref.split(v, sep))

    def parts(value: str | None) -> list[str] | None:
        return None if value is None else value.split(sep)

    agrees(f"join(split(x, {sep!r}), '+')", schema, records, lambda v: ref.join(parts(v), "+"))
    agrees(f"first(split(x, {sep!r}))", schema, records, lambda v: ref.first(parts(v)))
    agrees(f"last(split(x, {sep!r}))", schema, records, lambda v: ref.last(parts(v)))
    agrees(f"length(split(x, {sep!r}))", schema, records, lambda v: ref.length(parts(v)))


@PROPERTY
@given(rows(st.lists(st.none() | int64s, max_size=5), st.lists(st.none() | texts, max_size=5)))
def test_list_functions_agree_on_list_columns(records: list[tuple[Any, ...]]):
    schema = {"n": list_of(INTEGER), "s": list_of(STRING)}
    for k, name in enumerate(schema):
        only = [(r[k],) for r in records]
        column = {name: schema[name]}
        agrees(f"join({name}, ', ')", column, only, lambda v: ref.join(v, ", "))
        agrees(f"first({name})", column, only, ref.first)
        agrees(f"last({name})", column, only, ref.last)
        agrees(f"length({name})", column, only, ref.length)


@PROPERTY
@given(
    rows(texts),
    st.integers(-8, 8),
    st.none() | st.integers(0, 8),
    st.integers(0, 8),
    st.sampled_from(["*", "•", "𝄞"]),
)
def test_substring_and_mask_agree(
    records: list[tuple[Any, ...]], start: int, size: int | None, keep: int, char: str
):
    schema = {"x": STRING}
    agrees(
        f"substring(x, {start}, {size})", schema, records, lambda v: ref.substring(v, start, size)
    )
    agrees(f"mask(x, {keep}, {char!r})", schema, records, lambda v: ref.mask(v, keep, char))
    agrees("mask(x)", schema, records, ref.mask)


# ---- json -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "é", "a b"]) | texts, inner, max_size=3)
    ),
    max_leaves=8,
)
json_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    json_values.map(json.dumps),  # with \u escapes
    texts,
    st.sampled_from(
        ["", " null ", "NaN", "[1,]", "{'a': 1}", '{"a": 1} x', '"\\ud800"', "1e999", "\u3000null"]
    ),
)
PATHS = st.sampled_from(["a", "a.b", "a[0]", "b[1].a", "é", "a b", "[0]", "[1].a"])


def json_value(text: Any) -> Any:
    return None if text is None else _fifteen_digits(json.loads(text))


def _fifteen_digits(value: Any) -> Any:
    """A JSON value with its floats to 15 significant digits: Polars' JSON reader can change
    a float's last bit (2.1617277350753162e17 comes back as 2.161727735075316e17)."""
    if isinstance(value, float):
        return float(f"{value:.15g}")
    if isinstance(value, list):
        return [_fifteen_digits(item) for item in value]
    if isinstance(value, dict):
        return {key: _fifteen_digits(item) for key, item in value.items()}
    return value


@PROPERTY
@given(rows(json_texts), PATHS)
def test_parse_json_and_json_get_agree(records: list[tuple[Any, ...]], path: str):
    schema = {"x": STRING}
    agrees("parse_json(x)", schema, records, ref.parse_json)
    call = f"json_get(parse_json(x), {path!r})"
    agrees(call, schema, records, lambda v: _got(v, path), read=json_value)


def _got(document: str | None, path: str) -> ref.Outcome:
    """json_get after parse_json: an invalid document fails once, in parse_json."""
    parsed, failed = ref.parse_json(document)
    if parsed is None:
        return None, failed
    value, failed = ref.json_get(parsed, path)
    return _fifteen_digits(value), failed
