"""to_date, parse_date, format_timestamp, now_utc and the text of dates and timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support_functions import Failure, Problem, evaluate, problem, run, values_of

from isthmus.mapping import get_function
from isthmus.mapping.registry import NOW_COLUMN
from isthmus.types import DATE, INTEGER, STRING, TIMESTAMP


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_to_date_takes_a_timestamps_utc_day_and_iso_text():
    assert values_of("to_date(x)", TIMESTAMP, [utc(2024, 5, 1, 23, 59), None]) == [
        date(2024, 5, 1),
        None,
    ]
    assert values_of("to_date(x)", DATE, [date(1, 1, 1)]) == [date(1, 1, 1)]
    assert values_of("to_date(x)", STRING, [" 2024-02-29 "]) == [date(2024, 2, 29)]


def test_to_date_fails_on_text_that_is_not_a_real_day():
    texts = ["2023-02-29", "2024-5-1", "+2024-05-01", "0000-01-01", "01/05/2024", None]
    got, failures = run("to_date(x)", STRING, texts)
    assert got == [None] * 6
    assert failures == [Failure(row, "to_date", "x", text) for row, text in enumerate(texts[:5])]


def test_parse_date_reads_a_format_and_fails_on_other_text():
    got, failures = run("parse_date(x, '%d/%m/%Y')", STRING, ["02/01/2023", "31/02/2023", None])
    assert got == [date(2023, 1, 2), None, None]
    assert failures == [Failure(1, "parse_date", "x", "31/02/2023")]
    assert values_of("parse_date(x)", STRING, ["2023-01-02"]) == [date(2023, 1, 2)]


def test_format_timestamp_writes_iso_utc_by_default_and_any_zone_on_request():
    stamps = [utc(2024, 1, 1, 23, 0, 5, 120), None]
    assert values_of("format_timestamp(x)", TIMESTAMP, stamps) == ["2024-01-01T23:00:05Z", None]
    tokyo = "format_timestamp(x, '%d.%m.%Y %H:%M %z', tz='Asia/Tokyo')"
    assert values_of(tokyo, TIMESTAMP, stamps) == ["02.01.2024 08:00 +0900", None]


def test_format_timestamp_writes_a_date_as_its_midnight_in_no_other_zone():
    text = "format_timestamp(x, '%Y-%m-%d %H:%M %z', tz='Asia/Tokyo')"
    assert values_of(text, DATE, [date(2024, 1, 1)]) == ["2024-01-01 00:00 +0000"]


def test_to_string_writes_dates_and_timestamps_in_iso_8601():
    assert values_of("to_string(x)", DATE, [date(5, 1, 2)]) == ["0005-01-02"]
    stamps = [utc(2024, 5, 1, 12), utc(2024, 5, 1, 12, 0, 0, 5)]
    assert values_of("to_string(x)", TIMESTAMP, stamps) == [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.000005Z",
    ]


def test_now_utc_is_the_same_start_time_on_every_row():
    start = utc(2026, 3, 1, 9, 30)
    got, failures = evaluate("now_utc()", {"x": (STRING, ["a", "b", "c"])}, now=start)
    assert (got, failures) == ([start] * 3, [])
    got, _ = evaluate(
        "concat(x, ' at ', format_timestamp(now_utc()))", {"x": (STRING, ["a"])}, now=start
    )
    assert got == ["a at 2026-03-01T09:30:00Z"]


def test_now_utc_reads_the_run_context_column_and_takes_no_arguments():
    spec = get_function("now_utc")
    assert spec is not None
    assert spec.context_column == NOW_COLUMN
    assert spec.signature == "now_utc() -> timestamp"
    assert problem("now_utc(1)", {}) == Problem(
        "bad-arguments",
        "now_utc() takes 0 arguments by position, got 1",
        8,
        "signature: now_utc() -> timestamp",
    )


SCHEMA = {"x": STRING, "n": INTEGER, "t": TIMESTAMP}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "to_date(n)",
            Problem(
                "type-mismatch",
                "to_date() argument 1 (value) expects timestamp or date or string, found "
                "integer (n)",
                8,
                "convert it: to_string(n)",
            ),
        ),
        (
            "parse_date(x, '%d/%q')",
            Problem(
                "bad-arguments",
                "parse_date() argument 'fmt' has an unknown directive near '%q'",
                14,
                "use strftime directives such as %Y-%m-%d %H:%M:%S, %z for an offset",
            ),
        ),
        (
            "format_timestamp(x)",
            Problem(
                "type-mismatch",
                "format_timestamp() argument 1 (value) expects timestamp or date, found string (x)",
                17,
                "convert it: parse_timestamp(x)",
            ),
        ),
        (
            "format_timestamp(t, tz='Europe/Berln')",
            Problem(
                "bad-arguments",
                "format_timestamp() argument 'tz' is 'Europe/Berln', which is not an IANA time "
                "zone name",
                23,
                "did you mean Europe/Berlin or Europe/Belfast or Europe/Helsinki?",
            ),
        ),
        (
            "format_timestamp(t, '%Y %J')",
            Problem(
                "bad-arguments",
                "format_timestamp() argument 'fmt' has an unknown directive near '%J'",
                20,
                "use strftime directives such as %Y-%m-%d %H:%M:%S, %z for an offset",
            ),
        ),
        (
            "format_timestamp(t, fmt=x)",
            Problem(
                "bad-arguments",
                "format_timestamp() argument 'fmt' must be a constant, not x",
                24,
                "write a literal value, e.g. a quoted string or a number",
            ),
        ),
    ],
)
def test_calls_the_date_functions_refuse(text: str, expected: Problem):
    assert problem(text, SCHEMA) == expected
