"""A file that does not parse is the one problem reported for it: what depends on it says so,
instead of saying nothing declares the name it holds."""

from __future__ import annotations

from pathlib import Path

from isthmus.config.project import load_project
from isthmus.demo import DemoProject
from isthmus.diagnostics import Diagnostic
from isthmus.validation import validate_project
from isthmus.validation.project import check_for_run

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"


def _codes_by_file(root: Path, diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    return [
        (d.code, d.location.file.relative_to(root).as_posix() if d.location else "")
        for d in diagnostics
    ]


def _break(root: Path, old: str, new: str) -> None:
    path = root / TEMPLATE
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_template_that_does_not_parse_is_named_by_its_file(demo: DemoProject) -> None:
    root = demo.root
    _break(root, "template: crm-contacts\n", "template: [crm-contacts\n")
    project = load_project(root)
    assert _codes_by_file(root, validate_project(project)) == [("yaml-syntax", TEMPLATE)]
    assert project.unloaded_file("template", "crm-contacts") == root / TEMPLATE
    compiled, problems = check_for_run(project, "acme-crm")
    assert compiled is None
    assert _codes_by_file(root, problems) == [
        ("broken-dependency", "integrations/acme/crm.yaml"),
        ("yaml-syntax", TEMPLATE),
    ]
    assert problems[0].message.startswith(
        "integration 'acme-crm' uses template 'crm-contacts', whose file "
    )
    assert problems[0].message.endswith(f"{TEMPLATE} did not load")


def test_a_readable_name_line_wins_over_the_file_name(demo: DemoProject) -> None:
    root = demo.root
    renamed = root / "templates/contacts.yaml"
    (root / TEMPLATE).rename(renamed)
    text = renamed.read_text(encoding="utf-8")
    renamed.write_text(text.replace("version: 2.1.0\n", "version: [2.1.0\n"), encoding="utf-8")
    project = load_project(root)
    assert project.unloaded_file("template", "crm-contacts") == renamed
    assert [d.code for d in validate_project(project) if d.is_error] == ["yaml-syntax"]
