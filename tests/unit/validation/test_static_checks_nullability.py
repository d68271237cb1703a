"""Nullability inference: which expressions can give null, and the part of them that does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from isthmus.diagnostics import Location
from isthmus.mapping.custom import isolated_custom_functions, register_custom_function
from isthmus.mapping.models import Call, Literal, Typed
from isthmus.mapping.nullability import null_cause
from isthmus.mapping.parser import parse_value
from isthmus.mapping.typecheck import check
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, TIMESTAMP, struct_of

SCHEMA = {
    "Id": STRING,
    "Email": STRING,
    "Phone": STRING,
    "Score": FLOAT,
    "Count": INTEGER,
    "OptOut": BOOLEAN,
    "Seen": TIMESTAMP,
    "Account": struct_of({"Id": STRING}),
}
WHERE = Location(Path("template.yaml"), 1, 1)
PRESENT = frozenset({"Id"})


def typed(text: str) -> Typed:
    node, problems = parse_value(text, WHERE)
    assert node is not None, problems
    result, problems = check(node, SCHEMA, WHERE, text)
    assert result is not None, problems
    return result


def cause(text: str) -> str | None:
    """The text of the part that can make ``text`` null, or None when it never is."""
    found = null_cause(typed(text), PRESENT)
    return None if found is None else found.node.text


@pytest.mark.parametrize(
    ("expression", "culprit"),
    [
        ("Id", None),  # the stream's primary key: every record has it
        ("Email", "Email"),
        ("Account.Id", "Account.Id"),  # a nested field of that name is not the key
        ("'x'", None),
        ("42", None),
        ("None", "None"),
        ("lower(trim(Id))", None),
        ("lower(trim(Email))", "Email"),
        ("concat(Email, Phone)", None),  # concat reads null as empty text
        ("coalesce(Email, Id)", None),
        ("coalesce(Email, 'none')", None),
        ("coalesce(Email, Phone)", "Phone"),  # every candidate may be null: the last says why
        ("to_int(Id)", "to_int(Id)"),  # a conversion fails on text it cannot read
        ("lookup(Id, {'a': 'b'}, default='c')", "lookup(Id, {'a': 'b'}, default='c')"),
        ("parse_timestamp(Id)", "parse_timestamp(Id)"),
    ],
)
def test_functions_and_fields(expression: str, culprit: str | None) -> None:
    assert cause(expression) == culprit


@pytest.mark.parametrize(
    ("expression", "culprit"),
    [
        ("Id + Email", "Email"),  # null if either side is, as in SQL
        ("Id + '-x'", None),
        ("Score + 1", "Score"),
        ("Score * 2.5", "Score"),
        ("Count + 1", "Count + 1"),  # integer arithmetic gives null where it overflows
        ("Count * 2", "Count * 2"),
        ("1 / 2", "1 / 2"),  # a division by zero gives null
        ("-Count", "-Count"),  # -(-2**63) overflows
        ("-Score", "Score"),
        ("Id == 'x'", None),
        ("Email == 'x'", "Email"),
        ("not OptOut", "OptOut"),
        ("Id == 'a' and Email == 'b'", "Email"),
        ("Id in ['a', 'b']", None),
        ("Email in ['a', 'b']", "Email"),
        ("Id if OptOut else 'x'", None),  # a null condition takes the else branch
        ("Email if OptOut else Id", "Email"),
        ("Id if OptOut else Email", "Email"),
    ],
)
def test_operators(expression: str, culprit: str | None) -> None:
    assert cause(expression) == culprit


@pytest.mark.parametrize(
    ("expression", "culprit"),
    [
        ("default(Email, 'none')", None),
        ("default(Email, Phone)", "Phone"),
        ("nullif(Id, '')", "nullif(Id, '')"),  # null by design where the value is ''
        ("is_null(Email)", None),
        ("now_utc()", None),
        ("first(split(Id, ','))", "first(split(Id, ','))"),  # an empty list has no first item
        ("last(split(Id, ','))", "last(split(Id, ','))"),
        ("regex_extract(Id, '([0-9]+)')", "regex_extract(Id, '([0-9]+)')"),  # where none matches
        ("hash(Id)", None),
        ("length(Email)", "Email"),  # null in, null out
    ],
)
def test_null_handling_functions(expression: str, culprit: str | None) -> None:
    assert cause(expression) == culprit


def test_a_custom_function_may_give_null_for_any_input() -> None:
    with isolated_custom_functions():
        register_custom_function(
            lambda text: text,
            name="same_text",
            params={"text": "string"},
            returns="string",
            doc="The text as it is.",
        )
        assert cause("same_text(Id)") == "same_text(Id)"


def test_without_a_declared_primary_key_every_source_field_may_be_null() -> None:
    assert null_cause(typed("Id"), frozenset()) is not None


@dataclass(frozen=True)
class FutureNode:
    """A node kind the inference was not written for."""

    col: int = 0
    text: str = "future"


def test_a_node_kind_it_does_not_know_may_be_null() -> None:
    unknown = Typed(FutureNode(), STRING)  # type: ignore[arg-type]
    assert null_cause(unknown, PRESENT) is unknown


def test_a_call_of_a_function_that_is_not_registered_may_be_null() -> None:
    argument = Typed(Literal("x", 5, "'x'"), STRING)
    call = Typed(Call("vanished", (argument.node,), (), 0, "vanished('x')"), STRING, (argument,))
    assert null_cause(call, PRESENT) is call
