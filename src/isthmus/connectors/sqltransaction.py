"""One unit of commit on the SQL destination: staging tables and set-based statements.

Rows of a batch go into a temporary staging table in one bulk call; one statement then merges
them into the core table, scoped to the tenant. REPLACE stages the whole stream and swaps it in
when the stream finishes; delete propagation compares the tenant's rows with the keys a full
read met.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    MetaData,
    Select,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert

from isthmus.connectors.base import Checkpoint, DeletePolicy, TableSpec, WriteMode, WriteResult
from isthmus.connectors.sqldriver import SqlDriver, postgres_jsonb, read_back, sqlite_text
from isthmus.connectors.sqlerrors import classified
from isthmus.connectors.sqltables import MYSQL, scratch_name, scratch_table
from isthmus.types import Kind

if TYPE_CHECKING:
    from isthmus.connectors.sql import SqlDestination


class SqlTransaction:
    """One unit of commit on one connection."""

    def __init__(self, destination: SqlDestination, driver: SqlDriver) -> None:
        self.destination = destination
        self.driver = driver
        self.mysql = destination.engine.dialect.name in MYSQL
        self.scratch = MetaData()
        self.created: list[Table] = []

    # --- writing -------------------------------------------------------------------------

    def encode(self, table: TableSpec, rows: pa.Table) -> pa.Table:
        if self.driver.sqlite:
            return sqlite_text(rows)
        if self.mysql:
            return rows
        return postgres_jsonb(rows, [c.name for c in table.columns if c.type.kind is Kind.JSON])

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        if rows.num_rows == 0:
            return WriteResult()
        target = self.destination.table_for(table)
        with classified(f"write to core table {table.name!r}"):
            if mode is WriteMode.REPLACE:
                self._keep_last(self._scratch("replace", table, keyed=True), table, rows)
                return WriteResult()
            stage = self._land(table, rows)
            inserted = self._merge(stage, target, table, mode, rows.num_rows)
            self.driver.empty(stage)
        return WriteResult(inserted=inserted, updated=rows.num_rows - inserted)

    def mark_seen(self, table: TableSpec, tenant: str, keys: pa.Table) -> None:
        if keys.num_rows == 0:
            return
        with classified(f"remember the keys read for {table.name!r}"):
            seen = self._scratch("seen", table, columns=table.row_key, keyed=True)
            self._keep_last(seen, table, keys, columns=table.row_key)

    def finish(
        self, table: TableSpec, mode: WriteMode, tenant: str, deletes: DeletePolicy | None
    ) -> WriteResult:
        target = self.destination.table_for(table)
        with classified(f"finish writing core table {table.name!r}"):
            if mode is WriteMode.REPLACE:
                return self._swap(table, target, tenant)
            if deletes is not None:
                return WriteResult(deleted=self._propagate(table, target, tenant, deletes))
        return WriteResult()

    def save_checkpoint(
        self, integration: str, stream: str, token: Checkpoint, run_id: int
    ) -> None:
        checkpoints = self.destination.checkpoints
        with classified("save the checkpoint with the data"):
            self.driver.execute(
                delete(checkpoints).where(
                    and_(checkpoints.c.integration == integration, checkpoints.c.stream == stream)
                )
            )
            self.driver.execute(
                insert(checkpoints).values(
                    integration=integration,
                    stream=stream,
                    token=json.dumps(token, sort_keys=True),
                    run_id=run_id,
                )
            )

    # --- reading inside the transaction --------------------------------------------------

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        distinct = pl.Series(column, values).drop_nulls().unique()
        if distinct.is_empty():
            return pa.array([], values.type)
        target = self.destination.table_for(table)
        with classified(f"look up references in {table.name!r}"):
            lookup = self._scratch("values", table, columns=[column], extra=(column,))
            self.driver.ingest(lookup, self.encode(table, distinct.to_frame().to_arrow()))
            found = self.driver.rows(
                select(target.c[column])
                .distinct()
                .join(lookup, target.c[column] == lookup.c[column])
                .where(target.c[table.tenant_key] == tenant)
            )
            self.driver.empty(lookup)
        return _in_type([row[0] for row in found], values.type)

    def lookup(
        self, table: TableSpec, tenant: str, keys: pa.Table, columns: Sequence[str]
    ) -> pa.Table:
        key = table.row_key
        wanted = [*key, *(c for c in columns if c not in key)]
        types = {c: table.column(c).type.to_polars() for c in wanted}
        if keys.num_rows == 0:
            return pl.DataFrame(schema=types).to_arrow()
        target = self.destination.table_for(table)
        with classified(f"look up rows of {table.name!r}"):
            probe = self._scratch("keys", table, columns=key)
            unique = pl.from_arrow(keys)
            assert isinstance(unique, pl.DataFrame)
            self.driver.ingest(probe, self.encode(table, unique.select(key).unique().to_arrow()))
            found = self.driver.arrow(
                select(*(target.c[c] for c in wanted))
                .join(probe, and_(true(), *(target.c[k] == probe.c[k] for k in key)))
                .where(target.c[table.tenant_key] == tenant)
            )
            self.driver.empty(probe)
        return read_back(found, types, sqlite=self.driver.sqlite)

    # --- ending --------------------------------------------------------------------------

    def commit(self) -> None:
        with classified("commit the core database transaction"):
            for table in reversed(self.created):
                self.driver.drop(table)
            self.driver.commit()
        self.driver.close()

    def rollback(self) -> None:
        # A rollback that fails (the connection is gone) leaves nothing behind either: the
        # server drops an open transaction with its connection. The error that led here is
        # the one worth reporting, so this one is not raised over it.
        with contextlib.suppress(Exception):
            self.driver.rollback()
        with contextlib.suppress(Exception):
            self.driver.close()

    # --- helpers -------------------------------------------------------------------------

    def _scratch(
        self,
        kind: str,
        spec: TableSpec,
        *,
        columns: list[str] | None = None,
        keyed: bool = False,
        extra: tuple[str, ...] = (),
    ) -> Table:
        """A temporary table of this transaction, created on first use."""
        known = self.scratch.tables.get(scratch_name(kind, spec, extra))
        if known is not None:
            return known
        table = scratch_table(kind, spec, self.scratch, columns=columns, keyed=keyed, extra=extra)
        self.driver.create(table)
        self.created.append(table)
        return table

    def _land(self, spec: TableSpec, rows: pa.Table, columns: list[str] | None = None) -> Table:
        """Bulk-load rows into the table's unkeyed landing table."""
        names = columns or spec.column_names
        extra = ("keys",) if columns else ()
        stage = self._scratch("stage", spec, columns=names, extra=extra)
        # write() takes rows encode() has not seen too; encoding twice changes nothing.
        self.driver.ingest(stage, self.encode(spec, rows.select(names)))
        return stage

    def _keep_last(
        self, keyed: Table, spec: TableSpec, rows: pa.Table, columns: list[str] | None = None
    ) -> None:
        """Add rows to a keyed scratch table; a key it holds already takes the new row."""
        names = columns or spec.column_names
        stage = self._land(spec, rows, columns)
        source = select(*(stage.c[c] for c in names)).where(true())
        key = list(keyed.primary_key.columns.keys())
        self.driver.execute(self._upsert(keyed, names, key, source))
        self.driver.empty(stage)

    def _upsert(
        self, target: Table, columns: list[str], key: list[str], source: Select[Any]
    ) -> Insert:
        """INSERT … SELECT in which a row whose key exists replaces that row's other columns."""
        if self.mysql:
            # VALUES(column) is the row that met the key. Spelled with func, not with
            # ``inserted``, which escapes a % in a name twice for PyMySQL's parameters.
            changes: dict[str, ColumnElement[Any]] = {
                c: func.values(target.c[c]) for c in columns if c not in key
            }
            # MariaDB has no DO NOTHING: setting a key column to itself changes nothing.
            upsert = mysql.insert(target).from_select(columns, source)
            return upsert.on_duplicate_key_update(changes or {key[0]: target.c[key[0]]})
        statement = (
            sqlite.insert(target) if self.driver.sqlite else postgresql.insert(target)
        ).from_select(columns, source)
        updates = {c: statement.excluded[c] for c in columns if c not in key}
        if updates:
            return statement.on_conflict_do_update(index_elements=key, set_=updates)
        return statement.on_conflict_do_nothing(index_elements=key)

    def _count_matches(self, source: Table, target: Table, spec: TableSpec) -> int:
        match = and_(true(), *(target.c[k] == source.c[k] for k in spec.primary_key))
        counting = select(func.count()).select_from(source.join(target, match))
        if self.mysql:
            # A locking read sees the latest committed rows and locks the keys it looked up
            # (the gap, for a key not there), so no other writer changes the count before
            # the upsert that follows in this transaction.
            counting = counting.with_for_update()
        return int(self.driver.rows(counting)[0][0])

    def _merge(
        self, stage: Table, target: Table, spec: TableSpec, mode: WriteMode, rows: int
    ) -> int:
        """Move the staged rows into the core table; how many of them were new keys."""
        columns = spec.column_names
        source = select(*(stage.c[c] for c in columns)).where(true())
        if mode is WriteMode.APPEND:
            self.driver.execute(insert(target).from_select(columns, source))
            return rows  # an existing key would have failed the statement
        upsert = self._upsert(target, columns, list(spec.primary_key), source)
        if self.driver.sqlite or self.mysql:
            # SQLite is locked for this transaction; MariaDB's count locks what it read
            # (its affected-rows figure cannot tell an insert from a same-value update):
            # counting first is exact.
            existing = self._count_matches(stage, target, spec)
            self.driver.execute(upsert)
            return rows - existing
        # PostgreSQL marks a row it inserted with xmax 0 and one it updated with this
        # transaction's id: the statement counts its own inserts, without a second join
        # (which, on a temporary table without statistics, scans the whole core table).
        assert isinstance(upsert, postgresql.Insert)
        merged = upsert.returning(literal_column("xmax = 0").label("inserted")).cte("merged")
        counted = select(func.count()).select_from(merged).where(merged.c.inserted)
        return int(self.driver.rows(counted)[0][0])

    def _swap(self, spec: TableSpec, target: Table, tenant: str) -> WriteResult:
        """Replace the tenant's rows with the staged ones, in this transaction."""
        replace = self._scratch("replace", spec, keyed=True)
        key = spec.row_key
        mine = target.c[spec.tenant_key] == tenant
        matched = and_(true(), *(target.c[k] == replace.c[k] for k in key))
        kept = int(
            self.driver.rows(
                select(func.count()).select_from(replace.join(target, and_(matched, mine)))
            )[0][0]
        )
        staged = int(self.driver.rows(select(func.count()).select_from(replace))[0][0])
        removed = self.driver.execute(delete(target).where(mine))
        columns = spec.column_names
        self.driver.execute(
            insert(target).from_select(
                columns, select(*(replace.c[c] for c in columns)).where(true())
            )
        )
        self.driver.empty(replace)
        return WriteResult(inserted=staged - kept, updated=kept, deleted=removed - kept)

    def _propagate(self, spec: TableSpec, target: Table, tenant: str, deletes: DeletePolicy) -> int:
        """Delete (or mark deleted) the tenant's rows whose keys the full read never met."""
        seen = self._scratch("seen", spec, columns=spec.row_key, keyed=True)
        unseen = ~exists().where(and_(true(), *(seen.c[k] == target.c[k] for k in spec.row_key)))
        mine = target.c[spec.tenant_key] == tenant
        if deletes.mode == "hard":
            count = self.driver.execute(delete(target).where(and_(mine, unseen)))
        else:
            column = target.c[deletes.field]
            count = self.driver.execute(
                update(target)
                .where(and_(mine, unseen, column.is_(None)))
                .values({deletes.field: deletes.at})
            )
        self.driver.empty(seen)
        return count


def _in_type(found: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """Values read back, in their column's Arrow type: a decimal comes back as its text
    (SQLite keeps it so, ADBC reads PostgreSQL's NUMERIC so) or as a Python Decimal."""
    if pa.types.is_decimal(arrow_type):
        text = pa.array([None if v is None else str(v) for v in found], pa.string())
        return pc.cast(text, arrow_type)
    return pa.array(found, arrow_type)
