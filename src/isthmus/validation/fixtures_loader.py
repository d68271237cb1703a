"""Read fixture files with positions: every problem in one is a diagnostic at file:line:col.

A file's top-level keys and each of its cases are checked separately, so one broken case
leaves the file's other cases able to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from isthmus.config.diagnose import model_diagnostics
from isthmus.config.documents import Document, load_document
from isthmus.diagnostics import Diagnostic, Location
from isthmus.validation.fixtures_model import TESTS_DIR, FixtureCase, FixtureDefaults, FixtureFile

CASES = "cases"


@dataclass
class LoadedCase:
    index: int  # in the file's `cases:` list, from 0
    name: str
    case: FixtureCase | None  # None when the case itself does not validate
    problems: list[Diagnostic] = field(default_factory=list)


@dataclass
class LoadedFile:
    path: Path
    document: Document | None
    defaults: FixtureDefaults | None
    cases: list[LoadedCase] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # of the file as a whole


def fixture_files(root: Path) -> list[Path]:
    """Every YAML file under the project's tests/ folder, in path order."""
    folder = root / TESTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_fixture_file(path: Path) -> LoadedFile:
    document, problems = load_document(path)
    loaded = LoadedFile(path, document, None, problems=list(problems))
    if document is None:
        return loaded
    data = document.data
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        loaded.problems.append(
            Diagnostic(
                "invalid-value",
                f"a test file must hold a mapping of keys, but this one holds {found}",
                Location(path, 1, 1),
                hint="start the file with `cases:` and a list of cases under it",
            )
        )
        return loaded
    loaded.defaults = _defaults(document, data, loaded.problems)
    cases = data.get(CASES)
    if not isinstance(cases, list) or not cases:
        loaded.problems.append(_no_cases(document, cases))
        return loaded
    loaded.cases = [_case(document, index, raw) for index, raw in enumerate(cases)]
    _check_unique_names(document, loaded.cases)
    return loaded


def _defaults(
    document: Document, data: dict[str, Any], problems: list[Diagnostic]
) -> FixtureDefaults | None:
    try:
        return FixtureDefaults.model_validate({k: v for k, v in data.items() if k != CASES})
    except ValidationError as exc:
        problems.extend(model_diagnostics(exc, document, FixtureFile))
        return None


def _no_cases(document: Document, cases: object) -> Diagnostic:
    if cases is None and CASES not in document.data:
        return Diagnostic(
            "missing-key",
            "required key 'cases' is missing in the file",
            document.location(()),
            hint="add `cases:` with a list of cases, each with a name, records and expect",
        )
    return Diagnostic(
        "invalid-value",
        "cases: must be a list of one or more cases",
        document.location((CASES,)),
        hint="write each case as a list item: `- name: ...`",
    )


def _case(document: Document, index: int, raw: object) -> LoadedCase:
    named = raw.get("name") if isinstance(raw, dict) else None
    name = named if isinstance(named, str) and named else f"case {index + 1}"
    try:
        return LoadedCase(index, name, FixtureCase.model_validate(raw))
    except ValidationError as exc:
        found = model_diagnostics(exc, document, FixtureCase, (CASES, index))
        return LoadedCase(index, name, None, found)


def _check_unique_names(document: Document, cases: list[LoadedCase]) -> None:
    first: dict[str, LoadedCase] = {}
    for loaded in cases:
        if loaded.case is None:
            continue
        earlier = first.setdefault(loaded.name, loaded)
        if earlier is not loaded:
            line = document.location((CASES, earlier.index, "name")).line
            loaded.problems.append(
                Diagnostic(
                    "fixture-duplicate-name",
                    f"two cases of this file are named {loaded.name!r}; the first is on line "
                    f"{line}",
                    document.location((CASES, loaded.index, "name")),
                    hint="give each case of a file its own name",
                )
            )
