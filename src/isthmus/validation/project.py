"""Validate a whole project: every file, the core model, every template and integration."""

from __future__ import annotations

from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic
from isthmus.validation.core_model import check_core_model
from isthmus.validation.integration import check_integration
from isthmus.validation.models import CompiledIntegration


def validate_project(project: Project) -> list[Diagnostic]:
    """Every problem of the project, each once, in file order."""
    found = [*project.diagnostics, *check_core_model(project)]
    for name in sorted(project.integrations):
        _, problems = check_integration(project, name)
        found.extend(problems)
    return _unique_sorted(found)


def check_for_run(
    project: Project, name: str
) -> tuple[CompiledIntegration | None, list[Diagnostic]]:
    """What a run of one integration must pass: the core model and the integration."""
    compiled, problems = check_integration(project, name)
    problems = _unique_sorted([*check_core_model(project), *problems])
    return compiled, problems


def _unique_sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for diagnostic in diagnostics:
        key = (diagnostic.code, diagnostic.location, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)

    def order(d: Diagnostic) -> tuple[str, int, int]:
        if d.location is None:
            return ("", 0, 0)
        return (str(d.location.file), d.location.line, d.location.column)

    return sorted(unique, key=order)
