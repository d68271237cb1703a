"""Validate a whole project: every file, the core model, every template and integration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from isthmus.config.project import PROJECT_FILE, Project
from isthmus.diagnostics import BROKEN_DEPENDENCY, Diagnostic, has_errors
from isthmus.validation.core_model import check_core_model
from isthmus.validation.credentials import credential_diagnostics
from isthmus.validation.integration import check_integration
from isthmus.validation.models import CompiledIntegration
from isthmus.validation.template import check_template


def validate_project(project: Project, *, today: dt.date | None = None) -> list[Diagnostic]:
    """Every problem of the project, each once, in file order. ``today`` decides which
    exceptions have expired (default: the local date)."""
    found = [*project.diagnostics, *check_core_model(project)]
    for versions in project.templates.values():
        for loaded in versions.values():
            found.extend(p for p in check_template(project, loaded) if p.code != BROKEN_DEPENDENCY)
    for name in sorted(project.integrations):
        _, problems = check_integration(project, name, today=today)
        # The errors of a file that did not load are reported once, for that file; what
        # depends on it would only repeat them.
        found.extend(p for p in problems if p.code != BROKEN_DEPENDENCY)
    for versions in project.templates.values():
        for loaded in versions.values():
            found.extend(credential_diagnostics("template", loaded.document, found))
    for loaded_integration in project.integrations.values():
        found.extend(credential_diagnostics("integration", loaded_integration.document, found))
    return _unique_sorted(found)


def check_for_run(
    project: Project, name: str, *, today: dt.date | None = None
) -> tuple[CompiledIntegration | None, list[Diagnostic]]:
    """What a run of one integration must pass: the core model and the integration."""
    compiled, problems = check_integration(project, name, today=today)
    problems = [*check_core_model(project), *problems]
    problems += _credentials_of(project, name, problems)
    # A dependency that did not load: show the errors that stopped it, not just the fact.
    # Every run depends on the project file (its custom functions, databases, policy) too.
    broken = _broken_files(project, name) | {project.root / PROJECT_FILE}
    problems += [
        d
        for d in project.diagnostics
        if d.location is not None and d.location.file in broken and d.is_error
    ]
    problems = _unique_sorted(problems)
    return (None if has_errors(problems) else compiled), problems


def _credentials_of(project: Project, name: str, reported: list[Diagnostic]) -> list[Diagnostic]:
    """Credential values written into the integration or the templates it may use."""
    integration = project.integrations[name]
    found = credential_diagnostics("integration", integration.document, reported)
    for loaded in project.templates.get(integration.model.template_name, {}).values():
        found += credential_diagnostics("template", loaded.document, reported)
    return found


def _broken_files(project: Project, name: str) -> set[Path]:
    """Files of the templates and entities integration ``name`` needs that did not load."""
    template_name = project.integrations[name].model.template_name
    files = {project.unloaded_file("template", template_name)}
    for loaded in project.templates.get(template_name, {}).values():
        for mapping in loaded.model.mappings.values():
            files.add(project.unloaded_file("entity", mapping.entity))
    for entity in project.entities.values():
        for spec in entity.model.fields.values():
            if spec.referenced:
                files.add(project.unloaded_file("entity", spec.referenced[0]))
    return {f for f in files if f is not None}


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
