"""Every template version is checked, whether or not an integration uses it yet."""

from __future__ import annotations

from pathlib import Path

from isthmus.config import load_project
from isthmus.validation import validate_project


def test_a_template_version_no_integration_uses_is_still_checked(tiny: Path) -> None:
    old = (tiny / "templates/people.yaml").read_text()
    broken = old.replace("version: 1.0.0", "version: 0.9.0").replace(
        "age: to_int(age)", "age: to_int(agee)"
    )
    (tiny / "templates/people-0.9.yaml").write_text(broken)
    found = validate_project(load_project(tiny))
    assert [(d.code, str(d.location)) for d in found] == [
        ("undeclared-source-field", f"{tiny}/templates/people-0.9.yaml:17:59")
    ]


def test_a_problem_of_a_used_template_is_reported_once(tiny: Path) -> None:
    path = tiny / "templates/people.yaml"
    path.write_text(path.read_text().replace("age: to_int(age)", "age: to_int(agee)"))
    found = validate_project(load_project(tiny))
    assert [d.code for d in found] == ["undeclared-source-field"]
