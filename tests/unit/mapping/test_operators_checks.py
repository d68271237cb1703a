"""Operators in the type checker: what type each gives, and the exact diagnostic (message,
hint and column) for every operand an operator refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping import compile_expression
from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    NULL,
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


def type_of(text: str) -> DataType:
    result, diagnostics = compile_expression(text, SCHEMA, LOC)
    assert diagnostics == []
    assert result is not None
    return result.type


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


# ---- result types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Visits + Count", INTEGER),
        ("Visits - 1", INTEGER),
        ("Visits * Count", INTEGER),
        ("Visits / Count", FLOAT),
        ("Visits + Revenue", FLOAT),
        ("Price + Visits", DECIMAL),
        ("Price * Price", DECIMAL),
        ("Price / Visits", DECIMAL),
        ("Visits / Price", DECIMAL),
        ("Price / Revenue", FLOAT),
        ("Price - Revenue", FLOAT),
        ("Name + '!'", STRING),
        ("Visits + None", INTEGER),
        ("None / Visits", FLOAT),
        ("None + None", NULL),
        ("-Visits", INTEGER),
        ("-Price", DECIMAL),
        ("+Revenue", FLOAT),
        ("-None", NULL),
        ("Visits < Revenue", BOOLEAN),
        ("Price >= Visits", BOOLEAN),
        ("Name <= 'b'", BOOLEAN),
        ("Born > Born", BOOLEAN),
        ("Created != Created", BOOLEAN),
        ("Active == True", BOOLEAN),
        ("Active and not Active or None", BOOLEAN),
        ("Visits if Active else Revenue", FLOAT),
        ("Name if Active else None", STRING),
        ("Tags if Active else ['x']", list_of(STRING)),
        ("Visits in [1, 2.5]", BOOLEAN),
        ("Name not in Tags", BOOLEAN),
        ("Revenue in Scores", BOOLEAN),
        ("Name in []", BOOLEAN),
        ("coalesce(None, None) in [1]", BOOLEAN),
    ],
)
def test_each_operator_gives_its_documented_type(text: str, expected: DataType):
    assert type_of(text) == expected


# ---- refused operands -------------------------------------------------------------------

ORDER_HINT = (
    "compare values of one type: numbers of any kind, two strings, two dates or two "
    "timestamps; booleans with == or !="
)


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        (
            "Active + 1",
            7,
            "'+' cannot add boolean Active and integer 1: it adds two numbers or joins two strings",
            "convert it: to_int(Active)",
        ),
        (
            "Name + Visits",
            5,
            "'+' cannot add string Name and integer Visits: it adds two numbers or joins two "
            "strings",
            "to join as text write concat(Name, Visits); to add numbers convert the text: "
            "to_int(Name)",
        ),
        (
            "LeadScore - 1",
            10,
            "'-' cannot subtract integer 1 from string LeadScore: it needs two numbers",
            "convert it: to_float(LeadScore)",
        ),
        (
            "Visits * Born",
            7,
            "'*' cannot multiply integer Visits by date Born: it needs two numbers",
            "both sides must be numbers: integer, float or decimal",
        ),
        (
            "Created / 2",
            8,
            "'/' cannot divide timestamp Created by integer 2: it needs two numbers",
            "both sides must be numbers: integer, float or decimal",
        ),
        (
            "-Name",
            0,
            "the sign '-' needs a number, found string Name",
            "convert it: to_float(Name)",
        ),
        (
            "-True",
            0,
            "the sign '-' needs a number, found boolean True",
            "convert it: to_int(True)",
        ),
        (
            "LeadScore > 50",
            10,
            "'>' cannot compare string LeadScore with integer 50",
            "convert it: to_float(LeadScore) > 50",
        ),
        (
            "2.5 <= LeadScore",
            4,
            "'<=' cannot compare float 2.5 with string LeadScore",
            "convert it: 2.5 <= to_float(LeadScore)",
        ),
        (
            "Active < Active",
            7,
            "'<' cannot order booleans: they only compare with == and !=",
            "write Active == Active, or compare numbers",
        ),
        ("Extra == Extra", 6, "'==' cannot compare json Extra with json Extra", ORDER_HINT),
        (
            "Tags == Tags",
            5,
            "'==' cannot compare list[string] Tags with list[string] Tags",
            ORDER_HINT,
        ),
        (
            "Name == None",
            5,
            "'==' with None is never true: any comparison with a null is null",
            "test for a missing value with is_null(Name)",
        ),
        (
            "None != Name",
            5,
            "'!=' with None is never true: any comparison with a null is null",
            "test for a missing value with not is_null(Name)",
        ),
        (
            "Name and Active",
            0,
            "'and' needs booleans, found string Name",
            "compare it, e.g. Name == 'yes', or test for a missing value with is_null(Name)",
        ),
        (
            "Active or Visits",
            10,
            "'or' needs booleans, found integer Visits",
            "compare it, e.g. Visits > 0, or test for a missing value with is_null(Visits)",
        ),
        (
            "not Born",
            4,
            "'not' needs booleans, found date Born",
            "compare it with a value, or test for a missing value with is_null(Born)",
        ),
        (
            "1 if Name else 2",
            5,
            "the condition of 'x if condition else y' must be a boolean, found string Name",
            "compare it, e.g. Name == 'yes', or test for a missing value with is_null(Name)",
        ),
        (
            "Visits if Active else 'none'",
            22,
            "the branches of 'x if condition else y' do not share a type: integer Visits and "
            "string 'none'",
            "convert it: to_int('none')",
        ),
        (
            "Name in [1, None]",
            12,
            "None in the list of 'in' never matches: a comparison with null is null",
            "test for a missing value with is_null(Name)",
        ),
        (
            "None in ['a']",
            5,
            "'in' with None is never true: any comparison with a null is null",
            "test a value for null with is_null(value)",
        ),
        (
            "Visits in Name",
            10,
            "'in' needs a list on its right, found string Name",
            "write Visits in ['a', 'b'], or name a list field",
        ),
        (
            "Visits not in Tags",
            7,
            "'not in' cannot look for integer Visits in list[string] Tags",
            "convert it: to_string(Visits) not in Tags",
        ),
        (
            "Tags in ['a']",
            5,
            "'in' cannot look for list[string] Tags in list[string] ['a']",
            "look for a list item",
        ),
    ],
)
def test_a_refused_operand_is_a_type_mismatch_at_its_column(
    text: str, column: int, message: str, hint: str
):
    assert refused(text) == ("type-mismatch", column, message, hint)


def test_both_bad_operands_of_and_are_reported():
    result, diagnostics = compile_expression("Name and Visits", SCHEMA, LOC)
    assert result is None
    assert [(d.code, _column(d)) for d in diagnostics] == [
        ("type-mismatch", 0),
        ("type-mismatch", 9),
    ]


def test_an_operand_with_its_own_problem_is_reported_once_and_not_typed_further():
    result, diagnostics = compile_expression("Nope + 1 > 2", SCHEMA, LOC)
    assert result is None
    assert [(d.code, _column(d)) for d in diagnostics] == [("undeclared-source-field", 0)]
