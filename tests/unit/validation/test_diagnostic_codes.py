"""Every diagnostic code: a broken configuration that triggers exactly it, at its place.

The cases live in ``diagnostic_cases/``, one module per area (see ``support_diagnostics``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from isthmus.config.project import load_project
from isthmus.demo import create_demo_project
from isthmus.diagnostics import Severity, relative_file
from isthmus.validation import validate_project
from support import without_demo_guardrails
from support_diagnostics import Case, load_cases

CASES_DIR = Path(__file__).parent / "diagnostic_cases"
ALL_CASES = load_cases(CASES_DIR)


@pytest.fixture(scope="module")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = create_demo_project(tmp_path_factory.mktemp("base") / "demo")
    return without_demo_guardrails(demo.root)


def _reported(root: Path, *, notes: bool = False) -> list[tuple[str, Severity, str, int, int]]:
    """(code, severity, file, line, column) of each diagnostic, sorted; notes only if asked."""
    found: list[tuple[str, Severity, str, int, int]] = []
    for d in validate_project(load_project(root)):
        if d.severity is Severity.INFO and not notes:
            continue
        where = d.location
        file = relative_file(where.file, root).as_posix() if where else ""
        found.append(
            (d.code, d.severity, file, where.line if where else 0, where.column if where else 0)
        )
    return sorted(found)


def test_the_base_project_validates_clean(base_project: Path) -> None:
    assert _reported(base_project, notes=True) == []


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.id for case in ALL_CASES])
def test_a_broken_configuration_reports_exactly_its_code_at_its_place(
    case: Case, base_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(base_project, root)
    case.change(root)
    assert _reported(root, notes=case.compares_notes) == case.expected(root)


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in ALL_CASES]
    assert len(ids) == len(set(ids))
