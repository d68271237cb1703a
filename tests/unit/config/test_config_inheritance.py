"""Template inheritance (``extends``) and where each value of a resolved configuration came
from, on the demo project with extra template files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from isthmus.config import load_project, resolve
from isthmus.config.changes import covers, diff_config
from isthmus.config.project import Project
from isthmus.config.provenance import show_config
from isthmus.demo import create_demo_project
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.validation import validate_project

# A child of the demo's crm-contacts 2.1.0: no description, owner, source or streams of its
# own; it drops the phone mapping and changes the schedule.
LITE = """\
template: crm-lite
version: 1.0.0
extends: crm-contacts@^2
mappings:
  contacts:
    fields:
      phone: null
sync:
  schedule: "0 * * * *"
"""

# A grandchild: the chain crm-mini -> crm-lite -> crm-contacts.
MINI = """\
template: crm-mini
version: 1.0.0
extends: crm-lite@^1
description: Only the accounts' names change.
mappings:
  accounts:
    fields:
      name: upper(trim(Name))
"""

INTEGRATION = """\
integration: {name}
tenant: acme
template: {template}
owner: {{team: onboarding, contact: onboarding@example.com}}
connection:
  root: data/acme
overrides:
  sync:
    schedule: "*/5 * * * *"
"""


def demo_with(tmp_path: Path, files: dict[str, str]) -> Project:
    root = tmp_path / "demo"
    create_demo_project(root)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text), encoding="utf-8")
    return load_project(root)


def errors(project: Project) -> list[str]:
    return [str(d) for d in validate_project(project) if d.is_error]


def test_a_child_inherits_its_parent_and_null_removes_an_inherited_field_mapping(
    tmp_path: Path,
) -> None:
    project = demo_with(tmp_path, {"templates/crm-lite-1.0.0.yaml": LITE})
    assert errors(project) == []
    lite = project.templates["crm-lite"][next(iter(project.templates["crm-lite"]))].model
    assert lite.extends == "crm-contacts@^2"
    assert lite.owner.team == "integrations-core"
    assert set(lite.streams) == {"accounts", "contacts"}
    assert "phone" not in lite.mappings["contacts"].fields
    assert "email" in lite.mappings["contacts"].fields
    assert lite.sync.schedule == "0 * * * *"


def test_validate_says_which_parent_version_it_picked(tmp_path: Path) -> None:
    project = demo_with(tmp_path, {"templates/crm-lite-1.0.0.yaml": LITE})
    picked = [d for d in validate_project(project) if d.code == "template-parent"]
    assert len(picked) == 1
    assert picked[0].severity is Severity.INFO
    assert "picked parent crm-contacts 2.1.0" in picked[0].message
    assert picked[0].location == Location(project.root / "templates/crm-lite-1.0.0.yaml", 3, 10)


def test_a_three_level_chain_locates_each_value_in_the_file_that_wrote_it(
    tmp_path: Path,
) -> None:
    project = demo_with(
        tmp_path,
        {"templates/crm-lite-1.0.0.yaml": LITE, "templates/crm-mini-1.0.0.yaml": MINI},
    )
    assert errors(project) == []
    loaded = next(iter(project.templates["crm-mini"].values()))
    mini = loaded.model
    assert mini.mappings["accounts"].fields["name"] == "upper(trim(Name))"
    assert "phone" not in mini.mappings["contacts"].fields
    assert mini.sync.schedule == "0 * * * *"
    templates = project.root / "templates"
    where = loaded.document.location
    assert (
        where(("mappings", "accounts", "fields", "name")).file == templates / "crm-mini-1.0.0.yaml"
    )
    assert where(("sync", "schedule")) == Location(templates / "crm-lite-1.0.0.yaml", 9, 13)
    assert where(("source", "connector")).file == templates / "crm-contacts-2.1.0.yaml"


def test_an_invalid_value_of_a_child_is_reported_at_the_child_file(tmp_path: Path) -> None:
    child = LITE.replace("phone: null", "phone: null\n    read: sometimes")
    project = demo_with(tmp_path, {"templates/crm-lite-1.0.0.yaml": child})
    found = [d for d in project.diagnostics if d.is_error]
    assert len(found) == 1
    assert found[0].location is not None
    assert found[0].location.file == project.root / "templates/crm-lite-1.0.0.yaml"
    assert "mappings.contacts.read" in found[0].message


def test_a_cycle_is_an_error_printing_the_chain_at_the_extends_key(tmp_path: Path) -> None:
    a = LITE.replace("crm-lite", "crm-a").replace("crm-contacts@^2", "crm-b@^1")
    b = LITE.replace("crm-lite", "crm-b").replace("crm-contacts@^2", "crm-a@1.0.0")
    project = demo_with(
        tmp_path, {"templates/crm-a-1.0.0.yaml": a, "templates/crm-b-1.0.0.yaml": b}
    )
    cycles = {str(d.location): d.message for d in errors_of(project, "template-cycle")}
    a_at = f"{project.root / 'templates/crm-a-1.0.0.yaml'}:3:1"
    assert "crm-a@1.0.0 -> crm-b@1.0.0 -> crm-a@1.0.0" in cycles[a_at]
    assert "crm-a" not in project.templates
    assert project.unloaded_file("template", "crm-a") is not None


def errors_of(project: Project, code: str) -> list[Diagnostic]:
    return [d for d in validate_project(project) if d.code == code]


@pytest.mark.parametrize(
    ("extends", "code", "hint"),
    [
        ("crm-nothing@^1", "unknown-template", "crm-contacts 2.1.0"),
        ("crm-contacts@^9", "no-matching-template-version", "versions present: 2.1.0"),
    ],
)
def test_a_missing_parent_is_an_error_naming_the_versions_present(
    tmp_path: Path, extends: str, code: str, hint: str
) -> None:
    child = LITE.replace("crm-contacts@^2", extends)
    project = demo_with(tmp_path, {"templates/crm-lite-1.0.0.yaml": child})
    [found] = errors_of(project, code)
    assert found.location == Location(project.root / "templates/crm-lite-1.0.0.yaml", 3, 10)
    assert found.hint is not None
    assert hint in found.hint
    assert "crm-lite" not in project.templates


def test_config_show_names_the_template_the_parent_and_the_override(tmp_path: Path) -> None:
    project = demo_with(
        tmp_path,
        {
            "templates/crm-lite-1.0.0.yaml": LITE,
            "integrations/acme/lite.yaml": INTEGRATION.format(
                name="acme-lite", template="crm-lite@^1"
            ),
        },
    )
    resolved, problems = resolve(project, "acme-lite")
    assert resolved is not None, problems
    shown = {v.dotted: v for v in show_config(project, "acme-lite").values}
    assert str(shown["sync.schedule"].origin) == "override (integrations/acme/lite.yaml:9)"
    assert shown["sync.schedule"].value == "*/5 * * * *"
    assert (
        str(shown["extends"].origin) == "template crm-lite 1.0.0 (templates/crm-lite-1.0.0.yaml:3)"
    )
    email = shown["mappings.contacts.fields.email"].origin
    assert email.source == "parent template crm-contacts 2.1.0"
    assert email.file == Path("templates/crm-contacts-2.1.0.yaml")
    assert "mappings.contacts.fields.phone" not in shown


def test_config_diff_lists_changed_leaves_and_refused_overrides(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    create_demo_project(root)
    text = (root / "templates/crm-contacts-2.1.0.yaml").read_text(encoding="utf-8")
    newer = text.replace("version: 2.1.0", "version: 2.2.0").replace(
        "email: lower(trim(Email))", "email: trim(Email)"
    )
    newer = newer.replace(
        'overridable: [streams.*.path, sync.schedule, "mappings.*.fields.*"]',
        "overridable: [sync.schedule]",
    )
    (root / "templates/crm-contacts-2.2.0.yaml").write_text(newer, encoding="utf-8")
    pin(root / "integrations/globex/crm.yaml")
    diff = diff_config(load_project(root), "globex-crm", "2.2.0")
    changes = {c.path: (c.kind, c.old, c.new) for c in diff.changes}
    assert changes["mappings.contacts.fields.email"] == (
        "changed",
        "lower(trim(Email))",
        "trim(Email)",
    )
    assert changes["version"] == ("changed", "2.1.0", "2.2.0")
    assert (diff.current, diff.target) == ("2.1.0", "2.2.0")
    assert diff.violations == ("streams.accounts.path", "streams.contacts.path")


def pin(integration: Path) -> None:
    """Keep an integration on 2.1.x, so a 2.2.0 beside it is a version it could move to."""
    text = integration.read_text(encoding="utf-8")
    integration.write_text(text.replace("crm-contacts@^2", "crm-contacts@~2.1"), encoding="utf-8")


def test_overridable_globs_match_segment_by_segment() -> None:
    assert covers("mappings.*.fields.*", "mappings.contacts.fields.email")
    assert covers("sync", "sync.schedule")
    assert not covers("sync.schedule", "sync.batch_size")
    assert not covers("mappings.*", "streams.contacts.path")
