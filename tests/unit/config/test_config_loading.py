"""Loading a project folder: every file read, every problem a located diagnostic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.config.errors import ProjectError, ProjectNotFoundError
from isthmus.config.project import Project
from isthmus.config.versions import Version
from isthmus.diagnostics import Diagnostic, Location

WriteFiles = Callable[[dict[str, str]], Path]

PROJECT = """\
project: demo
core:
  database: sqlite:///core.db
state:
  database: sqlite:///state.db
"""

CUSTOMER = """\
entity: customer
tenant_key: tenant_id
primary_key: [tenant_id, customer_id]
fields:
  customer_id: {type: string, required: true}
  email: {type: string, pii: true}
"""

TEMPLATE = """\
template: crm-contacts
version: 2.1.0
description: Contacts from a CRM's export files.
owner: {team: integrations-core, contact: integrations@example.com}
source:
  connector: file
  options: {format: auto}
streams:
  contacts:
    path: contacts.jsonl
    primary_key: Id
    schema: {Id: string, Email: string}
mappings:
  contacts:
    stream: contacts
    entity: customer
    fields:
      customer_id: Id
      email: lower(Email)
"""

INTEGRATION = """\
integration: acme-crm
tenant: acme
template: crm-contacts@^2
owner: {team: onboarding, contact: ops@example.com}
escalation:
  - {after: 1h, team: integrations-core, contact: oncall@example.com}
connection:
  root: data/acme
"""

PROJECT_PATH = "isthmus.yaml"
CUSTOMER_PATH = "core/customer.yaml"
TEMPLATE_PATH = "templates/crm-contacts-2.1.0.yaml"
INTEGRATION_PATH = "integrations/acme/crm.yaml"

BASE = {
    PROJECT_PATH: PROJECT,
    CUSTOMER_PATH: CUSTOMER,
    TEMPLATE_PATH: TEMPLATE,
    INTEGRATION_PATH: INTEGRATION,
}


def load_files(write_files: WriteFiles, files: dict[str, str]) -> tuple[Project, Path]:
    root = write_files({**BASE, **files})
    return load_project(root), root


def only(project: Project) -> Diagnostic:
    assert len(project.diagnostics) == 1, [str(d) for d in project.diagnostics]
    return project.diagnostics[0]


# --- a valid project ----------------------------------------------------------------------


def test_a_valid_project_loads_every_file_kind_without_diagnostics(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(write_files, {})
    assert project.diagnostics == []
    assert project.root == root
    assert project.settings is not None
    assert project.settings.model.project == "demo"
    assert project.settings.model.core.manage_schema is True
    assert list(project.entities) == ["customer"]
    assert project.entities["customer"].model.column_names == ["tenant_id", "customer_id", "email"]
    assert list(project.templates) == ["crm-contacts"]
    assert list(project.templates["crm-contacts"]) == [Version(2, 1, 0)]
    assert list(project.integrations) == ["acme-crm"]
    assert set(project.documents) == {root / p for p in BASE}


def test_connector_options_sit_beside_the_declared_keys_of_streams_and_connections(
    write_files: WriteFiles,
) -> None:
    project, _ = load_files(write_files, {})
    template = project.templates["crm-contacts"][Version(2, 1, 0)].model
    stream = template.streams["contacts"]
    assert stream.connector_options == {"path": "contacts.jsonl"}
    assert stream.primary_key == "Id"
    assert set(stream.schema_types) == {"Id", "Email"}
    assert template.source.connector == "file"
    integration = project.integrations["acme-crm"].model
    assert integration.connection.connector_options == {"root": "data/acme"}
    assert integration.template_name == "crm-contacts"
    assert integration.template_range == "^2"


def test_a_loaded_model_keeps_the_document_it_was_read_from(write_files: WriteFiles) -> None:
    project, root = load_files(write_files, {})
    loaded = project.integrations["acme-crm"]
    assert loaded.document.path == root / INTEGRATION_PATH
    assert loaded.document.location(("tenant",)) == Location(root / INTEGRATION_PATH, 2, 9)


def test_yml_files_and_any_folder_depth_load_and_other_files_are_ignored(
    write_files: WriteFiles,
) -> None:
    other = INTEGRATION.replace("acme-crm", "globex-crm").replace("tenant: acme", "tenant: globex")
    project, _ = load_files(
        write_files,
        {
            "integrations/eu/globex/crm.yml": other,
            "integrations/README.md": "not: [yaml",
            "templates/notes.txt": "- not a template",
        },
    )
    assert project.diagnostics == []
    assert sorted(project.integrations) == ["acme-crm", "globex-crm"]


def test_a_project_without_core_templates_or_integrations_folders_loads_empty(
    write_files: WriteFiles,
) -> None:
    project = load_project(write_files({PROJECT_PATH: PROJECT}))
    assert project.diagnostics == []
    assert project.settings is not None
    assert (project.entities, project.templates, project.integrations) == ({}, {}, {})


# --- not a project ------------------------------------------------------------------------


def test_a_folder_without_isthmus_yaml_raises_project_not_found_naming_it(
    write_files: WriteFiles,
) -> None:
    root = write_files({CUSTOMER_PATH: CUSTOMER})
    with pytest.raises(ProjectNotFoundError) as caught:
        load_project(root)
    error = caught.value
    assert isinstance(error, ProjectError)
    assert error.message == (
        f"no isthmus.yaml in {root.resolve()}: this folder is not an isthmus project"
    )
    assert error.hint is not None
    assert "--project" in error.hint
    assert str(error) == f"{error.message}\nhint: {error.hint}"


def test_a_folder_named_isthmus_yaml_is_not_a_project_file(tmp_path: Path) -> None:
    (tmp_path / "isthmus.yaml").mkdir()
    with pytest.raises(ProjectNotFoundError, match="this folder is not an isthmus project"):
        load_project(tmp_path)


# --- unknown keys -------------------------------------------------------------------------

UNKNOWN_KEY_CASES = [
    pytest.param(
        PROJECT_PATH,
        PROJECT.replace("  database: sqlite:///core.db\n", "  database: x\n  manage_schma: no\n"),
        "unknown key 'manage_schma' in core",
        (4, 3),
        "did you mean 'manage_schema'? (allowed keys here: database, manage_schema)",
        id="project",
    ),
    pytest.param(
        CUSTOMER_PATH,
        CUSTOMER.replace("required: true", "requried: true"),
        "unknown key 'requried' in fields.customer_id",
        (5, 31),
        "did you mean 'required'? (allowed keys here: type, description, required, pii, enum, "
        "pattern, min, max, max_length, references, on_missing)",
        id="entity",
    ),
    pytest.param(
        TEMPLATE_PATH,
        TEMPLATE.replace("  options: {format: auto}", "  optoins: {format: auto}"),
        "unknown key 'optoins' in source",
        (7, 3),
        "did you mean 'options'? (allowed keys here: connector, options)",
        id="template",
    ),
    pytest.param(
        INTEGRATION_PATH,
        INTEGRATION + "overides: {}\n",
        "unknown key 'overides' in file",
        (9, 1),
        "did you mean 'overrides'? (allowed keys here: integration, tenant, template, "
        "description, owner, escalation, connection, overrides, exceptions)",
        id="integration",
    ),
    pytest.param(
        INTEGRATION_PATH,
        INTEGRATION.replace("contact: oncall@example.com}", "contact: x, contct: y}"),
        "unknown key 'contct' in escalation[0]",
        (6, 54),
        "did you mean 'contact'? (allowed keys here: after, team, contact)",
        id="integration-list-item",
    ),
]


@pytest.mark.parametrize(("relative", "text", "message", "line_col", "hint"), UNKNOWN_KEY_CASES)
def test_an_unknown_key_is_reported_at_the_key_with_a_did_you_mean_hint(
    write_files: WriteFiles,
    relative: str,
    text: str,
    message: str,
    line_col: tuple[int, int],
    hint: str,
) -> None:
    project, root = load_files(write_files, {relative: text})
    assert only(project) == Diagnostic(
        "unknown-key", message, Location(root / relative, *line_col), hint=hint
    )


def test_an_unknown_key_without_a_near_miss_lists_the_allowed_keys(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(write_files, {PROJECT_PATH: PROJECT + "flavour: mint\n"})
    assert only(project) == Diagnostic(
        "unknown-key",
        "unknown key 'flavour' in file",
        Location(root / PROJECT_PATH, 6, 1),
        hint="allowed keys here: project, description, core, state, quarantine, scheduler, "
        "policy, secrets, functions",
    )


def test_a_misspelt_required_key_is_both_unknown_and_missing(write_files: WriteFiles) -> None:
    project, root = load_files(
        write_files, {INTEGRATION_PATH: INTEGRATION.replace("tenant: acme", "tenat: acme")}
    )
    where = root / INTEGRATION_PATH
    assert sorted((d.code, d.message, d.location) for d in project.diagnostics) == [
        ("missing-key", "required key 'tenant' is missing in the file", Location(where, 1, 1)),
        ("unknown-key", "unknown key 'tenat' in file", Location(where, 2, 1)),
    ]
    assert project.integrations == {}


# --- missing keys and wrong values --------------------------------------------------------


def test_a_missing_top_level_key_is_reported_at_the_start_of_the_file(
    write_files: WriteFiles,
) -> None:
    text = TEMPLATE.replace(
        "owner: {team: integrations-core, contact: integrations@example.com}\n", ""
    )
    project, root = load_files(write_files, {TEMPLATE_PATH: text})
    assert only(project) == Diagnostic(
        "missing-key",
        "required key 'owner' is missing in the file",
        Location(root / TEMPLATE_PATH, 1, 1),
        hint="add 'owner'; see the README for an example",
    )
    assert project.templates == {}


def test_a_missing_nested_key_is_reported_at_its_parent_key(write_files: WriteFiles) -> None:
    text = PROJECT.replace("  database: sqlite:///state.db\n", "  databse: sqlite:///state.db\n")
    project, root = load_files(write_files, {PROJECT_PATH: text})
    missing = [d for d in project.diagnostics if d.code == "missing-key"]
    assert missing == [
        Diagnostic(
            "missing-key",
            "required key 'database' is missing in state",
            Location(root / PROJECT_PATH, 4, 1),
            hint="add 'database'; see the README for an example",
        )
    ]
    assert project.settings is None


def test_a_value_not_matching_its_pattern_is_invalid_value_naming_the_path(
    write_files: WriteFiles,
) -> None:
    text = INTEGRATION.replace("after: 1h", "after: soon")
    project, root = load_files(write_files, {INTEGRATION_PATH: text})
    assert only(project) == Diagnostic(
        "invalid-value",
        r"escalation[0].after: String should match pattern '^\d+[mhd]$'",
        Location(root / INTEGRATION_PATH, 6, 13),
        hint=r"the value must match ^\d+[mhd]$",
    )


def test_a_value_outside_its_choices_is_invalid_value_listing_the_choices(
    write_files: WriteFiles,
) -> None:
    text = TEMPLATE.replace("    entity: customer\n", "    entity: customer\n    read: sometimes\n")
    project, root = load_files(write_files, {TEMPLATE_PATH: text})
    assert only(project) == Diagnostic(
        "invalid-value",
        "mappings.contacts.read: Input should be 'full' or 'incremental'",
        Location(root / TEMPLATE_PATH, 17, 11),
        hint="use one of 'full' or 'incremental'",
    )


def test_an_unknown_source_type_is_invalid_value_naming_the_stream_field(
    write_files: WriteFiles,
) -> None:
    text = TEMPLATE.replace("Email: string}", "Email: text}")
    project, root = load_files(write_files, {TEMPLATE_PATH: text})
    diagnostic = only(project)
    assert diagnostic.code == "invalid-value"
    assert diagnostic.message == (
        "streams.contacts.schema: field 'Email': unknown type 'text'; expected one of string, "
        "integer, float, decimal, boolean, timestamp, date, json, list[T], a mapping of fields"
    )
    assert diagnostic.location == Location(root / TEMPLATE_PATH, 12, 13)


def test_an_override_of_a_section_that_is_not_overridable_is_invalid_value(
    write_files: WriteFiles,
) -> None:
    text = INTEGRATION + "overrides:\n  owner: {team: x, contact: y}\n"
    project, root = load_files(write_files, {INTEGRATION_PATH: text})
    assert only(project) == Diagnostic(
        "invalid-value",
        "overrides: overrides may change mappings, source, streams, sync, writeback; not owner",
        Location(root / INTEGRATION_PATH, 10, 3),
    )


def test_a_version_written_as_a_yaml_number_is_invalid_value(write_files: WriteFiles) -> None:
    project, root = load_files(
        write_files, {TEMPLATE_PATH: TEMPLATE.replace("version: 2.1.0", "version: 2.1")}
    )
    diagnostic = only(project)
    assert (diagnostic.code, diagnostic.message) == (
        "invalid-value",
        "version: Input should be a valid string",
    )
    assert diagnostic.location == Location(root / TEMPLATE_PATH, 2, 10)


# --- files that are not of their kind -----------------------------------------------------


def test_a_file_whose_top_level_is_a_list_is_reported_as_not_a_mapping(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(write_files, {TEMPLATE_PATH: "- template: crm-contacts\n"})
    assert only(project) == Diagnostic(
        "invalid-value",
        "a template file must hold a mapping of keys, but this one holds a list",
        Location(root / TEMPLATE_PATH, 1, 1),
        hint="start the file with `template: <name>`",
    )
    assert project.templates == {}


def test_an_integrations_file_without_integration_key_says_what_it_must_declare(
    write_files: WriteFiles,
) -> None:
    text = INTEGRATION.replace("integration: acme-crm\n", "name: acme-crm\n")
    project, root = load_files(write_files, {INTEGRATION_PATH: text})
    path = root / INTEGRATION_PATH
    assert only(project) == Diagnostic(
        "missing-key",
        f"{path} does not declare `integration:`",
        Location(path, 1, 1),
        hint="files under this folder are integration files; start it with `integration: <name>`",
    )


def test_a_template_file_in_the_core_folder_is_reported_as_lacking_entity(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(write_files, {"core/crm.yaml": TEMPLATE})
    diagnostic = only(project)
    assert diagnostic.code == "missing-key"
    assert diagnostic.message == f"{root / 'core/crm.yaml'} does not declare `entity:`"
    assert list(project.entities) == ["customer"]


def test_a_project_file_without_project_key_is_missing_key(write_files: WriteFiles) -> None:
    text = PROJECT.replace("project: demo\n", "")
    project, root = load_files(write_files, {PROJECT_PATH: text})
    assert only(project).code == "missing-key"
    assert only(project).message == f"{root / PROJECT_PATH} does not declare `project:`"
    assert project.settings is None


def test_an_empty_entity_file_gets_a_readable_message(write_files: WriteFiles) -> None:
    project, _ = load_files(write_files, {"core/empty.yaml": ""})
    message = only(project).message
    assert "a entity" not in message
    assert "NoneType" not in message


# --- duplicates ---------------------------------------------------------------------------


def test_a_duplicate_entity_names_both_files_and_keeps_the_first(write_files: WriteFiles) -> None:
    project, root = load_files(write_files, {"core/a.yaml": CUSTOMER, "core/b.yaml": CUSTOMER})
    first, second = root / "core/a.yaml", root / "core/b.yaml"
    assert project.diagnostics == [
        Diagnostic(
            "duplicate-entity",
            f"entity 'customer' is declared twice; the first is at {first}:1:9",
            Location(second, 1, 9),
            hint="give one of them another entity name",
        ),
        Diagnostic(
            "duplicate-entity",
            f"entity 'customer' is declared twice; the first is at {first}:1:9",
            Location(root / CUSTOMER_PATH, 1, 9),
            hint="give one of them another entity name",
        ),
    ]
    assert project.entities["customer"].document.path == first


def test_a_duplicate_integration_id_names_both_files(write_files: WriteFiles) -> None:
    project, root = load_files(write_files, {"integrations/zeta/crm.yaml": INTEGRATION})
    first, second = root / INTEGRATION_PATH, root / "integrations/zeta/crm.yaml"
    assert only(project) == Diagnostic(
        "duplicate-integration",
        f"integration 'acme-crm' is declared twice; the first is at {first}:1:14",
        Location(second, 1, 14),
        hint="give one of them another integration name",
    )
    assert project.integrations["acme-crm"].document.path == first


def test_a_duplicate_template_version_names_both_files(write_files: WriteFiles) -> None:
    project, root = load_files(write_files, {"templates/zz-copy.yaml": TEMPLATE})
    first, second = root / TEMPLATE_PATH, root / "templates/zz-copy.yaml"
    assert only(project) == Diagnostic(
        "duplicate-template",
        f"template crm-contacts 2.1.0 is declared twice; the first is at {first}:2:10",
        Location(second, 2, 10),
        hint="each version of a template lives in one file; bump the version",
    )


def test_two_versions_of_one_template_are_not_duplicates(write_files: WriteFiles) -> None:
    project, _ = load_files(
        write_files, {"templates/crm-3.yaml": TEMPLATE.replace("2.1.0", "3.0.0")}
    )
    assert project.diagnostics == []
    assert sorted(project.templates["crm-contacts"]) == [Version(2, 1, 0), Version(3, 0, 0)]


# --- one load, every problem --------------------------------------------------------------


def test_every_broken_file_is_reported_in_one_load_and_good_files_still_load(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(
        write_files,
        {
            "core/account.yaml": "entity: account\ntenant_key: tenant_id\nprimary_key: []\n",
            "core/broken.yaml": "entity: [oops\n",
            "templates/crm-contacts-3.0.0.yaml": TEMPLATE.replace("2.1.0", "3.0.0").replace(
                "template: crm-contacts", "template: crm-contacts\nowners: x"
            ),
            "templates/list.yaml": "- crm-contacts\n",
            "integrations/initech/crm.yaml": INTEGRATION.replace("acme", "initech").replace(
                "after: 1h", "after: 1w"
            ),
        },
    )
    found = sorted(
        (str(d.location.file.relative_to(root)), d.code, d.message)
        for d in project.diagnostics
        if d.location is not None
    )
    assert found == [
        (
            "core/account.yaml",
            "invalid-value",
            "primary_key: List should have at least 1 item after validation, not 0",
        ),
        ("core/account.yaml", "missing-key", "required key 'fields' is missing in the file"),
        (
            "core/broken.yaml",
            "yaml-syntax",
            "invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "integrations/initech/crm.yaml",
            "invalid-value",
            r"escalation[0].after: String should match pattern '^\d+[mhd]$'",
        ),
        ("templates/crm-contacts-3.0.0.yaml", "unknown-key", "unknown key 'owners' in file"),
        (
            "templates/list.yaml",
            "invalid-value",
            "a template file must hold a mapping of keys, but this one holds a list",
        ),
    ]
    assert len(project.diagnostics) == len(found)
    assert list(project.entities) == ["customer"]
    assert list(project.templates["crm-contacts"]) == [Version(2, 1, 0)]
    assert list(project.integrations) == ["acme-crm"]
    assert project.settings is not None


def test_a_broken_project_file_does_not_stop_the_other_files_loading(
    write_files: WriteFiles,
) -> None:
    project, root = load_files(write_files, {PROJECT_PATH: "project: demo\ncore: [\n"})
    assert [d.code for d in project.diagnostics] == ["yaml-syntax"]
    assert project.diagnostics[0].location is not None
    assert project.diagnostics[0].location.file == root / PROJECT_PATH
    assert project.settings is None
    assert list(project.entities) == ["customer"]
    assert list(project.integrations) == ["acme-crm"]
