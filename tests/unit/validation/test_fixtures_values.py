"""Values written in fixture files: read in a core field's type (or refused with a message
that says how to write them), compared with mapped values, and shown in diffs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.types import BOOLEAN, DATE, DECIMAL, FLOAT, INTEGER, JSON, STRING, TIMESTAMP, DataType
from isthmus.validation.fixtures_values import (
    ValueTypeError,
    record_value,
    same,
    shown,
    typed_value,
    value_matches,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "data_type", "typed"),
    [
        ("Ann", STRING, "Ann"),
        (None, INTEGER, None),
        (31, INTEGER, 31),
        (2, FLOAT, 2.0),
        (True, BOOLEAN, True),
        ("12.50", DECIMAL, Decimal("12.5")),
        (3, DECIMAL, Decimal(3)),
        ("2024-01-05T10:00:00Z", TIMESTAMP, dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        (dt.datetime(2024, 1, 5, 10), TIMESTAMP, dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        (
            dt.datetime(2024, 1, 5, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            TIMESTAMP,
            dt.datetime(2024, 1, 5, 10, tzinfo=UTC),
        ),
        (dt.date(2024, 1, 5), DATE, dt.date(2024, 1, 5)),
        ("2024-01-05", DATE, dt.date(2024, 1, 5)),
        ({"a": [1, dt.date(2024, 1, 5)]}, JSON, {"a": [1, "2024-01-05"]}),
    ],
)
def test_a_value_of_the_fields_type_is_read_in_it(
    value: Any, data_type: DataType, typed: Any
) -> None:
    assert typed_value(value, data_type) == typed


@pytest.mark.parametrize(
    ("value", "data_type", "message"),
    [
        (12, STRING, "is text, but 12 is not: quote it, '12'"),
        (True, STRING, "is text, but true is not: quote it, 'true'"),
        (dt.date(2024, 1, 5), STRING, "is text, but 2024-01-05 is not: quote it, '2024-01-05'"),
        ("yes", BOOLEAN, 'is a boolean: write true or false, not "yes"'),
        (1.5, INTEGER, "is an integer, but 1.5 is not one"),
        (True, INTEGER, "is an integer, but true is not one"),
        ("1.5", FLOAT, 'is a number, but "1.5" is not one: write it unquoted'),
        ("abc", DECIMAL, 'is a decimal number, but "abc" is not one'),
        (
            "soon",
            TIMESTAMP,
            'is a timestamp, but "soon" is not one: write it like 2024-01-05T10:00:00Z',
        ),
        (
            dt.date(2024, 1, 5),
            TIMESTAMP,
            "is a timestamp, but 2024-01-05 is not one: write it like 2024-01-05T10:00:00Z",
        ),
        ("5 Jan", DATE, 'is a date, but "5 Jan" is not one: write it like 2024-01-05'),
    ],
)
def test_a_value_of_another_type_is_refused_saying_how_to_write_it(
    value: Any, data_type: DataType, message: str
) -> None:
    with pytest.raises(ValueTypeError) as refused:
        typed_value(value, data_type)

    assert str(refused.value) == message


def test_floats_compare_with_a_relative_tolerance_and_json_by_value() -> None:
    assert same(0.3, 0.1 + 0.2, FLOAT)
    assert not same(0.3, 0.31, FLOAT)
    assert same({"a": 1}, '{"a":1}', JSON)
    assert not same({"a": 1}, "not json", JSON)
    assert same(None, None, STRING)
    assert not same("", None, STRING)


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("x", "x", True),
        ("x", "X", False),
        (150, "150.0", True),
        (150, "abc", False),
        (True, "true", True),
        (None, None, True),
        (None, "", False),
        ("", None, False),
        (dt.date(2024, 1, 5), "2024-01-05", True),
    ],
)
def test_a_rejections_value_is_compared_as_written(
    expected: Any, actual: str | None, matches: bool
) -> None:
    assert value_matches(expected, actual) is matches


def test_values_are_shown_as_json_writes_them_and_timestamps_in_iso_8601() -> None:
    assert [
        shown(v) for v in (None, True, 'a"b', 2.5, dt.datetime(2024, 1, 5, tzinfo=UTC), {"k": "é"})
    ] == ["null", "true", '"a\\"b"', "2.5", "2024-01-05T00:00:00Z", '{"k": "é"}']


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_timestamp_in_a_record_reads_back_as_the_same_instant(moment: dt.datetime) -> None:
    assert typed_value(record_value(moment), TIMESTAMP) == moment
