"""Property tests: every operator's compiled Polars expression agrees with a plain per-record
Python reference on generated batches (nulls, integers near ±2**63, floats with infinities,
decimals near their 38-digit limit, unicode and empty text), failing rows included; and no
text, however broken, makes the parser or compiler raise.

The references follow the documented semantics: SQL's nulls, Kleene's and/or, an integer
with a float computed as floats, decimals exact and rounded half-even to 9 places. NaN is not
generated: Polars orders it above every number and equal to itself, unlike Python.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.diagnostics import Location
from isthmus.mapping import compile_expression
from isthmus.mapping.parser import parse
from isthmus.types import BOOLEAN, DECIMAL, FLOAT, INTEGER, STRING, DataType, list_of

LOC = Location(Path("templates/props.yaml"), 1, 1)
PROPERTY = settings(max_examples=200, deadline=None)
MIN64, MAX64 = -(2**63), 2**63 - 1
DECIMAL_MAX = Decimal("9" * 29 + "." + "9" * 9)
DECIMAL_MIN = Decimal("-" + "9" * 29 + "." + "9" * 9)  # not -DECIMAL_MAX: 28 digits round it
EXACT = Context(prec=120)  # wide enough for any product or quotient of two decimal(38, 9)
NINE_PLACES = Decimal("0.000000001")
Outcome = tuple[Any, bool]  # (value, whether the row failed)
UNCOMPARED: Outcome = ("not compared", False)

integers = st.one_of(
    st.integers(MIN64, MAX64),
    st.integers(-3, 3),
    st.sampled_from([MIN64, MIN64 + 1, MAX64, MAX64 - 1, 2**62, -(2**62), 2**32]),
)
floats = st.floats(allow_nan=False)  # infinities included
decimals = st.one_of(
    st.decimals(DECIMAL_MIN, DECIMAL_MAX, places=9, allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [DECIMAL_MAX, DECIMAL_MIN, Decimal(0), Decimal("1e-9"), Decimal("-1e-9"), Decimal("1e15")]
    ),
)
chars = st.characters(exclude_categories=("Cs",))
texts = st.text(chars, max_size=6) | st.sampled_from(["", "a", "é", "😀", "A", "\x00"])
booleans = st.booleans()
STRATEGIES: dict[DataType, st.SearchStrategy[Any]] = {
    INTEGER: integers,
    FLOAT: floats,
    DECIMAL: decimals,
    STRING: texts,
    BOOLEAN: booleans,
}


def rows(*types: DataType) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Rows of values of these types, each value possibly null."""
    row = st.tuples(*(st.none() | STRATEGIES[t] for t in types))
    return st.lists(row, max_size=12)


def evaluate(text: str, types: dict[str, DataType], data: list[tuple[Any, ...]]) -> list[Outcome]:
    """Each row's value and whether it failed, asserting the staged form says the same."""
    result, diagnostics = compile_expression(text, types, LOC)
    assert diagnostics == [], diagnostics
    assert result is not None
    columns = list(types)
    frame = pl.DataFrame(
        {
            name: pl.Series([row[i] for row in data], dtype=types[name].to_polars())
            for i, name in enumerate(columns)
        }
    )
    failed = pl.any_horizontal([f.condition for f in result.failures] or [pl.lit(False)])
    out = frame.select(result.expr.alias("value"), failed.alias("failed"))
    whole = list(zip(out["value"].to_list(), out["failed"].to_list(), strict=True))
    assert result.staged is not None
    for step in sorted(result.staged.steps, key=lambda s: s.level):
        frame = frame.with_columns(step.expr.alias(step.name))
    staged_failed = [f.condition for f in result.staged.failures] or [pl.lit(False)]
    out = frame.select(
        result.staged.expr.alias("value"), pl.any_horizontal(staged_failed).alias("failed")
    )
    staged = list(zip(out["value"].to_list(), out["failed"].to_list(), strict=True))
    assert _comparable(staged) == _comparable(whole)
    return whole


def agrees(
    text: str,
    types: dict[str, DataType],
    data: list[tuple[Any, ...]],
    reference: Callable[..., Outcome],
) -> None:
    got = evaluate(text, types, data)
    expected = [reference(*row) for row in data]
    got = [UNCOMPARED if e == UNCOMPARED else g for g, e in zip(got, expected, strict=True)]
    assert _comparable(got) == _comparable(expected), data


def _comparable(outcomes: list[Outcome]) -> list[Outcome]:
    return [
        ("NaN", failed) if isinstance(value, float) and math.isnan(value) else (value, failed)
        for value, failed in outcomes
    ]


def strict(function: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """SQL's rule: a null operand makes a null result, and no failure."""
    return lambda *row: (None, False) if None in row else function(*row)


# ---- arithmetic -------------------------------------------------------------------------

APPLY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def integer_reference(op: str) -> Callable[..., Outcome]:
    def reference(a: int, b: int) -> Outcome:
        if op == "/":
            return (None, True) if b == 0 else (float(a) / float(b), False)
        value = APPLY[op](a, b)
        return (value, False) if MIN64 <= value <= MAX64 else (None, True)

    return strict(reference)


def float_reference(op: str) -> Callable[..., Outcome]:
    def reference(a: float, b: float) -> Outcome:
        a, b = float(a), float(b)
        if op == "/":
            return (None, True) if b == 0 else (a / b, False)
        return APPLY[op](a, b), False

    return strict(reference)


DECIMAL_APPLY: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": EXACT.add,
    "-": EXACT.subtract,
    "*": EXACT.multiply,
    "/": EXACT.divide,
}


def decimal_reference(op: str) -> Callable[..., Outcome]:
    def reference(a: Decimal | int, b: Decimal | int) -> Outcome:
        a, b = Decimal(a), Decimal(b)
        if op == "/" and b == 0:
            return None, True
        exact = DECIMAL_APPLY[op](a, b)
        # (copy_abs, not abs(): the default context's 28 digits would round)
        slack = EXACT.multiply(b.copy_abs(), NINE_PLACES)  # how far rounding a bound moves
        if op == "/":
            slack = EXACT.divide(NINE_PLACES, b.copy_abs())
        if op in "*/" and exact.copy_abs() >= EXACT.subtract(DECIMAL_MAX, slack):
            return UNCOMPARED  # at the limit within rounding: either answer is documented
        rounded = exact.quantize(NINE_PLACES, rounding=ROUND_HALF_EVEN, context=EXACT)
        return (rounded, False) if rounded.copy_abs() <= DECIMAL_MAX else (None, True)

    return strict(reference)


ops = st.sampled_from(["+", "-", "*", "/"])


@PROPERTY
@given(ops, rows(INTEGER, INTEGER))
def test_integer_arithmetic_agrees_with_python_ints_failing_beyond_64_bits(op: str, data: Any):
    agrees(f"a {op} b", {"a": INTEGER, "b": INTEGER}, data, integer_reference(op))


@PROPERTY
@given(ops, rows(FLOAT, FLOAT), rows(INTEGER, FLOAT))
def test_float_arithmetic_agrees_with_python_floats(op: str, data: Any, mixed: Any):
    agrees(f"a {op} b", {"a": FLOAT, "b": FLOAT}, data, float_reference(op))
    agrees(f"a {op} b", {"a": INTEGER, "b": FLOAT}, mixed, float_reference(op))


@PROPERTY
@given(ops, rows(DECIMAL, DECIMAL), rows(DECIMAL, INTEGER))
def test_decimal_arithmetic_agrees_with_exact_decimals_failing_beyond_38_digits(
    op: str, data: Any, mixed: Any
):
    agrees(f"a {op} b", {"a": DECIMAL, "b": DECIMAL}, data, decimal_reference(op))
    agrees(f"b {op} a", {"a": DECIMAL, "b": INTEGER}, mixed, lambda a, b: _swap(op, a, b))


def _swap(op: str, a: Any, b: Any) -> Outcome:
    return decimal_reference(op)(b, a)


@PROPERTY
@given(rows(INTEGER), rows(FLOAT), rows(DECIMAL))
def test_negation_agrees_with_python(ints: Any, reals: Any, exact: Any):
    agrees(
        "-a",
        {"a": INTEGER},
        ints,
        strict(lambda a: (-a, False) if a != MIN64 else (None, True)),
    )
    agrees("-a", {"a": FLOAT}, reals, strict(lambda a: (-a, False)))
    agrees("-a", {"a": DECIMAL}, exact, strict(lambda a: (EXACT.minus(a), False)))


@PROPERTY
@given(rows(STRING, STRING))
def test_plus_joins_strings(data: Any):
    agrees("a + b", {"a": STRING, "b": STRING}, data, strict(lambda a, b: (a + b, False)))


# ---- comparisons ------------------------------------------------------------------------

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
comparisons = st.sampled_from(list(COMPARE))
comparable_pairs = st.sampled_from(
    [
        (INTEGER, INTEGER),
        (INTEGER, FLOAT),
        (FLOAT, FLOAT),
        (DECIMAL, INTEGER),
        (DECIMAL, DECIMAL),
        (STRING, STRING),
    ]
)


def _as_compared(a: Any, b: Any) -> tuple[Any, Any]:
    """How the language compares mixed numbers: with a float, as floats; else exactly."""
    if isinstance(a, float) or isinstance(b, float):
        return float(a), float(b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(a), Decimal(b)
    return a, b


@PROPERTY
@given(comparisons, comparable_pairs, st.data())
def test_comparisons_agree_with_python(op: str, pair: tuple[DataType, DataType], draw: Any):
    data = draw.draw(rows(*pair))
    agrees(
        f"a {op} b",
        {"a": pair[0], "b": pair[1]},
        data,
        strict(lambda a, b: (COMPARE[op](*_as_compared(a, b)), False)),
    )


@PROPERTY
@given(st.sampled_from(["==", "!="]), rows(BOOLEAN, BOOLEAN))
def test_booleans_compare_for_equality(op: str, data: Any):
    reference = strict(lambda a, b: (COMPARE[op](a, b), False))
    agrees(f"a {op} b", {"a": BOOLEAN, "b": BOOLEAN}, data, reference)


# ---- logic ------------------------------------------------------------------------------


def kleene_and(a: bool | None, b: bool | None) -> Outcome:
    if a is False or b is False:
        return False, False
    return (None if a is None or b is None else True), False


def kleene_or(a: bool | None, b: bool | None) -> Outcome:
    if a is True or b is True:
        return True, False
    return (None if a is None or b is None else False), False


@PROPERTY
@given(rows(BOOLEAN, BOOLEAN))
def test_and_or_not_agree_with_three_valued_logic(data: Any):
    types = {"a": BOOLEAN, "b": BOOLEAN}
    agrees("a and b", types, data, kleene_and)
    agrees("a or b", types, data, kleene_or)
    agrees("not a", types, data, lambda a, _b: (None if a is None else not a, False))


@PROPERTY
@given(rows(BOOLEAN, INTEGER, INTEGER))
def test_a_conditional_agrees_with_python_and_fails_only_on_the_branch_taken(data: Any):
    types = {"c": BOOLEAN, "a": INTEGER, "b": INTEGER}

    def reference(c: bool | None, a: int | None, b: int | None) -> Outcome:
        if c is True:
            return integer_reference("/")(a, b)
        return (None if a is None else float(a)), False

    agrees("a / b if c else a", types, data, reference)


# ---- membership -------------------------------------------------------------------------

CONSTANTS = ["", "a", "é", "😀"]


@PROPERTY
@given(rows(STRING), st.lists(st.none() | texts, max_size=4))
def test_membership_agrees_with_python_in(data: Any, lists: list[str | None]):
    agrees(
        f"a in {CONSTANTS!r}",
        {"a": STRING},
        data,
        strict(lambda a: (a in CONSTANTS, False)),
    )
    agrees(
        f"a not in {CONSTANTS!r}",
        {"a": STRING},
        data,
        strict(lambda a: (a not in CONSTANTS, False)),
    )
    with_lists = [(row[0], lists if i % 2 else None) for i, row in enumerate(data)]
    present = [item for item in lists if item is not None]
    agrees(
        "a in items",
        {"a": STRING, "items": list_of(STRING)},
        with_lists,
        strict(lambda a, _items: (a in present, False)),
    )


# ---- never raising ----------------------------------------------------------------------

_FRAGMENTS = [
    "i", "f", "d", "s", "b", "tags", "None", "True", "0", "1", "-1", "2.5", "1e308",
    "9223372036854775807", "'x'", "''", "'é'", "+", "-", "*", "/", "//", "%", "**", "==",
    "!=", "<", "<=", ">", ">=", " and ", " or ", "not ", " in ", " not in ", " is ", " if ",
    " else ", "(", ")", "[", "]", ",", "~", "&", "|", "lower(", "to_int(", "coalesce(", " ",
    "lambda x: ", "x[0]", "{", "}", ":",
]  # fmt: skip
_TYPES = {
    "i": INTEGER,
    "f": FLOAT,
    "d": DECIMAL,
    "s": STRING,
    "b": BOOLEAN,
    "tags": list_of(STRING),
}
_BATCH = pl.DataFrame(
    {
        "i": pl.Series([MAX64, MIN64, 0, None], dtype=pl.Int64),
        "f": pl.Series([math.inf, -0.0, 1e308, None], dtype=pl.Float64),
        "d": pl.Series([DECIMAL_MAX, DECIMAL_MIN, Decimal(0), None], dtype=DECIMAL.to_polars()),
        "s": pl.Series(["é", "", "x", None], dtype=pl.String),
        "b": pl.Series([True, False, None, True], dtype=pl.Boolean),
        "tags": pl.Series([["x"], [], None, ["é", None]], dtype=pl.List(pl.String)),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parsing_any_text_gives_a_node_or_a_diagnostic(text: str):
    node, diagnostics = parse(text, LOC)
    assert (node is None) == bool(diagnostics)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
def test_operator_soup_compiles_to_a_result_or_diagnostics_and_runs_on_extreme_values(
    text: str,
):
    compiled, diagnostics = compile_expression(text, _TYPES, LOC)
    assert (compiled is None) == bool(diagnostics)
    assert all(d.code and d.message and d.location is not None for d in diagnostics)
    if compiled is None:
        return
    failed = [f.condition for f in compiled.failures] or [pl.lit(False)]
    out = _BATCH.select(compiled.expr.alias("v"), pl.any_horizontal(failed).alias("failed"))
    assert out.height == _BATCH.height
    assert out["v"].dtype == compiled.type.to_polars()
