"""`isthmus init` and `isthmus new integration`: the files a user starts from validate as
written, and wrong requests are refused with a message and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.config.errors import ProjectError
from isthmus.demo import create_demo_project
from isthmus.governance.scaffold import init_project, new_integration
from isthmus.validation import validate_project


def errors(root: Path) -> list[str]:
    return [d.message for d in validate_project(load_project(root)) if d.is_error]


def test_a_new_project_validates_and_is_not_written_twice(tmp_path: Path) -> None:
    done = init_project(tmp_path / "new")
    assert sorted(p.relative_to(done.root).as_posix() for p in done.files) == [
        ".gitignore",
        "core/README.md",
        "integrations/README.md",
        "isthmus.yaml",
        "templates/README.md",
    ]
    assert errors(done.root) == []
    assert "project: new" in (done.root / "isthmus.yaml").read_text()
    with pytest.raises(ProjectError) as caught:
        init_project(done.root)
    assert (
        caught.value.message
        == f"{done.root / 'isthmus.yaml'} exists: {done.root} is a project already"
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return create_demo_project(tmp_path / "demo").root


@pytest.mark.parametrize("template", ["crm-contacts", "crm-api"])
def test_a_new_integration_of_each_demo_template_validates(demo: Path, template: str) -> None:
    done = new_integration(load_project(demo), template, "hooli", "hooli-crm")
    [path] = done.files
    assert path == demo / "integrations/hooli/hooli-crm.yaml"
    assert errors(demo) == []
    text = path.read_text()
    assert "owner: {team: CHANGE-ME, contact: change-me@example.com}" in text
    major = "2" if template == "crm-contacts" else "1"
    assert f"template: {template}@^{major}\n" in text
    if template == "crm-api":  # its secret bound to a variable, never a value
        assert "    crm_token: env:HOOLI_CRM_TOKEN\n" in text
        assert '  base_url: "https://CHANGE-ME.example.com"\n' in text
    else:
        assert '  root: "data/hooli"\n' in text


@pytest.mark.parametrize(
    ("template", "tenant", "name", "message"),
    [
        ("crm-nope", "hooli", "hooli-crm", "template 'crm-nope' is not in the project"),
        ("crm-api", "Hooli Inc", "hooli-crm", "tenant 'Hooli Inc' is not a name"),
        ("crm-api", "hooli", "acme-crm", "integration 'acme-crm' exists already"),
    ],
)
def test_a_wrong_request_is_refused_and_writes_nothing(
    demo: Path, template: str, tenant: str, name: str, message: str
) -> None:
    before = sorted(p for p in (demo / "integrations").rglob("*"))
    with pytest.raises(ProjectError) as caught:
        new_integration(load_project(demo), template, tenant, name)
    assert caught.value.message.startswith(message)
    assert sorted(p for p in (demo / "integrations").rglob("*")) == before
