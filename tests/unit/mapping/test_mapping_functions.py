"""What compiled expressions compute on a batch: each function, nulls, and failing rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from isthmus.diagnostics import Location
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, DataType, struct_of

LOC = Location(Path("templates/crm.yaml"), 5, 9)


def compiled(text: str, schema: dict[str, DataType]) -> CompiledExpression:
    result, diagnostics = compile_expression(text, schema, LOC)
    assert diagnostics == []
    assert result is not None
    return result


def run(text: str, dtype: DataType, values: list[Any]) -> tuple[list[Any], list[bool]]:
    """Evaluate ``text`` over a column ``x``: (results, rows where any call failed)."""
    result = compiled(text, {"x": dtype})
    frame = pl.DataFrame({"x": pl.Series(values, dtype=dtype.to_polars())})
    out = frame.select(
        result.expr.alias("value"),
        pl.any_horizontal([f.condition for f in result.failures] or [pl.lit(False)]).alias("bad"),
    )
    assert out.schema["value"] == result.type.to_polars()
    return out["value"].to_list(), out["bad"].to_list()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_lower_upper_and_trim_handle_unicode_empty_text_and_null():
    values = ["  Ünïcödé ẞ ", "", None, "\u3000tab\t"]
    assert run("lower(x)", STRING, values)[0] == ["  ünïcödé ß ", "", None, "\u3000tab\t"]
    assert run("upper(x)", STRING, values)[0] == ["  ÜNÏCÖDÉ ẞ ", "", None, "\u3000TAB\t"]
    assert run("trim(x)", STRING, values)[0] == ["Ünïcödé ẞ", "", None, "tab"]


def test_concat_casts_to_text_and_treats_null_as_empty():
    result = compiled("concat(s, '-', i, '-', f, '-', b)", _MIXED)
    frame = pl.DataFrame(
        {"s": ["a", None], "i": [42, None], "f": [1.5, None], "b": [True, None]},
        schema={"s": pl.String, "i": pl.Int64, "f": pl.Float64, "b": pl.Boolean},
    )
    assert frame.select(result.expr.alias("v"))["v"].to_list() == ["a-42-1.5-true", "---"]


def test_plus_propagates_null_and_joins_or_adds():
    assert run("x + ' y'", STRING, ["x", None, ""])[0] == ["x y", None, " y"]
    assert run("x + 1", INTEGER, [1, None, -5])[0] == [2, None, -4]
    assert run("x + 0.5", INTEGER, [1, None])[0] == [1.5, None]


def test_coalesce_picks_the_first_non_null_in_the_common_type():
    result = compiled("coalesce(i, f, 0)", _MIXED)
    frame = pl.DataFrame(
        {"i": [1, None, None], "f": [9.5, 2.5, None]}, schema={"i": pl.Int64, "f": pl.Float64}
    )
    assert frame.select(result.expr.alias("v"))["v"].to_list() == [1.0, 2.5, 0.0]


def test_to_string_writes_numbers_and_booleans_as_text():
    assert run("to_string(x)", INTEGER, [-7, None])[0] == ["-7", None]
    assert run("to_string(x)", BOOLEAN, [True, False])[0] == ["true", "false"]


def test_to_int_reads_trimmed_integer_text_and_fails_on_anything_else():
    values = [
        "42",
        " -7 ",
        "+7",
        "007",
        "9223372036854775807",
        None,
        "9223372036854775808",
        "1.0",
        "abc",
        "",
        "١٢",
        "1_000",
        "0x10",
    ]
    results, bad = run("to_int(x)", STRING, values)
    assert results == [42, -7, 7, 7, 2**63 - 1, None] + [None] * 7
    assert bad == [False] * 6 + [True] * 7


def test_to_int_from_a_float_fails_unless_integral_and_in_range():
    values = [3.0, -0.0, -(2.0**63), None, 3.5, float("nan"), float("inf"), 2.0**63]
    results, bad = run("to_int(x)", FLOAT, values)
    assert results == [3, 0, -(2**63), None, None, None, None, None]
    assert bad == [False, False, False, False, True, True, True, True]


def test_to_int_from_a_boolean_is_zero_or_one():
    assert run("to_int(x)", BOOLEAN, [True, False, None]) == ([1, 0, None], [False] * 3)


def test_to_float_reads_finite_number_text_and_fails_on_anything_else():
    values = [
        "1.5",
        " 2 ",
        "1e3",
        ".5",
        "-0",
        "+1.5E-2",
        None,
        "nan",
        "inf",
        "-Infinity",
        "1,5",
        "12abc",
        "high",
        "1e999",
        "",
        ".",
    ]
    results, bad = run("to_float(x)", STRING, values)
    assert results == [1.5, 2.0, 1000.0, 0.5, -0.0, 0.015, None] + [None] * 9
    assert bad == [False] * 7 + [True] * 9


def test_to_float_from_an_integer_casts():
    assert run("to_float(x)", INTEGER, [3, None]) == ([3.0, None], [False, False])


def test_to_bool_reads_the_usual_words_in_any_case_and_fails_on_others():
    values = ["true", " YES ", "y", "T", "1", "False", "no", "N", "f", "0", None, "2", "", "oui"]
    results, bad = run("to_bool(x)", STRING, values)
    assert results == [True] * 5 + [False] * 5 + [None] * 4
    assert bad == [False] * 11 + [True] * 3


def test_to_bool_from_an_integer_takes_only_zero_and_one():
    assert run("to_bool(x)", INTEGER, [1, 0, None, 2, -1]) == (
        [True, False, None, None, None],
        [False, False, False, True, True],
    )


def test_parse_timestamp_reads_iso_8601_forms_as_utc_instants():
    values = [
        "2023-04-05T10:11:12Z",
        "2023-04-05 10:11:12",
        "2023-04-05T10:11",
        "2023-04-05",
        "2023-04-05T10:11:12.5+02:00",
        "2023-04-05T10:11:12.1234567-0130",
        " 2023-04-05 ",
        None,
    ]
    results, bad = run("parse_timestamp(x)", STRING, values)
    assert results == [
        utc(2023, 4, 5, 10, 11, 12),
        utc(2023, 4, 5, 10, 11, 12),
        utc(2023, 4, 5, 10, 11),
        utc(2023, 4, 5),
        utc(2023, 4, 5, 8, 11, 12, 500000),
        utc(2023, 4, 5, 11, 41, 12, 123456),
        utc(2023, 4, 5),
        None,
    ]
    assert not any(bad)


def test_parse_timestamp_fails_on_impossible_or_non_iso_text():
    values = [
        "2023-02-30T10:11:12",
        "2023-13-01",
        "2023-04-05T25:00",
        "2023-04-05T10:60",
        "2023-04-05T23:59:60",
        "05/04/2023 10:11",
        "N/A",
        "yesterday",
        "",
        "0000-01-01",
        "2023-04-05T10:11+24:00",
        "2023-04-05Z",
        "2023-4-5",
    ]
    results, bad = run("parse_timestamp(x)", STRING, values)
    assert results == [None] * len(values)
    assert all(bad)


def test_parse_timestamp_fails_on_instants_outside_years_1_to_9999():
    values = ["9999-12-31T23:59:59Z", "9999-12-31T23:00-02:00", "0001-01-01T00:30+01:00"]
    results, bad = run("parse_timestamp(x)", STRING, values)
    assert results == [utc(9999, 12, 31, 23, 59, 59), None, None]
    assert bad == [False, True, True]


def test_parse_timestamp_reads_values_without_offset_in_the_given_zone():
    values = [
        "2023-07-01T12:00",
        "2023-07-01",
        "2023-07-01T12:00Z",
        "2023-03-26T02:30",
        "2023-10-29T02:30",
    ]
    results, bad = run("parse_timestamp(x, tz='Europe/Berlin')", STRING, values)
    # 02:30 on 26 March does not exist in Berlin; on 29 October it happens twice: earlier wins
    assert results == [
        utc(2023, 7, 1, 10),
        utc(2023, 6, 30, 22),
        utc(2023, 7, 1, 12),
        None,
        utc(2023, 10, 29, 0, 30),
    ]
    assert bad == [False, False, False, True, False]


def test_parse_timestamp_with_a_format_reads_in_the_zone_unless_it_has_an_offset():
    in_zone = run(
        "parse_timestamp(x, '%d/%m/%Y %H:%M', 'America/New_York')",
        STRING,
        ["05/04/2023 10:11", "2023-04-05", None],
    )
    assert in_zone == ([utc(2023, 4, 5, 14, 11), None, None], [False, True, False])
    with_offset = run(
        "parse_timestamp(x, fmt='%Y-%m-%d %H:%M %z', tz='Asia/Tokyo')",
        STRING,
        ["2023-04-05 10:11 +0200", "2023-04-05 10:11"],
    )
    assert with_offset == ([utc(2023, 4, 5, 8, 11), None], [False, True])


def test_lookup_with_a_default_never_fails_and_keeps_null():
    text = "lookup(x, {'open': 'active', 'closed': 'inactive'}, default='unknown')"
    assert run(text, STRING, ["open", "closed", "Open", "", None]) == (
        ["active", "inactive", "unknown", "unknown", None],
        [False] * 5,
    )


def test_lookup_without_a_default_fails_on_unmatched_values_only():
    text = "lookup(x, {'open': 'active', 'gone': None})"
    assert run(text, STRING, ["open", "gone", "other", None]) == (
        ["active", None, None, None],
        [False, False, True, False],
    )


def test_lookup_ignoring_case_compares_lower_cased():
    text = "lookup(x, {'Open': 1, 'CLOSED': 2.5}, ignore_case=True)"
    assert run(text, STRING, ["OPEN", "closed", "ÖPEN"]) == ([1.0, 2.5, None], [False, False, True])


def test_lookup_matches_numbers_by_value():
    assert run(
        "lookup(x, {1: 'one', -2: 'minus two'}, default='other')", FLOAT, [1.0, -2.0, 1.5]
    ) == (["one", "minus two", "other"], [False] * 3)


def test_nested_failing_calls_each_report_their_own_rows_inner_first():
    result = compiled("to_int(lookup(Code, {'a': '1', 'b': 'x'}))", {"Code": STRING})
    assert [(f.function, f.argument) for f in result.failures] == [
        ("lookup", "Code"),
        ("to_int", "lookup(Code, {'a': '1', 'b': 'x'})"),
    ]
    frame = pl.DataFrame({"Code": ["a", "b", "c", None]})
    out = frame.select(
        result.expr.alias("value"),
        *[f.condition.alias(f"c{i}") for i, f in enumerate(result.failures)],
        *[f.value.alias(f"v{i}") for i, f in enumerate(result.failures)],
    )
    assert out["value"].to_list() == [1, None, None, None]
    assert out["c0"].to_list() == [False, False, True, False]
    assert out["c1"].to_list() == [False, True, False, False]
    assert out["v0"][2] == "c"
    assert out["v1"][1] == "x"


def test_a_failure_reports_the_offending_value_as_text():
    result = compiled("to_int(x)", {"x": FLOAT})
    frame = pl.DataFrame({"x": [2.5]})
    assert frame.select(result.failures[0].value.alias("v"))["v"].to_list() == ["2.5"]


def test_nested_struct_fields_read_through_null_parents():
    schema = {"Account": struct_of({"Owner": struct_of({"Email": STRING})})}
    result = compiled("lower(Account.Owner.Email)", schema)
    frame = pl.DataFrame(
        {"Account": [{"Owner": {"Email": "A@X"}}, {"Owner": None}, None]},
        schema={"Account": schema["Account"].to_polars()},
    )
    assert frame.select(result.expr.alias("v"))["v"].to_list() == ["a@x", None, None]


@pytest.mark.parametrize("value", [True, 7, 2.5, "'text'", "None", "[1, 2]"])
def test_a_constant_alone_fills_every_row_of_the_batch_with_its_dtype(value: Any):
    result, _ = compile_expression(value, {}, LOC)
    assert result is not None
    out = pl.DataFrame({"x": [1, 2, 3]}).select(result.expr.alias("value"))
    assert out.height == 3
    assert out.schema["value"] == result.type.to_polars()


_MIXED: dict[str, DataType] = {"s": STRING, "i": INTEGER, "f": FLOAT, "b": BOOLEAN}


def test_a_call_on_constants_inside_a_field_expression_broadcasts():
    assert run("concat(x, lookup('b', {'a': 'z'}, default='d'))", STRING, ["1", None, "3"]) == (
        ["1d", "d", "3d"],
        [False] * 3,
    )


def test_a_failing_call_on_constants_fails_every_row_of_the_batch():
    assert run("to_int('abc')", STRING, ["1", "2"]) == ([None, None], [True, True])
