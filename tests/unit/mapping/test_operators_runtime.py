"""Operators at run time: values on small batches, SQL's nulls, and the rows an operator
cannot compute (null plus a row failure naming the operator, the operand and the value)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from isthmus.diagnostics import Location
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.mapping.compiler import compile_typed
from isthmus.mapping.models import Binding, Call, FieldRef, Lowered, Typed
from isthmus.mapping.registry import FUNCTIONS, FunctionSpec
from isthmus.types import (
    BOOLEAN,
    DECIMAL,
    FLOAT,
    INTEGER,
    STRING,
    TIMESTAMP,
    DataType,
    list_of,
)

LOC = Location(Path("templates/ops.yaml"), 2, 3)
MAX64, MIN64 = 2**63 - 1, -(2**63)
DECIMAL_MAX = Decimal("9" * 29 + "." + "9" * 9)
DECIMAL_MIN = Decimal("-" + "9" * 29 + "." + "9" * 9)  # not -DECIMAL_MAX: that rounds
Columns = dict[str, tuple[DataType, list[Any]]]


def compiled(text: str, columns: Columns) -> CompiledExpression:
    schema = {name: dtype for name, (dtype, _) in columns.items()}
    result, diagnostics = compile_expression(text, schema, LOC)
    assert diagnostics == [], diagnostics
    assert result is not None
    return result


def frame(columns: Columns) -> pl.DataFrame:
    return pl.DataFrame(
        {name: pl.Series(values, dtype=t.to_polars()) for name, (t, values) in columns.items()}
    )


def run(text: str, columns: Columns) -> list[tuple[Any, list[tuple[str, str]]]]:
    """Each row's value and failures (reason, value shown), the same whole and staged."""
    result = compiled(text, columns)
    data = frame(columns)
    whole = _evaluate(data, result.expr, result.failures)
    if result.staged is not None:
        steps = data
        for step in sorted(result.staged.steps, key=lambda s: s.level):
            steps = steps.with_columns(step.expr.alias(step.name))
        staged = _evaluate(steps, result.staged.expr, result.staged.failures)
        assert repr(staged) == repr(whole)  # repr: NaN equals NaN here
    return whole


def _evaluate(data: pl.DataFrame, expr: pl.Expr, failures: Any) -> list[Any]:
    out = data.select(
        expr.alias("value"),
        *(f.condition.alias(f"failed{i}") for i, f in enumerate(failures)),
        *(f.value.alias(f"shown{i}") for i, f in enumerate(failures)),
    )
    rows = []
    for row in out.iter_rows(named=True):
        failed = [
            (f.describe(), row[f"shown{i}"]) for i, f in enumerate(failures) if row[f"failed{i}"]
        ]
        rows.append((row["value"], failed))
    return rows


def values(text: str, columns: Columns) -> list[Any]:
    rows = run(text, columns)
    assert all(failed == [] for _, failed in rows), rows
    return [value for value, _ in rows]


# ---- arithmetic -------------------------------------------------------------------------


def test_integer_arithmetic_stays_integer_and_null_makes_null():
    cols: Columns = {"a": (INTEGER, [7, -7, None, 0]), "b": (INTEGER, [2, 2, 1, None])}
    assert values("a + b", cols) == [9, -5, None, None]
    assert values("a - b", cols) == [5, -9, None, None]
    assert values("a * b", cols) == [14, -14, None, None]
    assert values("a / b", cols) == [3.5, -3.5, None, None]


def test_two_strings_join_and_a_null_string_makes_null():
    cols: Columns = {"s": (STRING, ["é", "", None])}
    assert values("s + '😀'", cols) == ["é😀", "😀", None]


def test_a_sign_negates_any_numeric_expression():
    cols: Columns = {"a": (INTEGER, [3, None]), "f": (FLOAT, [1.5, -0.0])}
    assert values("-(a + 1)", cols) == [-4, None]
    assert values("-f", cols) == [-1.5, 0.0]
    assert values("+a", cols) == [3, None]


def test_decimal_arithmetic_is_exact_and_rounds_to_nine_places_half_even():
    cols: Columns = {
        "d": (DECIMAL, [Decimal("0.1"), Decimal("0.000000005"), Decimal("2")]),
        "i": (INTEGER, [3, 1, 3]),
    }
    assert values("d + d + d", cols) == [Decimal("0.3"), Decimal("0.000000015"), Decimal("6")]
    assert values("d * 0.5", cols)[0] == 0.05  # a float operand makes it float
    assert values("d / i", cols) == [
        Decimal("0.033333333"),
        Decimal("0.000000005"),
        Decimal("0.666666667"),
    ]


def test_integer_overflow_fails_the_row_naming_the_operation_and_values():
    cols: Columns = {"a": (INTEGER, [MAX64, 5, MIN64]), "b": (INTEGER, [1, 1, 2])}
    assert run("a + b", cols) == [
        (None, [("a + b overflows 64-bit integers", f"{MAX64} + 1")]),
        (6, []),
        (MIN64 + 2, []),
    ]
    assert run("a * b", cols)[2] == (None, [("a * b overflows 64-bit integers", f"{MIN64} * 2")])
    assert run("a - b", cols)[2] == (None, [("a - b overflows 64-bit integers", f"{MIN64} - 2")])


def test_negating_the_smallest_integer_fails_the_row():
    cols: Columns = {"a": (INTEGER, [MIN64, MAX64, None])}
    assert run("-a", cols) == [
        (None, [("-a overflows 64-bit integers", str(MIN64))]),
        (-MAX64, []),
        (None, []),
    ]


def test_the_failure_names_the_operator_and_the_operand_text():
    result = compiled("Amount / (Count - 1)", {"Amount": (FLOAT, []), "Count": (INTEGER, [])})
    overflow, by_zero = result.failures  # inner operations first
    assert (overflow.function, overflow.argument) == ("-", "Count - 1")
    assert (by_zero.function, by_zero.argument) == ("/", "Count - 1")
    assert by_zero.describe() == "division by zero in Amount / (Count - 1): Count - 1 is 0"


def test_division_by_zero_fails_the_row_and_a_null_operand_does_not():
    cols: Columns = {"a": (FLOAT, [1.0, None, 1.0, 2.0]), "b": (INTEGER, [0, 0, None, 4])}
    reason = "division by zero in a / b: b is 0"
    assert run("a / b", cols) == [(None, [(reason, "0")]), (None, []), (None, []), (0.5, [])]


def test_float_division_by_negative_zero_fails_too():
    cols: Columns = {"a": (FLOAT, [1.0]), "b": (FLOAT, [-0.0])}
    assert run("a / b", cols) == [(None, [("division by zero in a / b: b is 0", "-0.0")])]


def test_decimal_division_by_zero_fails_instead_of_failing_the_batch():
    cols: Columns = {"d": (DECIMAL, [Decimal("1.5"), Decimal(2)]), "i": (INTEGER, [0, 4])}
    assert run("d / i", cols) == [
        (None, [("division by zero in d / i: i is 0", "0")]),
        (Decimal("0.5"), []),
    ]


@pytest.mark.parametrize(
    ("text", "left", "right"),
    [
        ("d + e", DECIMAL_MAX, Decimal("0.000000001")),
        ("d - e", DECIMAL_MIN, Decimal("0.000000001")),
        ("d * e", Decimal("1e20"), Decimal("1e10")),
        ("d / e", Decimal("1e20"), Decimal("0.000000001")),
    ],
)
def test_a_decimal_result_beyond_38_digits_fails_the_row_not_the_batch(
    text: str, left: Decimal, right: Decimal
):
    cols: Columns = {"d": (DECIMAL, [left, Decimal(1)]), "e": (DECIMAL, [right, Decimal(1)])}
    (first, failures), (second, fine) = run(text, cols)
    assert first is None
    assert [reason for reason, _ in failures] == [f"{text} overflows decimal(38, 9)"]
    assert second is not None
    assert fine == []


def test_a_constant_division_by_zero_fails_every_row_of_the_batch():
    rows = run("1 / 0", {"x": (INTEGER, [1, 2])})
    assert rows == [(None, [("division by zero in 1 / 0", "0")])] * 2


def test_float_arithmetic_is_ieee_754_and_only_division_by_zero_fails():
    inf = math.inf
    cols: Columns = {"f": (FLOAT, [1e308, inf, -inf]), "g": (FLOAT, [10.0, inf, 2.0])}
    assert values("f * g", cols) == [inf, inf, -inf]
    assert values("f / g", cols)[0] == 1e307
    difference = values("f - g", cols)
    assert difference[0] == 1e308
    assert math.isnan(difference[1])
    assert difference[2] == -inf


def test_nan_compares_as_polars_orders_it_equal_to_itself_and_above_every_number():
    nan, inf = math.nan, math.inf
    cols: Columns = {"f": (FLOAT, [nan, nan, 1.0]), "g": (FLOAT, [nan, inf, nan])}
    assert values("f == g", cols) == [True, False, False]
    assert values("f > g", cols) == [False, True, False]
    assert values("f < g", cols) == [False, False, True]


# ---- comparisons ------------------------------------------------------------------------


def test_comparisons_of_mixed_numbers_and_nulls():
    cols: Columns = {
        "i": (INTEGER, [1, 2, None]),
        "f": (FLOAT, [1.0, 1.5, 1.0]),
        "d": (DECIMAL, [Decimal("1.000000001"), Decimal(2), Decimal(0)]),
    }
    assert values("i == f", cols) == [True, False, None]
    assert values("i < d", cols) == [True, False, None]
    assert values("f >= d", cols) == [False, False, True]
    assert values("i != 2", cols) == [True, False, None]


def test_strings_compare_by_code_point_and_timestamps_in_time():
    cols: Columns = {"s": (STRING, ["a", "é", "", None])}
    assert values("s < 'b'", cols) == [True, False, True, None]
    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    cols = {"t": (TIMESTAMP, [early, late, None]), "u": (TIMESTAMP, [late, early, late])}
    assert values("t < u", cols) == [True, False, None]
    assert compiled("t < u", cols).type == BOOLEAN


def test_boolean_equality():
    cols: Columns = {"b": (BOOLEAN, [True, False, None])}
    assert values("b == True", cols) == [True, False, None]
    assert values("b != b", cols) == [False, False, None]


# ---- logic ------------------------------------------------------------------------------


def test_and_or_not_use_three_valued_logic():
    t, f, n = True, False, None
    cols: Columns = {
        "p": (BOOLEAN, [t, t, t, f, f, f, n, n, n]),
        "q": (BOOLEAN, [t, f, n, t, f, n, t, f, n]),
    }
    assert values("p and q", cols) == [t, f, n, f, f, f, n, f, n]
    assert values("p or q", cols) == [t, t, t, t, f, n, t, n, n]
    assert values("not p", cols) == [f, f, f, t, t, t, n, n, n]


def test_a_conditional_takes_the_else_branch_on_a_null_condition():
    cols: Columns = {"c": (BOOLEAN, [True, False, None]), "i": (INTEGER, [1, 2, 3])}
    assert values("i if c else i * 10", cols) == [1, 20, 30]
    assert values("i if c else 0.5", cols) == [1.0, 0.5, 0.5]


def test_a_failure_in_the_branch_not_taken_does_not_fail_the_row():
    cols: Columns = {"a": (INTEGER, [6, 6, 6]), "b": (INTEGER, [0, 3, None])}
    assert run("a / b if b != 0 else 0.0", cols) == [(0.0, []), (2.0, []), (0.0, [])]
    assert run("0.0 if b == 0 else a / b", cols) == [(0.0, []), (2.0, []), (None, [])]


def test_the_right_side_of_and_or_only_fails_where_it_decides():
    cols: Columns = {"a": (INTEGER, [6, 6]), "b": (INTEGER, [0, 3])}
    assert run("b != 0 and a / b > 1", cols) == [(False, []), (True, [])]
    assert run("b == 0 or a / b > 1", cols) == [(True, []), (True, [])]
    reason = "division by zero in a / b: b is 0"
    assert run("b == 0 and a / b > 1", cols) == [(None, [(reason, "0")]), (False, [])]


def test_a_failing_call_in_a_branch_not_taken_does_not_fail_the_row():
    cols: Columns = {"s": (STRING, ["12", "n/a"])}
    assert run("to_int(s) if s != 'n/a' else -1", cols) == [(12, []), (-1, [])]


# ---- membership -------------------------------------------------------------------------


def test_in_a_constant_list_with_nulls_on_the_left():
    cols: Columns = {"s": (STRING, ["a", "", "z", None])}
    assert values("s in ['a', '']", cols) == [True, True, False, None]
    assert values("s not in ['a', '']", cols) == [False, False, True, None]
    assert values("s in []", cols) == [False, False, False, None]


def test_in_a_list_mixes_number_kinds():
    cols: Columns = {"i": (INTEGER, [1, 2, None])}
    assert values("i in [1.0, 2.5]", cols) == [True, False, None]


def test_in_a_list_field_looks_in_each_rows_own_list():
    cols: Columns = {
        "s": (STRING, ["a", "b", None, "a", "x"]),
        "tags": (list_of(STRING), [["a"], ["a"], ["a"], None, ["x", None]]),
    }
    assert values("s in tags", cols) == [True, False, None, None, True]
    assert values("s not in tags", cols) == [False, True, None, None, False]


# ---- constants and run context ----------------------------------------------------------


def test_an_expression_of_constants_fills_the_batch():
    assert values("2 * 3 > 5 and 'a' in ['a']", {"x": (INTEGER, [1, 2, 3])}) == [True] * 3


def test_a_call_reading_run_context_is_not_a_constant_nor_a_source_field(
    monkeypatch: pytest.MonkeyPatch,
):
    spec = FunctionSpec(
        "test_context_clock",
        (),
        "timestamp",
        lambda _binding: TIMESTAMP,
        lambda _call: Lowered(pl.col("__test_now")),
        "The run's clock, for this test.",
        can_fail=False,
        context_column="__test_now",
    )
    monkeypatch.setitem(FUNCTIONS, spec.name, spec)
    call = Call(spec.name, (), (), 0, "test_context_clock()")
    typed = Typed(call, TIMESTAMP, (), Binding(spec.name, ()))
    result = compile_typed(typed, "test_context_clock()")
    assert result.source_fields == frozenset()
    assert result.staged is not None  # a constant would have none
    now = pl.Series([1, 2], dtype=pl.Datetime("us", "UTC"))
    out = pl.DataFrame({"__test_now": now}).select(result.expr.alias("v"))
    assert out["v"].to_list() == now.to_list()
    field = Typed(FieldRef(("x",), (0,), 0, "x"), INTEGER)
    assert compile_typed(field, "x").source_fields == frozenset({"x"})
