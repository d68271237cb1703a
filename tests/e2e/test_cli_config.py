"""`isthmus config show` and `config diff`, run as a user runs them, on the demo project with
a child template and a newer template version written beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from isthmus.demo import create_demo_project

ENV = {**os.environ, "COLUMNS": "160"}

LITE = """\
template: crm-lite
version: 1.0.0
extends: crm-contacts@^2
mappings:
  contacts:
    fields:
      phone: null
"""

LITE_INTEGRATION = """\
integration: acme-lite
tenant: acme
template: crm-lite@^1
owner: {team: onboarding, contact: onboarding@example.com}
connection:
  root: data/acme
overrides:
  sync:
    schedule: "*/20 * * * *"
"""


def isthmus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project, a child template of crm-contacts, an integration using it, and a
    crm-contacts 2.2.0 whose email mapping differs (acme-crm stays on 2.1.x)."""
    root = tmp_path_factory.mktemp("config") / "demo"
    create_demo_project(root)
    (root / "templates/crm-lite-1.0.0.yaml").write_text(LITE, encoding="utf-8")
    (root / "integrations/acme/lite.yaml").write_text(LITE_INTEGRATION, encoding="utf-8")
    template = (root / "templates/crm-contacts-2.1.0.yaml").read_text(encoding="utf-8")
    newer = template.replace("version: 2.1.0", "version: 2.2.0")
    newer = newer.replace("email: lower(trim(Email))", "email: trim(Email)")
    (root / "templates/crm-contacts-2.2.0.yaml").write_text(newer, encoding="utf-8")
    acme = root / "integrations/acme/crm.yaml"
    text = acme.read_text(encoding="utf-8")
    acme.write_text(text.replace("crm-contacts@^2", "crm-contacts@~2.1"), encoding="utf-8")
    return root


def test_validate_names_the_parent_version_a_child_template_picked(project: Path) -> None:
    result = isthmus("validate", "--project", str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "template-parent" in result.stdout
    assert "crm-lite@1.0.0 extends crm-contacts@^2: picked parent crm-contacts 2.2.0" in (
        result.stdout
    )


def test_config_show_annotates_each_value_with_its_origin(project: Path) -> None:
    result = isthmus("config", "show", "acme-lite", "--project", str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "integration acme-lite: template crm-lite 1.0.0"
    schedule = next(line for line in lines if line.strip().startswith("schedule:"))
    assert schedule.endswith("override (integrations/acme/lite.yaml:9)")
    extends = next(line for line in lines if line.startswith("extends:"))
    assert extends.endswith("template crm-lite 1.0.0 (templates/crm-lite-1.0.0.yaml:3)")
    email = next(line for line in lines if line.strip().startswith("email:"))
    assert "parent template crm-contacts 2.2.0 (templates/crm-contacts-2.2.0.yaml:" in email
    assert not any(line.strip().startswith("phone:") for line in lines)


def test_config_show_as_json_lists_paths_values_and_origins(project: Path) -> None:
    result = isthmus("config", "show", "acme-crm", "--project", str(project), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert (shown["integration"], shown["template"]) == ("acme-crm", "crm-contacts 2.1.0")
    values = {v["path"]: v for v in shown["values"]}
    assert values["mappings.contacts.fields.email"] == {
        "path": "mappings.contacts.fields.email",
        "value": "lower(trim(Email))",
        "from": "template crm-contacts 2.1.0",
        "file": "templates/crm-contacts-2.1.0.yaml",
        "line": 55,
    }


def test_config_diff_lists_a_changed_mapping(project: Path) -> None:
    result = isthmus(
        "config", "diff", "acme-crm", "--template-version", "2.2.0", "--project", str(project)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "template crm-contacts 2.1.0 -> 2.2.0" in result.stdout
    assert (
        "changed  mappings.contacts.fields.email: lower(trim(Email)) -> trim(Email)"
        in result.stdout
    )
    assert "overrides: all still apply" in result.stdout


def test_config_diff_to_the_same_version_says_no_changes(project: Path) -> None:
    result = isthmus(
        "config", "diff", "acme-crm", "--template-version", "2.1.0", "--project", str(project)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "no changes"


def test_config_diff_to_an_unknown_version_is_a_usage_error(project: Path) -> None:
    result = isthmus(
        "config", "diff", "acme-crm", "--template-version", "9.9.9", "--project", str(project)
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "no version 9.9.9" in result.stderr
    assert "versions present: 2.1.0, 2.2.0" in result.stderr


def test_config_show_of_an_unknown_integration_fails_with_a_hint(project: Path) -> None:
    result = isthmus("config", "show", "nobody", "--project", str(project))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no integration named 'nobody'" in result.stderr
