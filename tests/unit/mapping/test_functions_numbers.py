"""to_decimal, round, abs and the conversions of decimals: results, row failures, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support_functions import Failure, Problem, problem, run, values_of

from isthmus.types import BOOLEAN, DECIMAL, FLOAT, INTEGER, STRING

D = Decimal


def test_to_decimal_reads_number_text_exactly_and_rounds_past_nine_places_half_even():
    got = values_of(
        "to_decimal(x)", STRING, ["12.50", " -3 ", "1e5", ".5", "0.0000000015", "0.0000000025"]
    )
    assert got == [D("12.5"), D("-3"), D("100000"), D("0.5"), D("0.000000002"), D("0.000000002")]


def test_to_decimal_fails_on_text_that_is_no_number_and_on_values_past_29_digits():
    big = "1" + "0" * 29
    got, failures = run("to_decimal(trim(x))", STRING, ["abc", "1,5", big, "1e40", None, ""])
    assert got == [None] * 6
    assert failures == [
        Failure(0, "to_decimal", "trim(x)", "abc"),
        Failure(1, "to_decimal", "trim(x)", "1,5"),
        Failure(2, "to_decimal", "trim(x)", big),
        Failure(3, "to_decimal", "trim(x)", "1e40"),
        Failure(5, "to_decimal", "trim(x)", ""),
    ]


def test_to_decimal_of_a_float_takes_its_shortest_text():
    got, failures = run("to_decimal(x)", FLOAT, [0.1, -2.5, 1e-12, 1e29, float("nan")])
    assert got == [D("0.1"), D("-2.5"), D("0"), None, None]
    assert failures == [
        Failure(3, "to_decimal", "x", "1e+29"),
        Failure(4, "to_decimal", "x", "NaN"),
    ]


def test_to_decimal_of_an_integer_is_exact():
    assert values_of("to_decimal(x)", INTEGER, [2**63 - 1, None]) == [D(2**63 - 1), None]


def test_decimals_convert_to_text_int_and_float():
    values = [D("1.5"), D("100"), D("-0.000000001"), None]
    assert values_of("to_string(x)", DECIMAL, values) == ["1.5", "100", "-0.000000001", None]
    assert values_of("to_float(x)", DECIMAL, values) == [1.5, 100.0, -1e-09, None]
    got, failures = run("to_int(x)", DECIMAL, [*values, D("9223372036854775808")])
    assert got == [None, 100, None, None, None]
    assert failures == [
        Failure(0, "to_int", "x", "1.500000000"),
        Failure(2, "to_int", "x", "-0.000000001"),
        Failure(4, "to_int", "x", "9223372036854775808.000000000"),
    ]


def test_round_halves_away_from_zero_and_keeps_the_type():
    assert values_of("round(x)", FLOAT, [2.5, -2.5, 0.49999999999999994, None]) == [
        3.0,
        -3.0,
        0.0,
        None,
    ]
    assert values_of("round(x, 2)", FLOAT, [2.675, 1.005]) == [2.68, 1.0]  # 1.005 is below
    assert values_of("round(x, digits=1)", DECIMAL, [D("1.25"), D("-1.25")]) == [
        D("1.3"),
        D("-1.3"),
    ]
    assert values_of("round(x, 3)", INTEGER, [7, None]) == [7, None]


def test_round_fails_on_a_decimal_that_would_round_past_29_digits():
    top = D("99999999999999999999999999999.5")
    got, failures = run("round(x)", DECIMAL, [top, D("99999999999999999999999999999.4")])
    assert got == [None, D("99999999999999999999999999999")]
    assert failures == [Failure(0, "round", "x", "99999999999999999999999999999.500000000")]


def test_abs_drops_the_sign_and_fails_on_the_one_integer_without_a_positive():
    assert values_of("abs(x)", FLOAT, [-1.5, 0.0, None]) == [1.5, 0.0, None]
    assert values_of("abs(x)", DECIMAL, [D("-0.5")]) == [D("0.5")]
    got, failures = run("abs(x)", INTEGER, [-7, -(2**63), None])
    assert got == [7, None, None]
    assert failures == [Failure(1, "abs", "x", "-9223372036854775808")]


SCHEMA = {"x": STRING, "f": FLOAT, "b": BOOLEAN}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "round(x)",
            Problem(
                "type-mismatch",
                "round() argument 1 (value) expects integer or float or decimal, found string (x)",
                6,
                "convert it: to_int(x)",
            ),
        ),
        (
            "round(f, -1)",
            Problem(
                "bad-arguments",
                "round() argument 'digits' is -1; it must be from 0 to 15",
                9,
                "round to whole numbers with digits=0, to cents with digits=2",
            ),
        ),
        (
            "round(f, 16)",
            Problem(
                "bad-arguments",
                "round() argument 'digits' is 16; it must be from 0 to 15",
                9,
                "round to whole numbers with digits=0, to cents with digits=2",
            ),
        ),
        (
            "round(f, digits=1.5)",
            Problem(
                "type-mismatch",
                "round() argument 'digits' expects integer, found float (1.5)",
                16,
                "signature: round(value: integer or float or decimal, digits: integer = 0) "
                "-> the input's type",
            ),
        ),
        (
            "abs(b)",
            Problem(
                "type-mismatch",
                "abs() argument 1 (value) expects integer or float or decimal, found boolean (b)",
                4,
                "convert it: to_int(b)",
            ),
        ),
        (
            "to_decimal(b)",
            Problem(
                "type-mismatch",
                "to_decimal() argument 1 (value) expects string or integer or float or decimal, "
                "found boolean (b)",
                11,
                "convert it: to_int(b)",
            ),
        ),
    ],
)
def test_calls_the_number_functions_refuse(text: str, expected: Problem):
    assert problem(text, SCHEMA) == expected
