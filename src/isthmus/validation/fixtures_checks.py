"""The names and values a fixture case uses, checked against its mapping and the core model.

Each check appends diagnostics located where the offending key or value was written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from isthmus.config.documents import Document, PathKey
from isthmus.config.models import Entity
from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.types import DataType, Kind
from isthmus.validation.fixtures_loader import CASES
from isthmus.validation.fixtures_model import (
    MALFORMED,
    ExpectedRejection,
    FixtureCase,
    FixtureDefaults,
    Rows,
)
from isthmus.validation.fixtures_values import ValueTypeError, typed_value
from isthmus.validation.models import CompiledMapping
from isthmus.validation.rows import RowPlan


@dataclass(frozen=True)
class CaseSite:
    """Where a case's keys were written: in the case, or among the file's defaults."""

    document: Document
    index: int
    case: FixtureCase
    defaults: FixtureDefaults

    def given(self, key: str) -> bool:
        return key in self.case.model_fields_set

    def path(self, key: str) -> PathKey:
        """The path of ``key`` as it applies to this case (the file's default if the case
        does not set it)."""
        return (CASES, self.index, key) if self.given(key) else (key,)

    def location(self, path: PathKey, *, at_key: bool = False) -> Location:
        return self.document.location(path, at_key=at_key)

    def in_case(self, *path: str | int, at_key: bool = False) -> Location:
        return self.document.location((CASES, self.index, *path), at_key=at_key)


def check_existing(
    project: Project,
    site: CaseSite,
    base: PathKey,
    existing: dict[str, Rows],
    problems: list[Diagnostic],
) -> dict[str, Rows]:
    """The existing rows, each value in its field's type."""
    typed: dict[str, Rows] = {}
    for name, rows in existing.items():
        loaded = project.entities.get(name)
        if loaded is None:
            problems.append(
                Diagnostic(
                    "fixture-unknown-entity",
                    f"existing rows are given for entity {name!r}, which the core model does "
                    "not declare",
                    site.location((*base, name), at_key=True),
                    hint=close_match(name, project.entities)
                    or f"entities: {', '.join(sorted(project.entities))}",
                )
            )
            continue
        typed[name] = [
            _typed_row(site, loaded.model, row, (*base, name, j), problems)
            for j, row in enumerate(rows)
        ]
    return typed


def check_expected_rows(
    site: CaseSite, mapping: CompiledMapping, problems: list[Diagnostic]
) -> Rows | None:
    """The expected rows, each value in its field's type; None when the case expects none."""
    rows = site.case.expect.rows
    if rows is None:
        return None
    base = (CASES, site.index, "expect", "rows")
    return [
        _typed_row(site, mapping.entity, row, (*base, j), problems) for j, row in enumerate(rows)
    ]


def _typed_row(
    site: CaseSite, entity: Entity, row: dict[str, Any], path: PathKey, problems: list[Diagnostic]
) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, value in row.items():
        data_type = entity.field_type(name)
        if data_type is None:
            problems.append(
                Diagnostic(
                    "fixture-unknown-field",
                    f"entity {entity.entity!r} has no field {name!r}",
                    site.location((*path, name), at_key=True),
                    hint=close_match(name, entity.column_names)
                    or f"fields: {', '.join(entity.column_names)}",
                )
            )
            continue
        try:
            typed[name] = typed_value(value, data_type)
        except ValueTypeError as problem:
            problems.append(
                Diagnostic(
                    "fixture-value-type",
                    f"{entity.entity}.{name} {problem}",
                    site.location((*path, name)),
                    hint=f"write a {data_type} value, or null",
                )
            )
    return typed


def check_rejections(
    site: CaseSite, mapping: CompiledMapping, existing: dict[str, Rows], problems: list[Diagnostic]
) -> None:
    """Every expected rejection names a record of the case and a check the mapping has."""
    expected = site.case.expect.rejected
    if expected is None:
        return
    checks = possible_checks(mapping)
    count = len(site.case.records)
    first: dict[int, int] = {}
    for k, entry in enumerate(expected):
        path: PathKey = ("expect", "rejected", k)
        if entry.record > count:
            problems.append(
                Diagnostic(
                    "fixture-record-out-of-range",
                    f"record {entry.record} is expected to be rejected, but the case has "
                    f"{count} record(s)",
                    site.in_case(*path, "record"),
                    hint="records are numbered from 1 in the order of `records:`",
                )
            )
        elif first.setdefault(entry.record, k) != k:
            problems.append(
                Diagnostic(
                    "fixture-duplicate-record",
                    f"record {entry.record} is expected to be rejected twice (also on line "
                    f"{site.in_case(*path[:-1], first[entry.record]).line}); a record is "
                    "rejected for the first check it fails, only",
                    site.in_case(*path, "record"),
                    hint="keep the rejection of the check the record fails first",
                )
            )
        problems.extend(_rule_problems(site, mapping, checks, existing, entry, path))


def possible_checks(mapping: CompiledMapping) -> dict[str | None, list[str]]:
    """Field (None for a malformed record) -> the rules that can reject a record on it, in
    the order they are checked."""
    checks: dict[str | None, list[str]] = {None: [MALFORMED]}
    for reason in RowPlan(mapping).reasons:
        rules = checks.setdefault(reason.field, [])
        if reason.rule not in rules:
            rules.append(reason.rule)
    return checks


def _rule_problems(
    site: CaseSite,
    mapping: CompiledMapping,
    checks: dict[str | None, list[str]],
    existing: dict[str, Rows],
    entry: ExpectedRejection,
    path: PathKey,
) -> list[Diagnostic]:
    if entry.field is None and entry.rule != MALFORMED:
        return [
            Diagnostic(
                "missing-key",
                f"the rejection of record {entry.record} by rule {entry.rule!r} names no field",
                site.in_case(*path, at_key=True),
                hint="add `field:` with the field the check is on",
            )
        ]
    rules = checks.get(entry.field, [])
    if entry.rule not in rules:
        return [_unknown_rule(site, mapping, checks, entry, path)]
    reference = next((r for r in mapping.references if r.field == entry.field), None)
    if entry.rule == "reference" and reference and reference.entity not in existing:
        return [
            Diagnostic(
                "fixture-reference-unchecked",
                f"record {entry.record} is expected to be rejected by rule 'reference' on "
                f"{entry.field}, but the case gives no existing {reference.entity} rows, so "
                f"references to {reference.entity} are not checked",
                site.in_case(*path, "rule"),
                hint=f"add `existing: {{{reference.entity}: [...]}}` to the case or the file",
            )
        ]
    return []


def _unknown_rule(
    site: CaseSite,
    mapping: CompiledMapping,
    checks: dict[str | None, list[str]],
    entry: ExpectedRejection,
    path: PathKey,
) -> Diagnostic:
    if entry.rule == MALFORMED:
        return Diagnostic(
            "fixture-unknown-rule",
            "a malformed record is rejected as a whole, not on a field",
            site.in_case(*path, "field", at_key=True),
            hint="remove `field:` from this rejection",
        )
    rules = checks.get(entry.field, [])
    if rules:
        return Diagnostic(
            "fixture-unknown-rule",
            f"mapping {mapping.name!r} has no check {entry.rule!r} on {entry.field}",
            site.in_case(*path, "rule"),
            hint=f"the checks on {entry.field}: {', '.join(rules)}",
        )
    fields = [f for f in checks if f is not None]
    return Diagnostic(
        "fixture-unknown-rule",
        f"mapping {mapping.name!r} has no check on field {entry.field!r}",
        site.in_case(*path, "field"),
        hint=close_match(str(entry.field), fields) or f"fields it checks: {', '.join(fields)}",
    )


def check_records(site: CaseSite, mapping: CompiledMapping, problems: list[Diagnostic]) -> None:
    """A warning for each record field the stream does not declare: a source ignores it, as
    the case will, but it is more often a misspelt name than a test of that."""
    for index, record in enumerate(site.case.records):
        if not isinstance(record, dict):
            continue  # the source cannot read it: a malformed record, which a case may test
        for path, declared in _undeclared(record, mapping.source_fields, ()):
            dotted = ".".join(part for part in path if isinstance(part, str))
            problems.append(
                Diagnostic(
                    "fixture-undeclared-field",
                    f"record {index + 1} has field {dotted!r}, which stream "
                    f"{mapping.stream_name!r} does not declare",
                    site.in_case("records", index, *path, at_key=True),
                    hint=close_match(str(path[-1]), declared)
                    or f"declared here: {', '.join(declared)}",
                    severity=Severity.WARNING,
                )
            )


def _undeclared(
    record: dict[str, Any], fields: dict[str, DataType], path: PathKey
) -> Iterator[tuple[PathKey, list[str]]]:
    """The path of each key of ``record`` (at any depth) its declared type lacks, with the
    names declared beside it."""
    for key, value in record.items():
        data_type = fields.get(key)
        if data_type is None:
            yield (*path, key), list(fields)
        elif isinstance(value, dict) and data_type.kind is Kind.STRUCT:
            yield from _undeclared(value, dict(data_type.fields), (*path, key))
        elif isinstance(value, list) and data_type.item and data_type.item.kind is Kind.STRUCT:
            inner = dict(data_type.item.fields)
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _undeclared(item, inner, (*path, key, i))


def close_match(name: str, known: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {match[0]!r}?" if match else None
