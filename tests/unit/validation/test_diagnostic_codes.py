"""Every diagnostic code: a broken configuration that triggers exactly it, at its place.

The cases live in ``diagnostic_cases/``, one module per area (see ``support_diagnostics``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from isthmus.config.project import load_project
from isthmus.demo import create_demo_project
from isthmus.diagnostics import Severity
from isthmus.validation import validate_project
from support import without_demo_guardrails
from support_diagnostics import Case, position_of

CASES_DIR = Path(__file__).parent / "diagnostic_cases"


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for module_file in sorted(CASES_DIR.glob("*.py")):
        if module_file.stem.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(
            f"diagnostic_cases_{module_file.stem}", module_file
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases.extend(module.CASES)
    return cases


ALL_CASES = _all_cases()


@pytest.fixture(scope="module")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = create_demo_project(tmp_path_factory.mktemp("base") / "demo")
    return without_demo_guardrails(demo.root)


def _reported(root: Path) -> list[tuple[str, Severity, str, int, int]]:
    found: list[tuple[str, Severity, str, int, int]] = []
    for d in validate_project(load_project(root)):
        if d.severity is Severity.INFO:
            continue
        where = d.location
        file = str(where.file.resolve().relative_to(root.resolve())) if where else ""
        found.append(
            (d.code, d.severity, file, where.line if where else 0, where.column if where else 0)
        )
    return found


def test_the_base_project_validates_clean(base_project: Path) -> None:
    assert _reported(base_project) == []


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.id for case in ALL_CASES])
def test_a_broken_configuration_reports_exactly_its_code_at_its_place(
    case: Case, base_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(base_project, root)
    case.change(root)
    text = (root / case.file).read_text(encoding="utf-8")
    line, column = position_of(text, case.needle, case.offset)
    assert _reported(root) == [(case.code, case.severity, case.file, line, column)]


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in ALL_CASES]
    assert len(ids) == len(set(ids))
