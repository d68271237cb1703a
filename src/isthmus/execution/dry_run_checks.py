"""The checks of a sampled batch that need the destination, done read-only.

A run checks references inside its transaction, where the rows earlier streams loaded are
visible, and skips a row older than the version the destination (or an earlier batch) holds.
A dry run writes nothing, so it reads the core database as it stands and adds what the
sample would have loaded before: the rows of earlier streams, and earlier batches' cursors.
"""

from __future__ import annotations

import polars as pl

from isthmus.connectors.base import TableSpec
from isthmus.connectors.sampling_core import ReadOnlyCore
from isthmus.execution.writes import rows_to_apply
from isthmus.validation.models import CompiledMapping, Reference
from isthmus.validation.rows import RowPlan
from isthmus.validation.rows import check_references as check_rows_references

NO_CORE = "not checked: the core database does not exist yet"


class WouldLoad:
    """Values of core fields that the sample's earlier streams would have loaded, for the
    references of later streams (a run sees them in its transaction)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], list[pl.Series]] = {}

    def add(self, entity: str, rows: pl.DataFrame, fields: set[str]) -> None:
        for name in fields & set(rows.columns):
            self.values.setdefault((entity, name), []).append(rows.get_column(name))

    def of(self, entity: str, name: str) -> list[pl.Series]:
        return self.values.get((entity, name), [])


def check_references(
    frame: pl.DataFrame,
    plan: RowPlan,
    core: ReadOnlyCore,
    tables: dict[str, TableSpec],
    tenant: str,
    loaded: WouldLoad,
) -> pl.DataFrame:
    """``frame`` with the rows whose reference exists nowhere marked rejected: not in the
    core database, nor among the rows earlier streams of the sample would load."""

    def existing(reference: Reference, candidates: pl.Series) -> pl.Series:
        table = tables[reference.entity]
        stored = core.existing(table, reference.target_field, tenant, candidates)
        found = [stored, *loaded.of(reference.entity, reference.target_field)]
        return pl.concat([s.cast(candidates.dtype).rename("found") for s in found])

    return check_rows_references(frame, plan, existing)


def referenced_fields(mappings: tuple[CompiledMapping, ...]) -> dict[str, set[str]]:
    """Entity -> its fields that some mapping references."""
    wanted: dict[str, set[str]] = {}
    for mapping in mappings:
        for reference in mapping.references:
            wanted.setdefault(reference.entity, set()).add(reference.target_field)
    return wanted


class CursorSkips:
    """Which good rows a run would skip because a newer version of their key exists, in the
    core database or earlier in the sample; decided by the run's own rule
    (``writes.rows_to_apply``)."""

    def __init__(self, mapping: CompiledMapping, core: ReadOnlyCore | None, tenant: str) -> None:
        self.table = mapping.table
        self.cursor = mapping.mapping.cursor_field
        self.core = core
        self.tenant = tenant
        key = self.table.row_key
        schema = {c: self.table.column(c).type.to_polars() for c in key}
        if self.cursor is not None:
            schema[self.cursor] = self.table.column(self.cursor).type.to_polars()
        self.seen = pl.DataFrame(schema=schema)  # the newest cursor per key so far

    def applied(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows a run would apply (all of them without a cursor field)."""
        if self.cursor is None or rows.is_empty():
            return rows
        key, cursor = self.table.row_key, self.cursor
        stored = (
            self.core.current(self.table, self.tenant, rows, cursor)
            if self.core is not None
            else self.seen.clear()
        )
        current = (
            pl.concat([stored, self.seen], how="vertical_relaxed")
            .group_by(key)
            .agg(pl.col(cursor).max())
        )
        applied = rows_to_apply(rows, self.table, cursor, current)
        self.seen = (
            pl.concat([self.seen, applied.select(*key, cursor)], how="vertical_relaxed")
            .group_by(key)
            .agg(pl.col(cursor).max())
        )
        return applied
