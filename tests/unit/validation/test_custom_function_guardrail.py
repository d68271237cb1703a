"""The guardrail custom-function-requires-exception: every call of a custom function in a
mapping or write-back expression is an error at the call, unless an approved, unexpired
exception on the integration waives it; the policy may turn the rule off.

Every test starts from the demo project without its guardrails, declares the module
``functions/text.py`` (custom functions ``shout`` and ``whisper``) and changes one thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.config.policy import Policy
from isthmus.demo import DemoProject
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.mapping.custom import isolated_custom_functions
from isthmus.validation import validate_project
from isthmus.validation.guardrails import RULES
from support import without_demo_guardrails

RULE = "custom-function-requires-exception"
TODAY = dt.date(2026, 6, 1)
ACME = "integrations/acme/crm.yaml"
INITECH = "integrations/initech/crm.yaml"
API_TEMPLATE = "templates/crm-api-1.0.0.yaml"
WHY = (
    "a custom function runs the project's own Python code, which neither the mapping "
    "language's checks nor its tests cover"
)
MODULE = '''\
import polars as pl
from isthmus.mapping.custom import custom_function


@custom_function(name="shout", params={"text": "string"}, returns="string")
def shout(text: pl.Series) -> pl.Series:
    """The text in upper case."""
    return text.str.to_uppercase()


@custom_function(name="whisper", params={"text": "string"}, returns="string")
def whisper(text: pl.Series) -> pl.Series:
    """The text in lower case."""
    return text.str.to_lowercase()
'''


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    with isolated_custom_functions():
        yield


@pytest.fixture
def root(demo: DemoProject) -> Path:
    root = without_demo_guardrails(demo.root)
    (root / "functions").mkdir()
    (root / "functions/text.py").write_text(MODULE, encoding="utf-8")
    append(root, "isthmus.yaml", "functions: [functions/text.py]\n")
    return root


def append(root: Path, relative: str, text: str) -> None:
    with (root / relative).open("a", encoding="utf-8") as file:
        file.write(text)


def override_acme(root: Path, fields: str) -> None:
    append(root, ACME, f"overrides:\n  mappings:\n    accounts:\n      fields: {{{fields}}}\n")


def grant(root: Path, *, expires: str = "2026-12-31", scope: str | None = None) -> None:
    scoped = f", scope: {scope}" if scope else ""
    append(
        root,
        ACME,
        f"exceptions:\n  - {{rule: {RULE}, justification: names are shouted in this CRM, "
        f"approved_by: cto@example.com, expires: {expires}{scoped}}}\n",
    )


def found(root: Path, code: str = RULE) -> list[Diagnostic]:
    return [d for d in validate_project(load_project(root), today=TODAY) if d.code == code]


def at(root: Path, relative: str, needle: str) -> Location:
    text = (root / relative).read_text(encoding="utf-8")
    assert text.count(needle) == 1
    index = text.index(needle)
    line = text.count("\n", 0, index) + 1
    return Location(root / relative, line, index - text.rfind("\n", 0, index))


def test_the_rule_is_on_by_default() -> None:
    assert RULE in RULES
    assert Policy().enabled(RULE)


def test_a_custom_function_call_without_exception_is_an_error_at_the_call(root: Path) -> None:
    override_acme(root, "name: trim(shout(Name))")
    [error] = found(root)
    assert error.severity is Severity.ERROR
    assert error.location == at(root, ACME, "shout(Name)")
    assert error.message == (
        f"mappings.accounts.fields.name calls the custom function shout(): {WHY}; "
        f"integration 'acme-crm' has no exception for rule {RULE}"
    )
    assert error.hint == (
        "use the mapping language's built-in functions, or add under exceptions: "
        f"{{rule: {RULE}, scope: mappings.accounts.fields.name, justification: ..., "
        "approved_by: ..., expires: YYYY-MM-DD}"
    )


def test_every_call_is_reported_at_its_own_column(root: Path) -> None:
    override_acme(root, "name: 'concat(shout(Name), whisper(Industry))'")
    assert [(d.location, d.message.split(":")[0]) for d in found(root)] == [
        (
            at(root, ACME, "shout(Name)"),
            "mappings.accounts.fields.name calls the custom function shout()",
        ),
        (
            at(root, ACME, "whisper(Industry)"),
            "mappings.accounts.fields.name calls the custom function whisper()",
        ),
    ]


def test_built_in_functions_break_no_rule(root: Path) -> None:
    override_acme(root, "name: upper(Name)")
    assert found(root) == []


def test_an_approved_exception_turns_the_error_into_a_note(root: Path) -> None:
    override_acme(root, "name: shout(Name)")
    grant(root)
    [note] = found(root)
    assert note.severity is Severity.INFO
    assert note.message == (
        f"mappings.accounts.fields.name calls the custom function shout(): {WHY}; waived for "
        "integration 'acme-crm' by the exception approved by cto@example.com until "
        "2026-12-31: names are shouted in this CRM"
    )


def test_an_exception_scoped_to_the_field_waives_it(root: Path) -> None:
    override_acme(root, "name: shout(Name)")
    grant(root, scope="mappings.accounts.fields.name")
    assert [d.severity for d in found(root)] == [Severity.INFO]


def test_an_exception_scoped_to_another_field_does_not(root: Path) -> None:
    override_acme(root, "name: shout(Name)")
    grant(root, scope="mappings.contacts")
    assert [d.severity for d in found(root)] == [Severity.ERROR]
    [stale] = found(root, "stale-exception")
    assert stale.severity is Severity.WARNING


def test_an_expired_exception_leaves_the_error(root: Path) -> None:
    override_acme(root, "name: shout(Name)")
    grant(root, expires="2026-05-31")
    [error] = found(root)
    assert error.severity is Severity.ERROR
    assert error.message.endswith(
        "; the exception of integration 'acme-crm', approved by cto@example.com, expired on "
        "2026-05-31"
    )


def test_the_policy_can_turn_the_rule_off(root: Path) -> None:
    override_acme(root, "name: shout(Name)")
    append(root, "isthmus.yaml", f"policy:\n  {RULE}: false\n")
    assert found(root) == []
    assert Policy.model_validate({RULE: False}).enabled(RULE) is False


def test_a_write_back_field_calling_a_custom_function_is_reported(root: Path) -> None:
    path = root / API_TEMPLATE
    text = path.read_text(encoding="utf-8")
    old = "Status: upper(status)"
    path.write_text(text.replace(old, "Status: shout(status)"), encoding="utf-8")
    [error] = found(root)
    assert error.location == at(root, API_TEMPLATE, "shout(status)")
    assert error.message.startswith(
        "writeback.targets.contact_status.fields.Status calls the custom function shout()"
    )
    assert "integration 'initech-crm' has no exception" in error.message


def test_a_template_used_by_two_integrations_is_an_error_for_each(root: Path) -> None:
    path = root / "templates/crm-contacts-2.1.0.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name: trim(Name)", "name: shout(Name)"), encoding="utf-8")
    grant(root)
    judged = sorted((d.severity, d.message.split("; ")[1].split(" by ")[0]) for d in found(root))
    assert judged == [
        (Severity.ERROR, f"integration 'globex-crm' has no exception for rule {RULE}"),
        (Severity.INFO, "waived for integration 'acme-crm'"),
    ]
