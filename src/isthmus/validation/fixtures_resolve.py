"""Check a fixture case against the project and make it ready to run.

The case's integration is checked and compiled exactly as a run does it (``check_for_run``),
so a case runs the mapping a run would. Then every name the case uses (mapping or stream,
entities, fields, rules) and every expected value is checked, each problem a diagnostic at
the place it was written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from isthmus.config.project import Project
from isthmus.diagnostics import BROKEN_DEPENDENCY, Diagnostic, Location, has_errors
from isthmus.validation.fixtures_checks import (
    CaseSite,
    check_existing,
    check_expected_rows,
    check_records,
    check_rejections,
    close_match,
)
from isthmus.validation.fixtures_loader import LoadedCase, LoadedFile
from isthmus.validation.fixtures_model import (
    DEFAULT_NOW,
    ResolvedCase,
    Rows,
)
from isthmus.validation.models import CompiledIntegration, CompiledMapping
from isthmus.validation.project import check_for_run


class FixtureResolver:
    """Resolves cases against one project, compiling each integration once."""

    def __init__(self, project: Project, *, today: dt.date | None = None) -> None:
        self.project = project
        self.today = today
        self._compiled: dict[str, tuple[CompiledIntegration | None, list[Diagnostic]]] = {}

    @property
    def integration_problems(self) -> list[Diagnostic]:
        """The errors of every integration a case needed that does not validate."""
        return [
            d
            for compiled, found in self._compiled.values()
            if compiled is None
            for d in found
            if d.is_error
        ]

    def resolve(self, file: LoadedFile, loaded: LoadedCase) -> tuple[ResolvedCase | None, str]:
        """The case ready to run, or None with its problems added to ``loaded.problems``;
        and the name of the integration it tests (empty if it names none)."""
        assert file.document is not None
        assert file.defaults is not None
        assert loaded.case is not None
        site = CaseSite(file.document, loaded.index, loaded.case, file.defaults)
        problems = loaded.problems
        name = site.case.integration or site.defaults.integration
        if name is None:
            problems.append(_names_none(site, "integration", "the integration to test"))
            return None, ""
        compiled = self._integration(site, name, problems)
        mapping = _mapping(site, compiled, problems) if compiled else None
        if compiled is None or mapping is None:
            return None, name
        existing_path = site.path("existing")
        existing = _existing_rows(site)
        typed_existing = check_existing(self.project, site, existing_path, existing, problems)
        rows = check_expected_rows(site, mapping, problems)
        check_rejections(site, mapping, existing, problems)
        check_records(site, mapping, problems)
        if has_errors(problems):
            return None, name
        return ResolvedCase(
            file=file.path,
            name=loaded.name,
            integration=name,
            tenant=compiled.tenant,
            mapping=mapping,
            records=site.case.records,
            now=_now(site),
            existing=self._visible(typed_existing, compiled.tenant),
            rows=rows,
            rejected=site.case.expect.rejected,
        ), name

    def _integration(
        self, site: CaseSite, name: str, problems: list[Diagnostic]
    ) -> CompiledIntegration | None:
        where = site.location(site.path("integration"))
        if name not in self.project.integrations:
            problems.append(_unknown_integration(self.project, name, where))
            broken = self.project.unloaded_file("integration", name)
            if broken is not None:  # show why the file did not load, as a run would
                self._compiled[name] = (None, self._located_in(broken))
            return None
        if name not in self._compiled:
            self._compiled[name] = check_for_run(self.project, name, today=self.today)
        compiled, found = self._compiled[name]
        if compiled is None:
            errors = sum(1 for d in found if d.is_error)
            problems.append(
                Diagnostic(
                    BROKEN_DEPENDENCY,
                    f"integration {name!r} does not validate ({errors} error(s), shown with "
                    "their own places), so its mappings cannot run",
                    where,
                    hint=f"fix what `isthmus validate` reports for {name}",
                )
            )
        return compiled

    def _located_in(self, file: Path) -> list[Diagnostic]:
        return [
            d
            for d in self.project.diagnostics
            if d.location is not None and d.location.file == file
        ]

    def _visible(self, existing: dict[str, Rows], tenant: str) -> dict[str, Rows]:
        """The existing rows the integration's tenant sees: a row that names another tenant
        in its tenant key belongs to that tenant."""
        visible = {}
        for name, rows in existing.items():
            key = self.project.entities[name].model.tenant_key
            visible[name] = [row for row in rows if row.get(key, tenant) == tenant]
        return visible


def _unknown_integration(project: Project, name: str, where: Location) -> Diagnostic:
    broken = project.unloaded_file("integration", name)
    if broken is not None:
        return Diagnostic(
            BROKEN_DEPENDENCY,
            f"integration {name!r} is declared in {broken}, which did not load",
            where,
            hint=f"fix the errors `isthmus validate` reports for {broken}",
        )
    return Diagnostic(
        "fixture-unknown-integration",
        f"integration {name!r} does not exist in this project",
        where,
        hint=close_match(name, project.integrations)
        or f"integrations: {', '.join(sorted(project.integrations)) or 'none'}",
    )


def _mapping(
    site: CaseSite, compiled: CompiledIntegration, problems: list[Diagnostic]
) -> CompiledMapping | None:
    case, defaults = site.case, site.defaults
    own = case.mapping is not None or case.stream is not None
    mapping_name = case.mapping if own else defaults.mapping
    stream_name = case.stream if own else defaults.stream
    names = [m.name for m in compiled.mappings]
    if mapping_name is not None:
        found = [m for m in compiled.mappings if m.name == mapping_name]
        if not found:
            problems.append(
                Diagnostic(
                    "fixture-unknown-mapping",
                    f"integration {compiled.name!r} has no mapping {mapping_name!r}",
                    site.location(site.path("mapping")),
                    hint=close_match(mapping_name, names) or f"mappings: {', '.join(names)}",
                )
            )
        return found[0] if found else None
    if stream_name is None:
        problems.append(_names_none(site, "mapping", "the mapping that runs (or its stream)"))
        return None
    reading = [m for m in compiled.mappings if m.stream_name == stream_name]
    if len(reading) == 1:
        return reading[0]
    streams = sorted({m.stream_name for m in compiled.mappings})
    where = site.location(site.path("stream"))
    if reading:
        problems.append(
            Diagnostic(
                "fixture-ambiguous-stream",
                f"{len(reading)} mappings of integration {compiled.name!r} read stream "
                f"{stream_name!r}: {', '.join(sorted(m.name for m in reading))}",
                where,
                hint="name the one to run with `mapping:` instead of `stream:`",
            )
        )
    else:
        problems.append(
            Diagnostic(
                "fixture-unknown-stream",
                f"no mapping of integration {compiled.name!r} reads stream {stream_name!r}",
                where,
                hint=close_match(stream_name, streams) or f"streams: {', '.join(streams)}",
            )
        )
    return None


def _names_none(site: CaseSite, key: str, what: str) -> Diagnostic:
    return Diagnostic(
        "missing-key",
        f"case {site.case.name!r} does not say {what}",
        site.in_case(at_key=True),
        hint=f"add `{key}:` to the case, or at the top of the file for all its cases",
    )


def _existing_rows(site: CaseSite) -> dict[str, Rows]:
    chosen = site.case.existing if site.given("existing") else site.defaults.existing
    return chosen or {}


def _now(site: CaseSite) -> dt.datetime:
    now = site.case.now if site.given("now") else site.defaults.now
    if now is None:
        return DEFAULT_NOW
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)
