"""Static checks of field mappings beyond their types: values a field can never store, keys a
mapping may leave empty, and conversions that lose information.

Each test breaks one thing in a copy of the demo project and asserts the one diagnostic
``validate_project`` then reports: code, severity, ``file:line:col``, message and hint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from isthmus.config import load_project
from isthmus.demo import create_demo_project
from isthmus.diagnostics import Diagnostic, Severity
from isthmus.validation import check_for_run, validate_project
from support_diagnostics import position_of

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
API_TEMPLATE = "templates/crm-api-1.0.0.yaml"
CUSTOMER = "core/customer.yaml"
ACME = "integrations/acme/crm.yaml"
STATUS = """      status: >-
        lookup(trim(Status), {'active': 'active', 'customer': 'active',
        'inactive': 'inactive', 'prospect': 'prospect', 'lead': 'prospect',
        'churned': 'churned', 'former customer': 'churned'}, ignore_case=True)
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo_project(tmp_path_factory.mktemp("static") / "demo").root


@pytest.fixture
def root(base: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo project."""
    return Path(shutil.copytree(base, tmp_path / "demo"))


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{relative} should hold {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def diagnose(root: Path) -> list[Diagnostic]:
    """Errors and warnings (not the demo's note of acme's approved exception)."""
    return [d for d in validate_project(load_project(root)) if d.severity is not Severity.INFO]


def at(root: Path, relative: str, needle: str, offset: int = 0) -> str:
    """``file:line:col`` of the one ``needle`` in a project file."""
    line, column = position_of((root / relative).read_text(encoding="utf-8"), needle, offset)
    return f"{relative}:{line}:{column}"


def only(root: Path, code: str, where: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    """The one diagnostic there is, checked to have this code, place and severity."""
    found = diagnose(root)
    summary = [(d.code, d.severity, _where(d, root)) for d in found]
    assert summary == [(code, severity, where)], "\n".join(map(str, found))
    return found[0]


def _where(diagnostic: Diagnostic, root: Path) -> str:
    location = diagnostic.location
    assert location is not None
    return f"{location.file.relative_to(root).as_posix()}:{location.line}:{location.column}"


# --- enum --------------------------------------------------------------------------------------


def test_a_lookup_value_outside_the_enum_is_an_error_at_that_value(root: Path) -> None:
    edit(root, TEMPLATE, "'former customer': 'churned'}", "'former customer': 'closed'}")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'closed'"))

    assert found.message == (
        "customer.status allows only active, inactive, prospect, churned, but this mapping "
        "gives the lookup() value 'closed', which is not among them"
    )
    assert found.hint == (
        "map to one of active, inactive, prospect, churned, or add 'closed' to the enum of "
        "customer.status in the core model"
    )


def test_several_values_outside_the_enum_are_named_in_one_error_at_the_first(
    root: Path,
) -> None:
    edit(root, TEMPLATE, "'lead': 'prospect'", "'lead': 'lead'")
    edit(root, TEMPLATE, "ignore_case=True)\n      opt_out", "default='gone')\n      opt_out")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'lead': 'lead'", 8))

    assert "gives the values 'lead', 'gone', which are not among them" in found.message
    assert found.hint is not None
    assert "add 'lead', 'gone' to the enum" in found.hint


def test_a_lookup_default_outside_the_enum_is_an_error_at_the_default(root: Path) -> None:
    edit(root, TEMPLATE, "ignore_case=True)\n      opt_out", "default='unknown')\n      opt_out")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'unknown'"))

    assert "gives the lookup() default 'unknown', which is not among them" in found.message


def test_a_constant_outside_the_enum_is_an_error_at_the_constant(root: Path) -> None:
    edit(root, TEMPLATE, STATUS, "      status: \"'gone'\"\n")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'gone'"))

    assert "gives the constant 'gone', which is not among them" in found.message


def test_a_constant_candidate_of_coalesce_outside_the_enum_is_an_error(root: Path) -> None:
    edit(root, TEMPLATE, STATUS, "      status: coalesce(lower(Status), 'unknown')\n")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'unknown'"))

    assert "gives the constant 'unknown'" in found.message


def test_a_constant_branch_outside_the_enum_is_an_error(root: Path) -> None:
    edit(root, TEMPLATE, STATUS, "      status: \"'active' if OptOut else 'gone'\"\n")

    found = only(root, "value-not-in-enum", at(root, TEMPLATE, "'gone'"))

    assert "gives the constant 'gone'" in found.message


def test_values_from_the_source_and_values_inside_the_enum_are_not_reported(root: Path) -> None:
    edit(root, TEMPLATE, STATUS, "      status: coalesce(lower(Status), 'prospect')\n")

    assert diagnose(root) == []


# --- other constraints -------------------------------------------------------------------------


def test_a_constant_that_never_matches_the_pattern_is_an_error_naming_pattern_and_value(
    root: Path,
) -> None:
    edit(root, TEMPLATE, "email: lower(trim(Email))", "email: \"'nobody'\"")

    found = only(root, "constant-violates-constraint", at(root, TEMPLATE, "'nobody'"))

    assert found.message == (
        "customer.email: the constant 'nobody' does not match the pattern "
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$ (pattern), so every row given it would be quarantined"
    )
    assert found.hint == "change the value, or the pattern of customer.email in the core model"


def test_a_concat_of_literals_is_computed_and_checked(root: Path) -> None:
    edit(root, TEMPLATE, "email: lower(trim(Email))", "email: concat('no', 'body')")

    found = only(root, "constant-violates-constraint", at(root, TEMPLATE, "concat('no'"))

    assert found.message.startswith("customer.email: the value 'nobody' does not match")


def test_a_constant_longer_than_max_length_is_an_error_naming_the_length(root: Path) -> None:
    long = "x" * 201
    edit(
        root,
        TEMPLATE,
        "full_name: \"trim(concat(FirstName, ' ', LastName))\"",
        f"full_name: \"'{long}'\"",
    )

    found = only(root, "constant-violates-constraint", at(root, TEMPLATE, f"'{long}'"))

    shown = f"'{'x' * 54}…' (201 characters)"  # long values are cut short in messages
    assert found.message == (
        f"customer.full_name: the constant {shown} is longer than 200 characters "
        "(max_length), so every row given it would be quarantined"
    )


def test_a_constant_above_the_maximum_is_an_error(root: Path) -> None:
    edit(root, TEMPLATE, "lead_score: to_float(LeadScore)", "lead_score: 150")

    found = only(root, "constant-violates-constraint", at(root, TEMPLATE, "150"))

    assert "the constant 150 is above the maximum 100 (max)" in found.message


def test_an_empty_text_constant_in_a_required_field_is_an_error(root: Path) -> None:
    edit(
        root,
        TEMPLATE,
        "full_name: \"trim(concat(FirstName, ' ', LastName))\"",
        "full_name: \"''\"",
    )

    found = only(root, "constant-violates-constraint", at(root, TEMPLATE, "''"))

    assert "the constant '' is required but has no value (required)" in found.message


def test_a_constant_that_meets_every_constraint_is_not_reported(root: Path) -> None:
    edit(root, TEMPLATE, "email: lower(trim(Email))", "email: \"'nobody@example.com'\"")

    assert diagnose(root) == []


def test_a_constant_from_an_integration_override_is_located_in_the_integration(
    root: Path,
) -> None:
    edit(
        root,
        ACME,
        'overrides:\n  sync: {schedule: "*/10 * * * *"}\n',
        'overrides:\n  sync: {schedule: "*/10 * * * *"}\n'
        "  mappings: {contacts: {fields: {status: \"'gone'\"}}}\n",
    )

    found = only(root, "value-not-in-enum", at(root, ACME, "'gone'"))

    assert "gives the constant 'gone'" in found.message


# --- primary keys that may be null -------------------------------------------------------------


def test_a_key_field_from_a_field_records_may_lack_is_a_warning(root: Path) -> None:
    edit(root, TEMPLATE, "customer_id: Id", "customer_id: lower(Email)")

    found = only(
        root, "key-may-be-null", at(root, TEMPLATE, "lower(Email)"), severity=Severity.WARNING
    )

    assert found.message == (
        "customer.customer_id is part of the primary key, but 'lower(Email)' may be null: "
        "source field Email may be missing from a record; rows without a key would be "
        "quarantined"
    )
    assert found.hint == (
        "map it from a field every record has, such as the stream's primary key Id, or accept "
        "that such records are quarantined"
    )


def test_a_key_field_from_a_conversion_that_can_fail_is_a_warning(root: Path) -> None:
    edit(root, TEMPLATE, "customer_id: Id", "customer_id: to_string(to_int(Id))")

    found = only(
        root, "key-may-be-null", at(root, TEMPLATE, "to_string("), severity=Severity.WARNING
    )

    assert "to_int(Id) gives null for a value it cannot handle" in found.message


@pytest.mark.parametrize(
    "expression", ["Id", "concat('c-', Email)", "coalesce(Email, Id)", "upper(trim(Id))"]
)
def test_a_key_field_that_is_never_null_is_not_reported(root: Path, expression: str) -> None:
    edit(root, TEMPLATE, "customer_id: Id", f'customer_id: "{expression}"')

    assert diagnose(root) == []


def test_without_a_stream_primary_key_the_hint_asks_to_declare_one(root: Path) -> None:
    edit(root, TEMPLATE, "    primary_key: Id\n    cursor:", "    cursor:")

    found = only(
        root, "key-may-be-null", at(root, TEMPLATE, "customer_id: Id", 13), Severity.WARNING
    )

    assert found.hint == (
        "declare the stream's primary_key, the source field every record has, and map the key "
        "from it, or accept that such records are quarantined"
    )


# --- conversions that lose information ---------------------------------------------------------


def add_integer_field(root: Path, expression: str) -> None:
    """Give customers an integer field ``rank`` and map it in the file template."""
    edit(root, CUSTOMER, "  opt_out:", "  rank: {type: integer}\n  opt_out:")
    edit(root, TEMPLATE, "      opt_out:", f"      rank: {expression}\n      opt_out:")


def test_a_float_into_an_integer_field_is_a_warning_and_runs_as_to_int(root: Path) -> None:
    add_integer_field(root, "to_float(LeadScore)")

    found = only(
        root,
        "lossy-conversion",
        at(root, TEMPLATE, "to_float(LeadScore)\n      opt_out"),
        Severity.WARNING,
    )

    assert found.message == (
        "'to_float(LeadScore)' is float, stored in the integer field customer.rank: converted "
        "as to_int(to_float(LeadScore)), which rejects values with a fraction"
    )
    assert found.hint == (
        "write the conversion yourself to make it explicit: to_int(to_float(LeadScore))"
    )
    compiled, _ = check_for_run(load_project(root), "acme-crm")
    assert compiled is not None
    [contacts] = [m for m in compiled.mappings if m.name == "contacts"]
    rank = contacts.fields["rank"]
    assert rank.text == "to_int(to_float(LeadScore))"
    frame = pl.DataFrame({"LeadScore": ["42", "1.5", None]})
    assert frame.select(rank.expr).to_series().to_list() == [42, None, None]
    assert [f.function for f in rank.failures] == ["to_float", "to_int"]


def test_an_explicit_conversion_gives_no_warning(root: Path) -> None:
    add_integer_field(root, "to_int(to_float(LeadScore))")

    assert diagnose(root) == []


def test_an_integer_into_a_float_field_is_silent(root: Path) -> None:
    edit(root, TEMPLATE, "lead_score: to_float(LeadScore)", "lead_score: to_int(LeadScore)")

    assert diagnose(root) == []


def test_a_float_constant_into_an_integer_field_is_a_warning(root: Path) -> None:
    add_integer_field(root, "2.0")

    found = only(root, "lossy-conversion", at(root, TEMPLATE, "2.0"), Severity.WARNING)

    assert "converted as to_int(2.0), which rejects values with a fraction" in found.message


def test_a_timestamp_into_a_date_field_is_a_warning(root: Path) -> None:
    edit(root, CUSTOMER, "  opt_out:", "  since: {type: date}\n  opt_out:")
    edit(
        root,
        TEMPLATE,
        "      opt_out:",
        "      since: parse_timestamp(CreatedDate)\n      opt_out:",
    )

    found = only(
        root,
        "lossy-conversion",
        at(root, TEMPLATE, "parse_timestamp(CreatedDate)\n      opt_out"),
        Severity.WARNING,
    )

    assert found.message == (
        "'parse_timestamp(CreatedDate)' is timestamp, stored in the date field customer.since: "
        "converted as to_date(parse_timestamp(CreatedDate)), which keeps the UTC date and "
        "drops the time"
    )


@pytest.mark.parametrize(
    ("value_type", "field_type", "function", "loss"),
    [
        ("to_decimal(LeadScore)", "integer", "to_int", "which rejects values with a fraction"),
        ("to_decimal(LeadScore)", "float", "to_float", "which rounds to the nearest float"),
        (
            "to_float(LeadScore)",
            "decimal",
            "to_decimal",
            "which rounds to 9 decimal places and rejects values of 10^29 or more",
        ),
    ],
)
def test_decimal_and_float_conversions_that_lose_precision_are_warnings(
    root: Path, value_type: str, field_type: str, function: str, loss: str
) -> None:
    edit(root, CUSTOMER, "  opt_out:", f"  amount: {{type: {field_type}}}\n  opt_out:")
    edit(root, TEMPLATE, "      opt_out:", f"      amount: {value_type}\n      opt_out:")

    found = only(
        root,
        "lossy-conversion",
        at(root, TEMPLATE, f"{value_type}\n      opt_out"),
        Severity.WARNING,
    )

    assert f"converted as {function}({value_type}), {loss}" in found.message


def test_text_into_an_integer_field_stays_a_type_mismatch(root: Path) -> None:
    add_integer_field(root, "LeadScore")

    found = only(root, "type-mismatch", at(root, TEMPLATE, "LeadScore\n      opt_out"))

    assert found.message == "customer.rank is integer, but 'LeadScore' is string"
    assert found.hint == "convert it: to_int(LeadScore)"
