"""Operators in the parser: the nodes they parse to, where each points, and the exact
diagnostic for syntax the language does not have (chained comparisons, `//`, `is`...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping import compile_expression
from isthmus.mapping.models import (
    BinaryOp,
    BoolOp,
    Compare,
    Conditional,
    FieldRef,
    ListLiteral,
    Literal,
    Membership,
    Not,
    UnaryOp,
)
from isthmus.mapping.parser import parse
from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    STRING,
    TIMESTAMP,
    DataType,
    list_of,
)

LOC = Location(Path("templates/ops.yaml"), 4, 10)
SCHEMA: dict[str, DataType] = {
    "Visits": INTEGER,
    "Count": INTEGER,
    "Revenue": FLOAT,
    "Price": DECIMAL,
    "LeadScore": STRING,
    "Name": STRING,
    "Active": BOOLEAN,
    "Born": DATE,
    "Created": TIMESTAMP,
    "Extra": JSON,
    "Tags": list_of(STRING),
    "Scores": list_of(INTEGER),
}


def refused(text: str) -> tuple[str, int, str, str | None]:
    """The one diagnostic for ``text``: code, 0-based column in the expression, message, hint."""
    result, diagnostics = compile_expression(text, SCHEMA, LOC)
    assert result is None
    assert len(diagnostics) == 1, diagnostics
    (found,) = diagnostics
    return found.code, _column(found), found.message, found.hint


def _column(diagnostic: Diagnostic) -> int:
    assert diagnostic.location is not None
    assert diagnostic.location.line == LOC.line
    return diagnostic.location.column - LOC.column


# ---- parsing ----------------------------------------------------------------------------


def test_arithmetic_keeps_python_precedence_and_points_at_each_operator():
    node, _ = parse("Visits + Count * 2", LOC)
    assert node == BinaryOp(
        "+",
        FieldRef(("Visits",), (0,), 0, "Visits"),
        BinaryOp(
            "*",
            FieldRef(("Count",), (9,), 9, "Count"),
            Literal(2, 17, "2"),
            9,
            "Count * 2",
            15,
        ),
        0,
        "Visits + Count * 2",
        7,
    )


def test_a_sign_on_a_field_is_a_unary_operator_and_on_a_number_a_constant():
    assert parse("-Visits", LOC)[0] == UnaryOp(
        "-", FieldRef(("Visits",), (1,), 1, "Visits"), 0, "-Visits"
    )
    assert parse("- -2", LOC)[0] == Literal(2, 0, "- -2")
    assert parse("+(Revenue)", LOC)[0] == UnaryOp(
        "+", FieldRef(("Revenue",), (2,), 2, "Revenue"), 0, "+(Revenue)"
    )


def test_a_comparison_points_at_its_operator_after_a_bracketed_left_side():
    node, _ = parse("(Visits) >= 3", LOC)
    assert isinstance(node, Compare)
    assert (node.op, node.op_col, node.text) == (">=", 9, "(Visits) >= 3")


def test_and_or_nest_to_the_left_and_each_part_keeps_its_text():
    node, _ = parse("a and b and c or d", LOC)
    assert isinstance(node, BoolOp)
    assert (node.op, node.text, node.op_col) == ("or", "a and b and c or d", 14)
    assert isinstance(node.left, BoolOp)
    assert (node.left.op, node.left.text, node.left.op_col) == ("and", "a and b and c", 8)
    assert isinstance(node.left.left, BoolOp)
    assert (node.left.left.text, node.left.left.op_col) == ("a and b", 2)


def test_not_conditional_and_membership_parse_to_their_nodes():
    assert parse("not Active", LOC)[0] == Not(
        FieldRef(("Active",), (4,), 4, "Active"), 0, "not Active"
    )
    node, _ = parse("1 if Active else 2", LOC)
    assert node == Conditional(
        Literal(1, 0, "1"),
        FieldRef(("Active",), (5,), 5, "Active"),
        Literal(2, 17, "2"),
        0,
        "1 if Active else 2",
    )
    node, _ = parse("Name not in ['a']", LOC)
    assert node == Membership(
        True,
        FieldRef(("Name",), (0,), 0, "Name"),
        ListLiteral((Literal("a", 13, "'a'"),), 12, "['a']"),
        0,
        "Name not in ['a']",
        5,
    )


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        (
            "Visits < Count < 10",
            15,
            "chained comparisons like a < b < c are not supported",
            "write Visits < Count and Count < 10",
        ),
        (
            "0 <= Visits not in Scores",
            12,
            "chained comparisons like a < b < c are not supported",
            "write 0 <= Visits and Visits not in Scores",
        ),
        (
            "Visits // 2",
            7,
            "the operator '//' is not supported in a mapping expression",
            "divide with '/'; there is no floor division",
        ),
        (
            "Visits % 2",
            7,
            "the operator '%' is not supported in a mapping expression",
            "there is no remainder operator",
        ),
        (
            "Visits ** 2",
            7,
            "the operator '**' is not supported in a mapping expression",
            "multiply the value by itself with '*'",
        ),
        (
            "Active & Active",
            7,
            "the operator '&' is not supported in a mapping expression",
            "for booleans use 'and', 'or' and 'not'",
        ),
        (
            "Visits << 1",
            7,
            "the operator '<<' is not supported in a mapping expression",
            "multiply with '*' instead of shifting",
        ),
        (
            "~Active",
            0,
            "the operator '~' is not supported in a mapping expression",
            "for booleans use 'and', 'or' and 'not'",
        ),
        (
            "Name is None",
            5,
            "the operator 'is' is not supported in a mapping expression",
            "compare values with '==', or test for a missing value with is_null(Name)",
        ),
        (
            "Name is not None",
            5,
            "the operator 'is not' is not supported in a mapping expression",
            "compare values with '!=', or test for a missing value with not is_null(Name)",
        ),
        (
            "Name in ('a', 'b')",
            8,
            "'in' takes a list in square brackets, not a tuple",
            "write Name in ['a', 'b']",
        ),
        (
            "Name not in {'a'}",
            12,
            "'in' takes a list in square brackets, not a set literal",
            "write Name not in ['a']",
        ),
        (
            "Tags[0]",
            0,
            "a subscript (x[...]) is not supported in a mapping expression",
            "use fields, constants, operators and registered functions",
        ),
        (
            "lambda: 1",
            0,
            "a lambda is not supported in a mapping expression",
            "use fields, constants, operators and registered functions",
        ),
        (
            "lookup(Name, {-Visits: 1})",
            14,
            "a lookup table key must be a constant, not '-Visits'",
            "lookup tables and lists hold constants only",
        ),
        (
            "Name in [-True]",
            9,
            "a sign is only allowed on a number constant here",
            "lookup tables and lists hold constants only",
        ),
    ],
)
def test_syntax_outside_the_operators_is_refused_at_its_column(
    text: str, column: int, message: str, hint: str
):
    assert refused(text) == ("expression-syntax", column, message, hint)


def test_a_long_chain_of_and_is_refused_as_too_deep_not_a_crash():
    code, column, message, _ = refused(" and ".join(["Active"] * 80))
    assert (code, column) == ("expression-syntax", 0)
    assert message == "the expression nests deeper than 50 levels"
