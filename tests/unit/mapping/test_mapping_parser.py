"""The parser: which syntax the mapping language accepts, and how it names what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.diagnostics import Location
from isthmus.mapping.models import (
    BinaryOp,
    Call,
    DictLiteral,
    FieldRef,
    Keyword,
    ListLiteral,
    Literal,
    Node,
)
from isthmus.mapping.parser import parse, parse_value

LOC = Location(Path("templates/crm.yaml"), 12, 20)


def parsed(text: str) -> Node:
    node, diagnostics = parse(text, LOC)
    assert diagnostics == []
    assert node is not None
    return node


def refused(text: str) -> tuple[str, int, str]:
    """(code, column, message) of the one diagnostic the text gets."""
    node, diagnostics = parse(text, LOC)
    assert node is None
    assert len(diagnostics) == 1
    (diagnostic,) = diagnostics
    assert diagnostic.location is not None
    return diagnostic.code, diagnostic.location.column, diagnostic.message


def test_a_bare_name_is_a_top_level_field():
    assert parsed("Email") == FieldRef(("Email",), (0,), 0, "Email")


def test_an_attribute_chain_is_a_nested_field_path_with_each_segment_located():
    assert parsed("Account.Owner.Id") == FieldRef(
        ("Account", "Owner", "Id"), (0, 8, 14), 0, "Account.Owner.Id"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'active'", "active"),
        ('"déjà vu"', "déjà vu"),
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("1.5", 1.5),
        ("-2.5e3", -2500.0),
        ("True", True),
        ("False", False),
        ("None", None),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_constants_parse_to_literals_with_their_python_value(text: str, value: object):
    node = parsed(text)
    assert isinstance(node, Literal)
    assert node.value == value
    assert type(node.value) is type(value)


def test_plus_parses_left_associative_with_operand_offsets():
    node = parsed("a + b + c")
    assert isinstance(node, BinaryOp)
    assert isinstance(node.left, BinaryOp)
    assert (node.op, node.op_col, node.left.op_col) == ("+", 6, 2)
    assert node.right == FieldRef(("c",), (8,), 8, "c")
    assert node.left.text == "a + b"


def test_a_call_keeps_positional_and_keyword_arguments_in_order():
    node = parsed("parse_timestamp(Created, '%Y', tz='Europe/Berlin')")
    assert isinstance(node, Call)
    assert node.name == "parse_timestamp"
    assert node.args == (
        FieldRef(("Created",), (16,), 16, "Created"),
        Literal("%Y", 25, "'%Y'"),
    )
    assert node.keywords == (
        Keyword("tz", Literal("Europe/Berlin", 34, "'Europe/Berlin'"), 31, "tz='Europe/Berlin'"),
    )


def test_a_dict_literal_of_constants_parses_to_ordered_entries():
    node = parsed("{'open': 'active', -1: None}")
    assert isinstance(node, DictLiteral)
    assert [(k.value, v.value) for k, v in node.entries] == [("open", "active"), (-1, None)]


def test_a_list_literal_of_constants_parses_to_items():
    node = parsed("[1, 'a', None]")
    assert isinstance(node, ListLiteral)
    assert [item.value for item in node.items] == [1, "a", None]


def test_a_backslash_that_is_no_escape_stays_in_the_string_without_a_warning():
    node = parsed("'a\\d'")
    assert node == Literal("a\\d", 0, "'a\\d'")


def test_leading_whitespace_is_allowed_and_offsets_count_it():
    assert parsed("  Email") == FieldRef(("Email",), (2,), 2, "Email")


def test_offsets_count_characters_not_utf8_bytes():
    node = parsed("concat('é😀', Name)")
    assert isinstance(node, Call)
    assert node.args[1] == FieldRef(("Name",), (13,), 13, "Name")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, Literal(True, 0, "True")), (7, Literal(7, 0, "7")), (1.5, Literal(1.5, 0, "1.5"))],
)
def test_a_yaml_bool_or_number_is_a_constant_not_parsed_text(value: object, expected: Literal):
    assert parse_value(value, LOC) == (expected, [])  # type: ignore[arg-type]


def test_a_yaml_integer_beyond_64_bits_is_refused():
    node, diagnostics = parse_value(2**64, LOC)
    assert node is None
    assert [d.code for d in diagnostics] == ["expression-syntax"]


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("Items[0]", 0, "subscript"),
        ("lambda x: x", 0, "lambda"),
        ("[x for x in Items]", 0, "list comprehension"),
        ("{k: 1 for k in Items}", 0, "dict comprehension"),
        ("f'{Name}'", 0, "f-string"),
        ("(n := 1)", 1, "assignment expression"),
        ("Email.lower()", 6, "method calls"),
        ("lower(Email).x", 13, "attribute access on a call"),
        ("2 ** 3", 2, "'**'"),
        ("(a) // b", 4, "'//'"),
        ("a % 2", 2, "'%'"),
        ("a | b", 2, "'|'"),
        ("~a", 0, "'~'"),
        ("a is None", 2, "'is'"),
        ("a < b < c", 6, "chained comparisons"),
        ("(a, b)", 0, "tuple"),
        ("{1, 2}", 0, "set"),
        ("[-True]", 1, "sign is only allowed on a number"),
        ("{-Score: 1}", 1, "must be a constant"),
        ("lower(*Items)", 6, "unpacking"),
        ("lower(**opts)", 6, "unpacking"),
        ("{**base}", 3, "unpacking"),
        ("{'a': Name}", 6, "must be a constant"),
        ("[Name]", 1, "must be a constant"),
        ("b'x'", 0, "bytes"),
        ("1j", 0, "complex"),
        ("9223372036854775808", 0, "64 bits"),
        ("lower(Email)(x)", 0, "only named functions"),
        ("'\\ud800'", 0, "surrogate"),
        ("", 0, "empty"),
        ("   ", 3, "empty"),
    ],
)
def test_constructs_outside_the_language_are_expression_syntax_at_their_column(
    text: str, column: int, words: str
):
    code, col, message = refused(text)
    assert code == "expression-syntax"
    assert col == LOC.column + column
    assert words in message


def test_a_python_syntax_error_is_expression_syntax_at_its_offset():
    code, col, message = refused("lower(Email")
    assert code == "expression-syntax"
    assert col == LOC.column + 5
    assert "never closed" in message


def test_a_method_call_on_a_registered_name_hints_the_function_form():
    _, diagnostics = parse("Email.lower()", LOC)
    assert diagnostics[0].hint == "write lower(Email)"


def test_an_expression_nested_too_deeply_is_refused_not_a_crash():
    code, _, message = refused("lower(" * 60 + "x" + ")" * 60)
    assert code == "expression-syntax"
    assert "deeper" in message


def test_a_very_long_chain_of_plus_is_refused_not_a_crash():
    code, _, _ = refused(" + ".join(["a"] * 5000))
    assert code == "expression-syntax"


def test_a_multi_line_expression_is_located_at_its_start():
    _, diagnostics = parse("lower(\n  a // b)", LOC)
    assert diagnostics[0].location == LOC
