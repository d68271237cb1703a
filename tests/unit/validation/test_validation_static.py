"""Static validation of a whole project: each broken thing is one located diagnostic with a hint.

Every test starts from the bundled demo project, breaks one thing in its YAML files and runs
``validate_project(load_project(root))``. Line numbers are those of the demo's files
(``src/isthmus/demo/files``); the tests edit them by replacing exact text, so a change to the
demo that moves a line shows up as a failed edit here rather than as a silently wrong position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from isthmus.config import load_project
from isthmus.config.project import Project
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.connectors.registry import SOURCES, ConnectorParts, SourceConnector
from isthmus.demo import DemoProject
from isthmus.diagnostics import Diagnostic, Severity, has_errors
from isthmus.validation import CompiledIntegration, check_for_run, validate_project

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
ACME = "integrations/acme/crm.yaml"
GLOBEX = "integrations/globex/crm.yaml"
CUSTOMER = "core/customer.yaml"


def edit(root: Path, relative: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a project file."""
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{relative} should hold {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def diagnose(root: Path) -> list[Diagnostic]:
    """The errors and warnings (not the demo's note of acme's approved exception)."""
    return [d for d in validate_project(load_project(root)) if d.severity is not Severity.INFO]


def checked_for_run(project: Project, name: str) -> tuple[Any, list[Diagnostic]]:
    """check_for_run's answer, without the demo's note of acme's approved exception."""
    compiled, problems = check_for_run(project, name)
    return compiled, [d for d in problems if d.severity is not Severity.INFO]


def where(diagnostic: Diagnostic, root: Path) -> str:
    """``file:line:col`` of a diagnostic, the file relative to the project folder."""
    location = diagnostic.location
    assert location is not None, f"{diagnostic} has no location"
    return f"{location.file.relative_to(root).as_posix()}:{location.line}:{location.column}"


def summary(diagnostics: list[Diagnostic], root: Path) -> list[tuple[str, str]]:
    return [(d.code, where(d, root)) for d in diagnostics]


def only(diagnostics: list[Diagnostic], root: Path, code: str, at: str) -> Diagnostic:
    """The one diagnostic there is, checked to have ``code`` at ``at``."""
    assert summary(diagnostics, root) == [(code, at)], "\n".join(map(str, diagnostics))
    return diagnostics[0]


def located(diagnostics: list[Diagnostic], root: Path, code: str, at: str) -> Diagnostic:
    """The diagnostic with ``code`` at ``at``, among possibly others."""
    found = [d for d in diagnostics if d.code == code and where(d, root) == at]
    assert len(found) == 1, "\n".join(map(str, diagnostics))
    return found[0]


# --- the project as shipped ------------------------------------------------------------------


def test_unmodified_demo_project_has_only_the_note_of_acmes_exception(demo: DemoProject) -> None:
    assert diagnose(demo.root) == []
    [note] = validate_project(load_project(demo.root))
    assert (note.code, note.severity, where(note, demo.root)) == (
        "schedule-min-interval",
        Severity.INFO,
        "integrations/acme/crm.yaml:11:20",
    )
    assert "waived for integration 'acme-crm' by the exception approved by" in note.message


# --- unknown keys --------------------------------------------------------------------------


def test_unknown_key_in_a_template_is_reported_at_the_key_with_the_close_allowed_key(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, '  schedule: "*/30', '  schedul: "*/30')

    found = located(diagnose(demo.root), demo.root, "unknown-key", f"{TEMPLATE}:69:3")

    assert found.message == "unknown key 'schedul' in sync"
    assert found.hint is not None
    assert found.hint.startswith("did you mean 'schedule'?")
    assert "allowed keys here: schedule, interval, timezone" in found.hint


def test_unknown_key_in_a_template_is_the_only_error_reported(demo: DemoProject) -> None:
    edit(demo.root, TEMPLATE, '  schedule: "*/30', '  schedul: "*/30')

    only(diagnose(demo.root), demo.root, "unknown-key", f"{TEMPLATE}:69:3")


def test_unknown_key_in_an_integration_is_the_only_error_with_a_did_you_mean_hint(
    demo: DemoProject,
) -> None:
    edit(demo.root, ACME, "tenant: acme\n", "tenant: acme\ntennant: acme\n")

    found = only(diagnose(demo.root), demo.root, "unknown-key", f"{ACME}:3:1")

    assert "'tennant'" in found.message
    assert found.hint is not None
    assert found.hint.startswith("did you mean 'tenant'?")


def test_unknown_key_in_a_core_entity_is_reported_at_the_key_with_the_close_allowed_key(
    demo: DemoProject,
) -> None:
    edit(
        demo.root,
        CUSTOMER,
        "  phone: {type: string, pii: true}",
        "  phone: {type: string, pii: true, maxlength: 20}",
    )

    found = located(diagnose(demo.root), demo.root, "unknown-key", f"{CUSTOMER}:14:36")

    assert found.message == "unknown key 'maxlength' in fields.phone"
    assert found.hint is not None
    assert found.hint.startswith("did you mean 'max_length'?")


def test_unknown_key_in_a_core_entity_is_the_only_error_reported(demo: DemoProject) -> None:
    edit(
        demo.root,
        CUSTOMER,
        "  phone: {type: string, pii: true}",
        "  phone: {type: string, pii: true, maxlength: 20}",
    )

    only(diagnose(demo.root), demo.root, "unknown-key", f"{CUSTOMER}:14:36")


# --- files that do not load -----------------------------------------------------------------


def test_yaml_syntax_error_points_at_the_offending_character(demo: DemoProject) -> None:
    edit(demo.root, ACME, "tenant: acme\n", "tenant: acme: x\n")

    found = only(diagnose(demo.root), demo.root, "yaml-syntax", f"{ACME}:2:13")

    assert "mapping values are not allowed here" in found.message
    assert found.hint == "check the indentation and quoting on this line and the one before it"


def test_missing_top_level_key_is_reported_at_the_start_of_the_file(demo: DemoProject) -> None:
    edit(demo.root, ACME, "owner: {team: onboarding, contact: onboarding@example.com}\n", "")

    found = only(diagnose(demo.root), demo.root, "missing-key", f"{ACME}:1:1")

    assert found.message == "required key 'owner' is missing in the file"
    assert found.hint == "add 'owner'; see the README for an example"


def test_missing_nested_key_is_reported_at_the_key_that_lacks_it(demo: DemoProject) -> None:
    edit(
        demo.root,
        ACME,
        "owner: {team: onboarding, contact: onboarding@example.com}",
        "owner: {team: onboarding}",
    )

    found = only(diagnose(demo.root), demo.root, "missing-key", f"{ACME}:5:1")

    assert found.message == "required key 'contact' is missing in owner"
    assert found.hint == "add 'contact'; see the README for an example"


# --- templates ------------------------------------------------------------------------------


def test_unknown_template_names_the_integration_and_lists_the_templates(
    demo: DemoProject,
) -> None:
    edit(demo.root, ACME, "template: crm-contacts@^2", "template: crm-contact@^2")

    found = only(diagnose(demo.root), demo.root, "unknown-template", f"{ACME}:3:11")

    assert "integration 'acme-crm'" in found.message
    assert "'crm-contact'" in found.message
    assert found.hint == "templates in this project: crm-api, crm-contacts"


def test_version_range_no_template_matches_lists_the_versions_present(
    demo: DemoProject,
) -> None:
    edit(demo.root, ACME, "template: crm-contacts@^2", "template: crm-contacts@^3")

    found = only(diagnose(demo.root), demo.root, "no-matching-template-version", f"{ACME}:3:11")

    assert found.message == "no version of template 'crm-contacts' matches ^3"
    assert found.hint == "versions present: 2.1.0"


# --- mappings -------------------------------------------------------------------------------


def test_mapping_to_an_unknown_entity_suggests_the_close_entity(demo: DemoProject) -> None:
    edit(demo.root, TEMPLATE, "    entity: customer", "    entity: customers")

    found = only(diagnose(demo.root), demo.root, "unknown-entity", f"{TEMPLATE}:49:13")

    assert "mapping 'contacts'" in found.message
    assert "'customers'" in found.message
    assert found.hint == "did you mean 'customer'?"


def test_mapping_reading_an_unknown_stream_suggests_the_close_stream(demo: DemoProject) -> None:
    edit(demo.root, TEMPLATE, "    stream: contacts", "    stream: contact")

    found = only(diagnose(demo.root), demo.root, "unknown-stream", f"{TEMPLATE}:48:13")

    assert "mapping 'contacts'" in found.message
    assert "'contact'" in found.message
    assert found.hint == "did you mean 'contacts'?"


def test_unknown_function_is_located_at_the_call_inside_the_expression(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "email: lower(trim(Email))", "email: lower(trimm(Email))")

    # Line 55 is `      email: lower(trimm(Email))`: the value starts at column 14 and the
    # inner call six characters later.
    found = only(diagnose(demo.root), demo.root, "unknown-function", f"{TEMPLATE}:55:20")

    assert found.message == "unknown function 'trimm'"
    assert found.hint is not None
    assert found.hint.startswith("did you mean trim?")


def test_problem_on_the_first_line_of_a_folded_expression_is_located_in_it(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "lookup(trim(Status)", "lookup(trimm(Status)")

    # The `status: >-` block starts on line 60 at column 9; `trimm` is seven characters in.
    found = only(diagnose(demo.root), demo.root, "unknown-function", f"{TEMPLATE}:60:16")

    assert found.message == "unknown function 'trimm'"


def test_problem_on_a_later_line_of_a_folded_expression_is_located_on_that_line(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "ignore_case=True)", "ignorecase=True)")
    line = (demo.root / TEMPLATE).read_text(encoding="utf-8").splitlines()[61]

    found = only(
        diagnose(demo.root),
        demo.root,
        "bad-arguments",
        f"{TEMPLATE}:62:{line.index('ignorecase') + 1}",
    )

    assert "'ignorecase'" in found.message


def test_mapping_an_undeclared_core_field_is_reported_at_its_key(demo: DemoProject) -> None:
    edit(demo.root, TEMPLATE, "      phone: Phone", "      phones: Phone")

    found = only(diagnose(demo.root), demo.root, "unknown-core-field", f"{TEMPLATE}:56:7")

    assert "customer.phones" in found.message
    assert found.hint == "did you mean 'phone'?"


def test_required_core_field_left_unmapped_is_reported_at_the_mapping_fields(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "      full_name: \"trim(concat(FirstName, ' ', LastName))\"\n", "")

    found = only(diagnose(demo.root), demo.root, "required-field-unmapped", f"{TEMPLATE}:52:5")

    assert "customer.full_name" in found.message
    assert "mapping 'contacts'" in found.message
    assert found.hint == "add a mapping for full_name under fields"


def test_string_mapped_into_a_float_field_is_a_type_mismatch_hinting_the_conversion(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "lead_score: to_float(LeadScore)", "lead_score: LeadScore")

    found = only(diagnose(demo.root), demo.root, "type-mismatch", f"{TEMPLATE}:58:19")

    assert found.message == "customer.lead_score is float, but 'LeadScore' is string"
    assert found.hint is not None
    assert "to_float(LeadScore)" in found.hint


def test_undeclared_source_field_in_an_expression_is_located_at_the_name(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "      phone: Phone", "      phone: Phon")

    found = only(diagnose(demo.root), demo.root, "undeclared-source-field", f"{TEMPLATE}:56:14")

    assert "'Phon'" in found.message
    assert found.hint is not None
    assert found.hint.startswith("did you mean Phone?")


def test_undeclared_nested_source_field_is_located_at_the_nested_name(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "account_id: Account.Id\n", "account_id: Account.Idd\n")

    # `      account_id: Account.Idd`: the value starts at column 19, `Idd` eight further.
    found = only(diagnose(demo.root), demo.root, "undeclared-source-field", f"{TEMPLATE}:57:27")

    assert "'Account.Idd'" in found.message
    assert found.hint is not None
    assert found.hint.startswith("did you mean Account.Id?")


def test_stream_primary_key_missing_from_its_schema_is_an_undeclared_source_field(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "    primary_key: Id\n    cursor", "    primary_key: Ids\n    cursor")

    found = only(diagnose(demo.root), demo.root, "undeclared-source-field", f"{TEMPLATE}:22:18")

    assert "stream 'contacts'" in found.message
    assert "'Ids'" in found.message
    assert found.hint == "did you mean 'Id'?"


def test_mapping_the_tenant_key_is_refused_at_its_key(demo: DemoProject) -> None:
    edit(
        demo.root,
        TEMPLATE,
        "      customer_id: Id\n",
        "      customer_id: Id\n      tenant_id: Id\n",
    )

    found = only(diagnose(demo.root), demo.root, "tenant-key-mapped", f"{TEMPLATE}:54:7")

    assert "customer.tenant_id is the tenant key" in found.message
    assert found.hint == "remove the mapping of tenant_id"


# --- connectors -----------------------------------------------------------------------------


def test_unknown_connector_lists_the_registered_connectors(demo: DemoProject) -> None:
    edit(demo.root, TEMPLATE, "  connector: file", "  connector: ftp")

    found = only(diagnose(demo.root), demo.root, "unknown-connector", f"{TEMPLATE}:11:14")

    assert found.message == "source connector 'ftp' does not exist"
    assert found.hint == f"connectors: {', '.join(sorted(SOURCES))}"


def test_unknown_source_option_is_checked_against_the_connector_options_model(
    demo: DemoProject,
) -> None:
    edit(demo.root, TEMPLATE, "options: {format: auto}", "options: {format: auto, encodng: x}")

    found = only(diagnose(demo.root), demo.root, "unknown-key", f"{TEMPLATE}:12:27")

    assert found.message == "unknown key 'encodng' in source.options"
    assert found.hint == "allowed keys here: format, csv"


def test_unknown_stream_option_is_checked_against_the_connector_stream_model(
    demo: DemoProject,
) -> None:
    edit(
        demo.root,
        TEMPLATE,
        "    path: contacts.jsonl\n",
        "    path: contacts.jsonl\n    compression: gzip\n",
    )

    found = only(diagnose(demo.root), demo.root, "unknown-key", f"{TEMPLATE}:22:5")

    assert found.message == "unknown key 'compression' in streams.contacts"
    assert found.hint == "allowed keys here: path, incremental"


def test_unknown_connection_option_is_checked_against_the_connector_connection_model(
    demo: DemoProject,
) -> None:
    edit(demo.root, ACME, "  root: data/acme\n", "  root: data/acme\n  host: crm.example\n")

    found = only(diagnose(demo.root), demo.root, "unknown-key", f"{ACME}:10:3")

    assert found.message == "unknown key 'host' in connection"
    assert found.hint == "allowed keys here: root"


# --- secrets --------------------------------------------------------------------------------


class TokenFileOptions(FileOptions):
    """The file source's options plus a credential, as a connector behind a login would have."""

    token: str = Field(description="A credential, written as a secret reference.")


@pytest.fixture
def token_connector(monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered connector whose options take a token, for as long as one test runs."""
    name = "token-file"
    monkeypatch.setitem(
        SOURCES,
        name,
        SourceConnector(
            name,
            "Files behind a token.",
            lambda: ConnectorParts(TokenFileOptions, FileConnection, FileSource, FileStream),
        ),
    )
    return name


def use_token_connector(root: Path, connector: str) -> None:
    edit(root, TEMPLATE, "  connector: file", f"  connector: {connector}")
    edit(
        root,
        TEMPLATE,
        "options: {format: auto}",
        'options: {format: auto, token: "${secret:crm_token}"}',
    )


def test_secret_used_in_source_options_but_not_bound_names_template_file_and_integration(
    demo: DemoProject, token_connector: str
) -> None:
    use_token_connector(demo.root, token_connector)
    edit(
        demo.root,
        GLOBEX,
        "  root: data/globex\n",
        "  root: data/globex\n  secrets: {crm_token: env:T}\n",
    )

    # Acme has no `secrets:`, so the diagnostic points at its `connection:` key.
    found = only(diagnose(demo.root), demo.root, "unbound-secret", f"{ACME}:8:1")

    assert str(demo.root / TEMPLATE) in found.message
    assert "template crm-contacts 2.1.0" in found.message
    assert "secret 'crm_token'" in found.message
    assert "integration 'acme-crm'" in found.message
    assert found.hint == "add under connection.secrets: crm_token: env:VARIABLE (or file:PATH)"


def test_secret_bound_but_never_used_is_only_a_warning_at_the_binding(demo: DemoProject) -> None:
    edit(
        demo.root,
        ACME,
        "  root: data/acme\n",
        "  root: data/acme\n  secrets: {crm_token: env:ACME_CRM_TOKEN}\n",
    )

    diagnostics = diagnose(demo.root)
    found = only(diagnostics, demo.root, "unused-secret", f"{ACME}:10:13")

    assert found.severity is Severity.WARNING
    assert not has_errors(diagnostics)
    assert "integration 'acme-crm'" in found.message
    assert "'crm_token'" in found.message
    assert found.hint == "remove the binding"


def test_a_warning_alone_does_not_stop_check_for_run(demo: DemoProject) -> None:
    edit(
        demo.root,
        ACME,
        "  root: data/acme\n",
        "  root: data/acme\n  secrets: {crm_token: env:ACME_CRM_TOKEN}\n",
    )

    compiled, problems = checked_for_run(load_project(demo.root), "acme-crm")

    assert isinstance(compiled, CompiledIntegration)
    assert [p.code for p in problems] == ["unused-secret"]


# --- overrides and several problems at once -------------------------------------------------


def test_problem_inside_an_override_points_at_the_integration_override_line(
    demo: DemoProject,
) -> None:
    edit(
        demo.root,
        GLOBEX,
        "    contacts: {path: contacts.csv}\n",
        "    contacts: {path: contacts.csv}\n"
        "  mappings:\n"
        "    contacts:\n"
        "      fields:\n"
        "        phone: Phon\n",
    )

    # Line 18 of the integration is `        phone: Phon`; acme, without the override, is fine.
    found = only(diagnose(demo.root), demo.root, "undeclared-source-field", f"{GLOBEX}:18:16")

    assert "'Phon'" in found.message


def test_override_removing_a_required_field_points_at_the_override_fields_key(
    demo: DemoProject,
) -> None:
    edit(
        demo.root,
        GLOBEX,
        "    contacts: {path: contacts.csv}\n",
        "    contacts: {path: contacts.csv}\n"
        "  mappings:\n"
        "    contacts:\n"
        "      fields:\n"
        "        full_name: null\n",
    )

    found = only(diagnose(demo.root), demo.root, "required-field-unmapped", f"{GLOBEX}:17:7")

    assert "customer.full_name" in found.message


def test_unknown_key_inside_an_override_points_at_the_override_line(demo: DemoProject) -> None:
    edit(
        demo.root,
        GLOBEX,
        "    contacts: {path: contacts.csv}\n",
        "    contacts: {path: contacts.csv}\n  mappings:\n    contacts:\n      fieldz: {a: b}\n",
    )

    found = only(diagnose(demo.root), demo.root, "unknown-key", f"{GLOBEX}:17:7")

    assert found.message == "unknown key 'fieldz' in mappings.contacts"
    assert found.hint is not None
    assert found.hint.startswith("did you mean 'fields'?")


def test_problems_in_different_files_are_all_reported_in_one_call_in_file_order(
    demo: DemoProject,
) -> None:
    edit(
        demo.root,
        CUSTOMER,
        "lead_score: {type: float, min: 0, max: 100,",
        "lead_score: {type: float, min: 0, max: 100, max_length: 3,",
    )
    edit(demo.root, ACME, "  root: data/acme\n", "  root: data/acme\n  host: crm.example\n")
    edit(demo.root, TEMPLATE, "lead_score: to_float(LeadScore)", "lead_score: LeadScore")

    # The template's problem is found through both integrations but reported once.
    assert summary(diagnose(demo.root), demo.root) == [
        ("constraint-type-mismatch", f"{CUSTOMER}:19:47"),
        ("unknown-key", f"{ACME}:10:3"),
        ("type-mismatch", f"{TEMPLATE}:58:19"),
    ]


# --- check_for_run --------------------------------------------------------------------------


def list_contacts_mapping_first(root: Path) -> None:
    path = root / TEMPLATE
    text = path.read_text(encoding="utf-8")
    accounts = text[text.index("  accounts:\n    stream:") : text.index("  contacts:\n    stream:")]
    contacts = text[text.index("  contacts:\n    stream:") : text.index("sync:\n")]
    path.write_text(text.replace(accounts + contacts, contacts + accounts), encoding="utf-8")


def test_check_for_run_orders_mappings_by_reference_not_declaration(demo: DemoProject) -> None:
    list_contacts_mapping_first(demo.root)

    compiled, problems = checked_for_run(load_project(demo.root), "acme-crm")

    assert problems == []
    assert isinstance(compiled, CompiledIntegration)
    assert list(compiled.resolved.template.mappings) == ["contacts", "accounts"]
    assert [m.name for m in compiled.mappings] == ["accounts", "contacts"]
    assert compiled.mappings[1].depends_on == frozenset({"accounts"})
    assert compiled.mappings[0].depends_on == frozenset()


def test_check_for_run_keeps_declared_order_when_mappings_are_independent(
    demo: DemoProject,
) -> None:
    list_contacts_mapping_first(demo.root)
    edit(demo.root, TEMPLATE, "      account_id: Account.Id\n", "")

    compiled, problems = checked_for_run(load_project(demo.root), "acme-crm")

    assert problems == []
    assert compiled is not None
    assert [m.name for m in compiled.mappings] == ["contacts", "accounts"]


def test_check_for_run_returns_none_and_the_errors_of_an_invalid_integration(
    demo: DemoProject,
) -> None:
    edit(demo.root, ACME, "  root: data/acme\n", "  root: data/acme\n  host: crm.example\n")
    project = load_project(demo.root)

    compiled, problems = checked_for_run(project, "acme-crm")
    other, other_problems = checked_for_run(project, "globex-crm")

    assert compiled is None
    assert summary(problems, demo.root) == [("unknown-key", f"{ACME}:10:3")]
    assert isinstance(other, CompiledIntegration)
    assert other_problems == []


def test_check_for_run_returns_none_when_the_core_model_is_invalid(demo: DemoProject) -> None:
    edit(
        demo.root,
        CUSTOMER,
        "lead_score: {type: float, min: 0, max: 100,",
        "lead_score: {type: float, min: 0, max: 100, max_length: 3,",
    )

    compiled, problems = checked_for_run(load_project(demo.root), "acme-crm")

    assert summary(problems, demo.root) == [("constraint-type-mismatch", f"{CUSTOMER}:19:47")]
    assert compiled is None
