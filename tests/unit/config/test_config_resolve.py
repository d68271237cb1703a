"""Resolving an integration: the template version picked, overrides merged, content hashed."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from isthmus.config import load_project, resolve
from isthmus.config.diagnose import model_diagnostics
from isthmus.config.models import Template
from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, merge
from isthmus.config.versions import Version
from isthmus.diagnostics import Diagnostic, Location

WriteFiles = Callable[[dict[str, str]], Path]

PROJECT = """\
project: demo
core: {database: "sqlite:///core.db"}
state: {database: "sqlite:///state.db"}
"""

CUSTOMER = """\
entity: customer
tenant_key: tenant_id
primary_key: [tenant_id, customer_id]
fields:
  customer_id: {type: string, required: true}
  email: {type: string}
  region: {type: string}
  account_id: {type: string, references: account.account_id}
"""

ACCOUNT = """\
entity: account
tenant_key: tenant_id
primary_key: [tenant_id, account_id]
fields:
  account_id: {type: string, required: true}
"""

# Line numbers matter: tests below point at lines of this text.
TEMPLATE = """\
template: crm-contacts
version: {version}
description: Contacts from a CRM's export files.
owner: {{team: integrations-core, contact: integrations@example.com}}
source:
  connector: file
  options: {{format: auto}}
streams:
  contacts:
    path: contacts.jsonl
    primary_key: Id
    schema: {{Id: string, Email: string, Region: string}}
mappings:
  contacts:
    stream: contacts
    entity: customer
    fields:
      customer_id: Id
      email: "lower(Email)"
      region: Region
sync: {{schedule: "*/30 * * * *", batch_size: 500}}
overridable: [streams.*.path, sync.schedule, "mappings.*.fields.*"]
"""

VERSIONS = ["1.0.0", "2.0.0", "2.1.0", "2.2.0-beta.1", "3.0.0"]

INTEGRATION = """\
integration: acme-crm
tenant: acme
template: crm-contacts@{range}
owner: {{team: onboarding, contact: ops@example.com}}
connection:
  root: data/acme
overrides:
  streams:
    contacts: {{path: acme/contacts.csv}}
  mappings:
    contacts:
      fields:
        region: null
        email: "lower(trim(Email))"
"""

INTEGRATION_PATH = "integrations/acme/crm.yaml"


def template_path(version: str) -> str:
    return f"templates/crm-contacts-{version}.yaml"


def project_files(integration: str) -> dict[str, str]:
    files = {
        "isthmus.yaml": PROJECT,
        "core/customer.yaml": CUSTOMER,
        "core/account.yaml": ACCOUNT,
        INTEGRATION_PATH: integration,
    }
    files.update({template_path(v): TEMPLATE.format(version=v) for v in VERSIONS})
    return files


def loaded(write_files: WriteFiles, integration: str) -> Project:
    project = load_project(write_files(project_files(integration)))
    assert project.diagnostics == []
    return project


def resolved(write_files: WriteFiles, range_text: str = "^2") -> ResolvedIntegration:
    project = loaded(write_files, INTEGRATION.format(range=range_text))
    result, diagnostics = resolve(project, "acme-crm")
    assert diagnostics == []
    assert result is not None
    return result


def refused(write_files: WriteFiles, integration: str) -> tuple[Diagnostic, Path]:
    project = loaded(write_files, integration)
    result, diagnostics = resolve(project, "acme-crm")
    assert result is None
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    return diagnostics[0], project.root


# --- picking the template version ---------------------------------------------------------


@pytest.mark.parametrize(
    ("range_text", "version"),
    [
        ("^2", "2.1.0"),
        ("~2.0", "2.0.0"),
        ("^1", "1.0.0"),
        (">=1 <3", "2.1.0"),
        ("2.0.0", "2.0.0"),
        ("*", "3.0.0"),
        ("^2.2.0-beta", "2.2.0-beta.1"),
    ],
)
def test_the_highest_version_the_range_admits_is_picked(
    write_files: WriteFiles, range_text: str, version: str
) -> None:
    result = resolved(write_files, range_text)
    assert result.version == Version.parse(version)
    assert result.template.version == version
    assert result.template_file.document.path == result_root(result) / template_path(version)


def result_root(result: ResolvedIntegration) -> Path:
    return result.integration_document.path.parents[2]


def test_a_template_without_a_range_picks_the_highest_release(write_files: WriteFiles) -> None:
    text = INTEGRATION.format(range="^2").replace("crm-contacts@^2", "crm-contacts")
    project = loaded(write_files, text)
    result, diagnostics = resolve(project, "acme-crm")
    assert diagnostics == []
    assert result is not None
    assert result.version == Version(3, 0, 0)


def test_a_resolved_integration_names_its_integration_and_tenant(write_files: WriteFiles) -> None:
    result = resolved(write_files)
    assert (result.name, result.tenant) == ("acme-crm", "acme")


def test_no_matching_version_lists_the_versions_present(write_files: WriteFiles) -> None:
    diagnostic, root = refused(write_files, INTEGRATION.format(range="^4"))
    assert diagnostic == Diagnostic(
        "no-matching-template-version",
        "no version of template 'crm-contacts' matches ^4",
        Location(root / INTEGRATION_PATH, 3, 11),
        hint="versions present: 1.0.0, 2.0.0, 2.1.0, 2.2.0-beta.1, 3.0.0",
    )


def test_a_pre_release_alone_does_not_satisfy_a_range_naming_none(write_files: WriteFiles) -> None:
    diagnostic, _ = refused(write_files, INTEGRATION.format(range="~2.2"))
    assert diagnostic.code == "no-matching-template-version"
    assert diagnostic.message == "no version of template 'crm-contacts' matches ~2.2"


def test_an_unknown_template_names_the_templates_the_project_has(write_files: WriteFiles) -> None:
    text = INTEGRATION.format(range="^2").replace("crm-contacts@^2", "erp-orders@^1")
    diagnostic, root = refused(write_files, text)
    assert diagnostic == Diagnostic(
        "unknown-template",
        "integration 'acme-crm' uses template 'erp-orders', which no file under templates/ "
        "declares",
        Location(root / INTEGRATION_PATH, 3, 11),
        hint="templates in this project: crm-contacts",
    )


def test_an_invalid_range_is_invalid_value_at_the_template_key(write_files: WriteFiles) -> None:
    diagnostic, root = refused(write_files, INTEGRATION.format(range="^two"))
    assert diagnostic == Diagnostic(
        "invalid-value",
        "'two' is not a version range like ^2, ~2.1 or 2.1.0",
        Location(root / INTEGRATION_PATH, 3, 11),
        hint="write the range as ^2, ~2.1, 2.1.0 or >=2.1 <3",
    )


# --- merging overrides --------------------------------------------------------------------


def test_an_override_replaces_a_stream_path_and_keeps_the_streams_other_keys(
    write_files: WriteFiles,
) -> None:
    stream = resolved(write_files).template.streams["contacts"]
    assert stream.connector_options == {"path": "acme/contacts.csv"}
    assert stream.primary_key == "Id"
    assert list(stream.fields) == ["Id", "Email", "Region"]


def test_a_null_override_removes_an_inherited_field_mapping(write_files: WriteFiles) -> None:
    mapping = resolved(write_files).template.mappings["contacts"]
    assert mapping.fields == {"customer_id": "Id", "email": "lower(trim(Email))"}
    assert (mapping.stream, mapping.entity, mapping.write) == ("contacts", "customer", "upsert")


def test_sections_the_integration_does_not_override_are_inherited_unchanged(
    write_files: WriteFiles,
) -> None:
    result = resolved(write_files)
    inherited = result.template_file.model
    assert result.template.sync == inherited.sync
    assert result.template.source == inherited.source
    assert result.template.owner == inherited.owner
    assert result.template.overridable == inherited.overridable


def test_an_override_can_add_a_field_mapping(write_files: WriteFiles) -> None:
    text = INTEGRATION.format(range="^2") + "        account_id: Account.Id\n"
    project = loaded(write_files, text)
    result, _ = resolve(project, "acme-crm")
    assert result is not None
    assert result.template.mappings["contacts"].fields["account_id"] == "Account.Id"


def test_resolving_does_not_change_the_loaded_template(write_files: WriteFiles) -> None:
    result = resolved(write_files)
    data = result.template_file.document.data
    assert data["streams"]["contacts"]["path"] == "contacts.jsonl"
    assert data["mappings"]["contacts"]["fields"]["region"] == "Region"
    assert result.template_file.model.mappings["contacts"].fields["region"] == "Region"


def test_the_resolved_entities_are_the_mapped_ones_and_those_they_reference(
    write_files: WriteFiles,
) -> None:
    entities = resolved(write_files).entities
    assert sorted(entities) == ["account", "customer"]
    assert entities["account"].primary_key == ["tenant_id", "account_id"]


def test_merge_deep_merges_dicts_and_a_none_removes_the_key() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": "keep"}
    override = {"a": {"y": 3, "z": 4}, "b": [9], "c": None, "d": None}
    assert merge(base, override) == {"a": {"x": 1, "y": 3, "z": 4}, "b": [9]}
    assert base == {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": "keep"}


def test_merge_lets_a_scalar_replace_a_mapping_and_a_mapping_replace_a_scalar() -> None:
    assert merge({"a": {"x": 1}}, {"a": 5}) == {"a": 5}
    assert merge({"a": 5}, {"a": {"x": 1}}) == {"a": {"x": 1}}


# --- where diagnostics about merged values point ------------------------------------------


def test_an_invalid_overridden_value_is_reported_at_the_integrations_override_line(
    write_files: WriteFiles,
) -> None:
    text = INTEGRATION.format(range="^2") + "  sync: {batch_size: 0}\n"
    diagnostic, root = refused(write_files, text)
    assert diagnostic == Diagnostic(
        "invalid-value",
        "sync.batch_size: Input should be greater than or equal to 1",
        Location(root / INTEGRATION_PATH, 15, 22),
    )


def test_removing_a_required_key_by_override_is_reported_at_the_override(
    write_files: WriteFiles,
) -> None:
    text = INTEGRATION.format(range="^2").replace(
        "    contacts: {path: acme/contacts.csv}", "    contacts: {schema: null}"
    )
    diagnostic, root = refused(write_files, text)
    assert diagnostic == Diagnostic(
        "missing-key",
        "required key 'schema' is missing in streams.contacts",
        Location(root / INTEGRATION_PATH, 9, 5),
        hint="add 'schema'; see the README for an example",
    )


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("streams", "contacts", "path"), (INTEGRATION_PATH, 9, 22)),
        (("mappings", "contacts", "fields", "region"), (INTEGRATION_PATH, 13, 17)),
        (("streams", "contacts", "primary_key"), (template_path("2.1.0"), 11, 18)),
        (("mappings", "contacts", "fields", "customer_id"), (template_path("2.1.0"), 18, 20)),
        (("sync", "batch_size"), (template_path("2.1.0"), 21, 46)),
    ],
)
def test_a_merged_value_is_located_in_the_file_that_wrote_it(
    write_files: WriteFiles, path: tuple[str, ...], where: tuple[str, int, int]
) -> None:
    result = resolved(write_files)
    assert result.locator.location(path) == Location(result_root(result) / where[0], *where[1:])


def test_an_inherited_mapping_expression_is_located_in_the_template(
    write_files: WriteFiles,
) -> None:
    result = resolved(write_files)
    template = result_root(result) / template_path("2.1.0")
    assert result.locator.expression_location(
        ("mappings", "contacts", "fields", "customer_id")
    ) == Location(template, 18, 20)


def test_an_overridden_quoted_expression_is_located_after_the_quote_in_the_integration(
    write_files: WriteFiles,
) -> None:
    result = resolved(write_files)
    integration = result_root(result) / INTEGRATION_PATH
    path = ("mappings", "contacts", "fields", "email")
    assert result.locator.location(path) == Location(integration, 14, 16)
    assert result.locator.expression_location(path) == Location(integration, 14, 17)


def test_diagnostics_through_the_merged_locator_point_at_override_or_template_lines(
    write_files: WriteFiles,
) -> None:
    """A check of the merged configuration names the override line or the template line."""
    result = resolved(write_files)
    data = result.template.model_dump(by_alias=True)
    data["streams"]["contacts"]["primary_key"] = 7  # an inherited value
    data["mappings"]["contacts"]["fields"] = {}  # an overridden value
    with pytest.raises(ValidationError) as caught:
        Template.model_validate(data)
    diagnostics = model_diagnostics(caught.value, result.locator, Template)
    root = result_root(result)
    assert [(d.message, d.location) for d in diagnostics] == [
        (
            "streams.contacts.primary_key: Input should be a valid string",
            Location(root / template_path("2.1.0"), 11, 18),
        ),
        (
            "mappings.contacts.fields: Dictionary should have at least 1 item after "
            "validation, not 0",
            Location(root / INTEGRATION_PATH, 13, 9),
        ),
    ]


# --- the configuration hash ---------------------------------------------------------------


def hash_of(write_files: WriteFiles, integration: str) -> str:
    project = load_project(write_files(project_files(integration)))
    result, diagnostics = resolve(project, "acme-crm")
    assert diagnostics == []
    assert result is not None
    return result.config_hash


def test_the_config_hash_is_a_sha256_hex_digest(write_files: WriteFiles) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", resolved(write_files).config_hash)


def test_the_config_hash_is_the_same_for_equal_content(write_files: WriteFiles) -> None:
    assert resolved(write_files).config_hash == resolved(write_files).config_hash


def test_the_config_hash_ignores_formatting_comments_and_key_order(
    write_files: WriteFiles,
) -> None:
    first = hash_of(write_files, INTEGRATION.format(range="^2"))
    reformatted = """\
    # The same integration, written differently.
    tenant: acme
    integration: acme-crm
    owner:
      contact: ops@example.com
      team: onboarding
    template: "crm-contacts@^2"
    overrides:
      mappings: {contacts: {fields: {email: 'lower(trim(Email))', region: ~}}}
      streams:
        contacts:
          path: acme/contacts.csv   # Acme delivers CSV
    connection: {root: data/acme}
    """
    assert hash_of(write_files, reformatted) == first


def test_the_config_hash_does_not_depend_on_where_the_project_lives(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    first = resolved(write_files)
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    shutil.copytree(tmp_path, moved)
    try:
        result, _ = resolve(load_project(moved), "acme-crm")
    finally:
        shutil.rmtree(moved)
    assert result is not None
    assert result.config_hash == first.config_hash


def test_the_config_hash_changes_when_an_override_changes(write_files: WriteFiles) -> None:
    first = hash_of(write_files, INTEGRATION.format(range="^2"))
    changed = INTEGRATION.format(range="^2").replace("acme/contacts.csv", "acme/people.csv")
    assert hash_of(write_files, changed) != first


def test_the_config_hash_changes_when_another_template_version_is_picked(
    write_files: WriteFiles,
) -> None:
    assert hash_of(write_files, INTEGRATION.format(range="~2.0")) != hash_of(
        write_files, INTEGRATION.format(range="~2.1")
    )


def test_the_config_hash_changes_when_a_core_entity_it_writes_changes(
    write_files: WriteFiles,
) -> None:
    first = resolved(write_files).config_hash
    write_files({"core/customer.yaml": CUSTOMER + "  phone: {type: string, pii: true}\n"})
    result, _ = resolve(load_project(write_files({})), "acme-crm")
    assert result is not None
    assert result.config_hash != first
