"""`isthmus test`: run the fixture cases under a project's tests/ folder.

Each file is read with positions, each case checked against the project and then run through
the real mapping and validation of its integration (see ``fixtures_runner``). Nothing is
read from a connector and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable

from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic
from isthmus.validation.fixtures_diff import compare
from isthmus.validation.fixtures_loader import (
    LoadedCase,
    LoadedFile,
    fixture_files,
    load_fixture_file,
)
from isthmus.validation.fixtures_model import CaseResult, FileResult, FixtureReport
from isthmus.validation.fixtures_resolve import FixtureResolver
from isthmus.validation.fixtures_runner import run_case

Timer = Callable[[], float]


def run_fixture_tests(
    project: Project,
    *,
    name_filter: str | None = None,
    today: dt.date | None = None,
    timer: Timer = time.perf_counter,
) -> FixtureReport:
    """Every case of every test file (only those whose name or file contains
    ``name_filter``, in any case, when given). ``today`` decides which guardrail exceptions
    have expired, as for a run."""
    resolver = FixtureResolver(project, today=today)
    files: list[FileResult] = []
    diagnostics: list[Diagnostic] = []
    for path in fixture_files(project.root):
        loaded = load_fixture_file(path)
        diagnostics += loaded.problems
        shown = str(path.relative_to(project.root).as_posix())
        chosen = [c for c in loaded.cases if _selected(name_filter, shown, c.name)]
        results = [_run(resolver, loaded, case, timer) for case in chosen]
        diagnostics += [d for case in chosen for d in case.problems]
        if results or loaded.problems:
            files.append(FileResult(path, tuple(results), tuple(loaded.problems)))
    diagnostics += resolver.integration_problems
    return FixtureReport(tuple(files), tuple(_unique_sorted(diagnostics)))


def _selected(name_filter: str | None, file: str, name: str) -> bool:
    if not name_filter:
        return True
    wanted = name_filter.casefold()
    return wanted in name.casefold() or wanted in file.casefold()


def _run(
    resolver: FixtureResolver, file: LoadedFile, loaded: LoadedCase, timer: Timer
) -> CaseResult:
    if loaded.case is None or file.defaults is None:
        # The case, or the file's top-level keys it inherits, did not validate.
        return CaseResult(loaded.name, "error", problems=tuple(loaded.problems or file.problems))
    start = timer()
    resolved, integration = resolver.resolve(file, loaded)
    if resolved is None:
        return CaseResult(
            loaded.name, "error", integration=integration or None, problems=tuple(loaded.problems)
        )
    outcome = run_case(resolved)
    differences = compare(resolved, outcome)
    return CaseResult(
        loaded.name,
        "failed" if differences else "passed",
        integration=integration,
        mapping=resolved.mapping.name,
        differences=tuple(differences),
        notes=tuple(outcome.notes),
        seconds=timer() - start,
    )


def _unique_sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))

    def place(d: Diagnostic) -> tuple[str, int, int]:
        where = d.location
        return ("", 0, 0) if where is None else (str(where.file), where.line, where.column)

    return sorted(unique, key=place)
