"""Check a template's write-back targets and compile them; map core rows for sending.

A target's fields are mapping expressions over the core entity's fields (typed already, so
there is nothing to convert), each giving one field of the record the external system gets.
A call that fails on a row (``to_int("x")``) rejects that row with a reason, as on the way
in; every other row is sent.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import polars as pl
from pydantic import BaseModel

from isthmus.config.documents import Locator, PathKey
from isthmus.config.models import Entity, Template
from isthmus.config.project import Project
from isthmus.config.writeback import WriteBackTarget
from isthmus.connectors.base import TableSpec
from isthmus.connectors.registry import WRITEBACK, WriteBackConnector
from isthmus.diagnostics import BROKEN_DEPENDENCY, Diagnostic
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.types import SCALAR_KINDS, DataType, Kind
from isthmus.validation.rows import (
    CHECK,
    VALUE,
    expression_failures,
    expression_value,
    run_context,
    step_levels,
)
from isthmus.validation.tables import table_spec

SENDABLE = SCALAR_KINDS | {Kind.NULL}
FILE_CONNECTOR = "file"
# A file target's path placeholders name facts of the run, not fields of a record.
RUN_PLACEHOLDERS = ("run_id", "date")


@dataclass(frozen=True)
class FailedCall:
    function: str
    field: str
    message: str


@dataclass(frozen=True)
class CompiledWriteBack:
    """One write-back target, checked and compiled."""

    name: str
    target: WriteBackTarget
    entity: Entity
    table: TableSpec
    fields: dict[str, CompiledExpression]
    pii_fields: frozenset[str]  # external fields filled from personal data
    # What the path's {placeholders} name: a record's mapped fields (REST), or the run's
    # facts (a file: RUN_PLACEHOLDERS).
    path_placeholders: Literal["fields", "run"] = "fields"

    @property
    def stream_name(self) -> str:
        return f"writeback:{self.name}"

    @property
    def key(self) -> list[str]:
        return self.table.row_key

    def evaluate(self, rows: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
        """The external records of ``rows``, each with the index of the first call that
        failed on it (or null) and that call's input value, plus the row's key columns.
        ``now`` is the run's start time, which now_utc() gives."""
        failures = [(f, c) for c in self.fields.values() for f in expression_failures(c)]
        first = (
            pl.coalesce(
                [
                    pl.when(f.condition).then(pl.lit(i, pl.Int32))
                    for i, (f, _) in enumerate(failures)
                ]
            )
            if failures
            else pl.lit(None, pl.Int32)
        )
        value = (
            pl.coalesce([pl.when(f.condition).then(f.value.cast(pl.String)) for f, _ in failures])
            if failures
            else pl.lit(None, pl.String)
        )
        frame = rows.lazy().with_columns(run_context(now))
        for level in step_levels(self.fields.values()):
            frame = frame.with_columns(level)
        keys = [pl.col(k).alias(f"__key_{k}") for k in self.key]
        return frame.select(
            *keys,
            *(expression_value(c).alias(name) for name, c in self.fields.items()),
            first.alias(CHECK),
            value.alias(VALUE),
        ).collect()

    def failed_calls(self) -> list[FailedCall]:
        """What each failure index of :meth:`evaluate` means."""
        return [
            FailedCall(f.function, name, f.describe())
            for name, c in self.fields.items()
            for f in expression_failures(c)
        ]


def writeback_connector(
    template: Template, locator: Locator, problems: list[Diagnostic]
) -> WriteBackConnector | None:
    if template.writeback is None:
        return None
    name = template.writeback.connector
    connector = WRITEBACK.get(name)
    if connector is None:
        problems.append(
            Diagnostic(
                "unknown-connector",
                f"write-back connector {name!r} does not exist",
                locator.location(("writeback", "connector")),
                hint=f"write-back connectors: {', '.join(sorted(WRITEBACK))}",
            )
        )
    return connector


def compile_writebacks(
    project: Project, template: Template, locator: Locator, problems: list[Diagnostic]
) -> list[CompiledWriteBack]:
    if template.writeback is None:
        return []
    compiled = []
    to_files = template.writeback.connector == FILE_CONNECTOR
    for name, target in template.writeback.targets.items():
        base = ("writeback", "targets", name)
        if name in template.mappings:
            problems.append(
                Diagnostic(
                    "duplicate-name",
                    f"write-back target {name!r} has the name of a mapping; runs record both "
                    "by name",
                    locator.location(base, at_key=True),
                    hint=f"rename it, e.g. {name}_back",
                )
            )
            continue
        result = _compile_target(project, name, target, locator, base, problems, to_files)
        if result is not None:
            compiled.append(result)
    return compiled


def _compile_target(
    project: Project,
    name: str,
    target: WriteBackTarget,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
    to_files: bool,
) -> CompiledWriteBack | None:
    loaded = project.entities.get(target.entity)
    broken = project.unloaded_file("entity", target.entity)
    if loaded is None and broken is not None:
        problems.append(
            Diagnostic(
                BROKEN_DEPENDENCY,
                f"write-back target {name!r} reads entity {target.entity!r}, whose file "
                f"{broken} did not load",
                locator.location((*base, "entity")),
                hint=f"fix the errors reported for {broken}",
            )
        )
    elif loaded is None:
        problems.append(
            Diagnostic(
                "unknown-entity",
                f"write-back target {name!r} reads entity {target.entity!r}, which the core "
                "model does not declare",
                locator.location((*base, "entity")),
                hint=f"entities: {', '.join(sorted(project.entities)) or 'none'}",
            )
        )
    if loaded is None:
        return None
    entity = loaded.model
    schema = {field: spec.data_type for field, spec in entity.fields.items()}
    ok = _check_cursor(entity, target, locator, base, problems)
    fields: dict[str, CompiledExpression] = {}
    for external, expression in target.fields.items():
        path = (*base, "fields", external)
        result, found = compile_expression(
            expression, schema, locator.expression_location(path), prefix=f"__wb_{external}_"
        )
        problems.extend(found)
        if result is None:
            ok = False
        elif result.type.kind not in SENDABLE:
            problems.append(
                Diagnostic(
                    "type-mismatch",
                    f"write-back field {external} is {result.type}; a request can carry text, "
                    "numbers, booleans, timestamps and dates",
                    locator.expression_location(path),
                    hint="map it to one of those types",
                )
            )
            ok = False
        else:
            fields[external] = result
    path_ok = (
        _check_file_target(name, target, locator, base, problems)
        if to_files
        else _check_field_placeholders(name, target, locator, base, problems)
    )
    if not (ok and path_ok):
        return None
    pii = frozenset(
        external
        for external, c in fields.items()
        if any(entity.fields[f].pii for f in c.source_fields if f in entity.fields)
    )
    placeholders: Literal["fields", "run"] = "run" if to_files else "fields"
    return CompiledWriteBack(name, target, entity, table_spec(entity), fields, pii, placeholders)


def _check_field_placeholders(
    name: str,
    target: WriteBackTarget,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> bool:
    """A request path's placeholders must name mapped fields of the record."""
    ok = True
    for placeholder in target.placeholders:
        if placeholder not in target.fields:
            problems.append(
                Diagnostic(
                    "unknown-field",
                    f"write-back target {name!r}: path {target.path!r} uses {{{placeholder}}}, "
                    "which is not one of its fields",
                    locator.location((*base, "path")),
                    hint=f"add {placeholder} under fields, or change the path",
                )
            )
            ok = False
    return ok


def _check_file_target(
    name: str,
    target: WriteBackTarget,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> bool:
    """A file target's path names a file inside the root, with run facts as placeholders;
    it has no batches (the whole target is one file)."""
    found: list[tuple[PathKey, str, str]] = []
    unknown = [p for p in target.placeholders if p not in RUN_PLACEHOLDERS]
    if unknown:
        found.append(
            (
                (*base, "path"),
                f"write-back target {name!r}: path {target.path!r} uses "
                f"{', '.join(f'{{{p}}}' for p in unknown)}; a file path may use only "
                f"{', '.join(f'{{{p}}}' for p in RUN_PLACEHOLDERS)}",
                "use {run_id} or {date} (the run's UTC date), or write the name out",
            )
        )
    relative = posixpath.normpath(target.path.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        found.append(
            (
                (*base, "path"),
                f"write-back target {name!r}: path {target.path!r} leads outside the "
                "connection's root",
                "write the file's path inside the root, without '..' climbing out of it",
            )
        )
    elif relative == "." or target.path.endswith("/"):
        found.append(
            (
                (*base, "path"),
                f"write-back target {name!r}: path {target.path!r} names a folder, not a file",
                "end the path with the file's name, e.g. /exports/contacts.csv",
            )
        )
    if target.batch is not None:
        found.append(
            (
                (*base, "batch"),
                f"write-back target {name!r} sets batch, which a file target does not have: "
                "the whole target is written as one file",
                "remove batch",
            )
        )
    for where, message, hint in found:
        problems.append(Diagnostic("invalid-value", message, locator.location(where), hint=hint))
    return not found


def _check_cursor(
    entity: Entity,
    target: WriteBackTarget,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> bool:
    cursor = target.cursor_field
    if cursor is None:
        return True
    data_type: DataType | None = entity.field_type(cursor)
    if data_type is None:
        problems.append(
            Diagnostic(
                "unknown-core-field",
                f"write-back cursor_field {cursor!r} is not a field of {entity.entity}",
                locator.location((*base, "cursor_field")),
                hint=f"fields: {', '.join(entity.fields)}",
            )
        )
        return False
    if data_type.kind not in (Kind.TIMESTAMP, Kind.DATE, Kind.INTEGER, Kind.STRING):
        problems.append(
            Diagnostic(
                "invalid-cursor",
                f"write-back cursor_field {cursor!r} is {data_type}; a cursor must order "
                "changes (a timestamp, date, integer or text)",
                locator.location((*base, "cursor_field")),
                hint="use the field the core product sets when it changes a row",
            )
        )
        return False
    return True


def writeback_options(
    connector: WriteBackConnector, template: Template, locator: Locator, problems: list[Diagnostic]
) -> BaseModel | None:
    from isthmus.validation.template import validated  # noqa: PLC0415 - avoids a cycle

    assert template.writeback is not None
    return validated(
        connector.options, template.writeback.options, locator, ("writeback", "options"), problems
    )
