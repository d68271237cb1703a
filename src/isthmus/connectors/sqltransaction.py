"""One unit of commit on the SQL destination: staging tables and set-based statements.

Rows of a batch go into a temporary staging table; one statement then merges them into the
core table, scoped to the tenant. REPLACE stages the whole stream and swaps it in when the
stream finishes; delete propagation compares the tenant's rows with the keys a full read met.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
from sqlalchemy import (
    MetaData,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from isthmus.connectors.base import Checkpoint, DeletePolicy, TableSpec, WriteMode, WriteResult
from isthmus.connectors.sqlerrors import classified
from isthmus.connectors.sqltables import scratch_name, scratch_table

if TYPE_CHECKING:
    from isthmus.connectors.sql import SqlDestination


class SqlTransaction:
    """One unit of commit on one connection."""

    def __init__(
        self, destination: SqlDestination, connection: Connection, transaction: Any
    ) -> None:
        self.destination = destination
        self.connection = connection
        self.transaction = transaction
        self.scratch = MetaData()
        self.created: list[Table] = []

    # --- writing -------------------------------------------------------------------------

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        if rows.num_rows == 0:
            return WriteResult()
        target = self.destination.table_for(table)
        with classified(f"write to core table {table.name!r}"):
            if mode is WriteMode.REPLACE:
                replace = self._scratch("replace", table, keyed=True)
                self._insert(replace, rows, table.column_names)
                return WriteResult()
            stage = self._scratch("stage", table)
            self._insert(stage, rows, table.column_names)
            existing = self._count_matches(stage, target, table)
            self._merge(stage, target, table, mode)
            self.connection.execute(delete(stage))
        return WriteResult(inserted=rows.num_rows - existing, updated=existing)

    def mark_seen(self, table: TableSpec, tenant: str, keys: pa.Table) -> None:
        if keys.num_rows == 0:
            return
        with classified(f"remember the keys read for {table.name!r}"):
            seen = self._scratch("seen", table, columns=table.row_key, keyed=True)
            self._insert(seen, keys, table.row_key, ignore_duplicates=True)

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
            self.connection.execute(
                delete(checkpoints).where(
                    and_(checkpoints.c.integration == integration, checkpoints.c.stream == stream)
                )
            )
            self.connection.execute(
                insert(checkpoints).values(
                    integration=integration,
                    stream=stream,
                    token=json.dumps(token, sort_keys=True),
                    run_id=run_id,
                )
            )

    # --- reading inside the transaction --------------------------------------------------

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        distinct = pl.Series(values).drop_nulls().unique().to_list()
        if not distinct:
            return pa.array([], values.type)
        target = self.destination.table_for(table)
        with classified(f"look up references in {table.name!r}"):
            lookup = self._scratch("values", table, columns=[column], extra=(column,))
            self.connection.execute(insert(lookup), [{column: v} for v in distinct])
            found = (
                self.connection.execute(
                    select(target.c[column])
                    .distinct()
                    .join(lookup, target.c[column] == lookup.c[column])
                    .where(target.c[table.tenant_key] == tenant)
                )
                .scalars()
                .all()
            )
            self.connection.execute(delete(lookup))
        return pa.array(found, values.type)

    def lookup(
        self, table: TableSpec, tenant: str, keys: pa.Table, columns: Sequence[str]
    ) -> pa.Table:
        key = table.row_key
        wanted = [*key, *(c for c in columns if c not in key)]
        if keys.num_rows == 0:
            return pl.DataFrame(
                schema={c: table.column(c).type.to_polars() for c in wanted}
            ).to_arrow()
        target = self.destination.table_for(table)
        with classified(f"look up rows of {table.name!r}"):
            probe = self._scratch("keys", table, columns=key, keyed=True)
            self._insert(probe, keys, key, ignore_duplicates=True)
            rows = self.connection.execute(
                select(*(target.c[c] for c in wanted))
                .join(probe, and_(true(), *(target.c[k] == probe.c[k] for k in key)))
                .where(target.c[table.tenant_key] == tenant)
            ).all()
            self.connection.execute(delete(probe))
        schema = {c: table.column(c).type.to_polars() for c in wanted}
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row").to_arrow()

    # --- ending --------------------------------------------------------------------------

    def commit(self) -> None:
        with classified("commit the core database transaction"):
            # Temporary tables outlive a commit on a pooled connection; drop ours first.
            for table in reversed(self.created):
                table.drop(self.connection)
            self.transaction.commit()
        self.connection.close()

    def rollback(self) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()

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
        table.create(self.connection)
        self.created.append(table)
        return table

    def _insert(
        self, table: Table, rows: pa.Table, columns: list[str], *, ignore_duplicates: bool = False
    ) -> None:
        frame = pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        values = list(_dicts(frame, columns))
        statement = self._dialect_insert(table)
        if ignore_duplicates:
            self.connection.execute(statement.on_conflict_do_nothing(), values)
        elif table.primary_key.columns:
            # Keyed scratch tables keep the last row of a key, as the stream delivered it.
            updates = {
                c: statement.excluded[c] for c in columns if c not in table.primary_key.columns
            }
            key = list(table.primary_key.columns.keys())
            self.connection.execute(
                statement.on_conflict_do_update(index_elements=key, set_=updates)
                if updates
                else statement.on_conflict_do_nothing(index_elements=key),
                values,
            )
        else:
            self.connection.execute(insert(table), values)

    def _dialect_insert(self, table: Table) -> Any:
        if self.connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _count_matches(self, source: Table, target: Table, spec: TableSpec) -> int:
        match = and_(true(), *(target.c[k] == source.c[k] for k in spec.primary_key))
        return int(
            self.connection.execute(
                select(func.count()).select_from(source.join(target, match))
            ).scalar_one()
        )

    def _merge(self, stage: Table, target: Table, spec: TableSpec, mode: WriteMode) -> None:
        columns = spec.column_names
        source = select(*(stage.c[c] for c in columns)).where(true())
        if mode is WriteMode.APPEND:
            self.connection.execute(insert(target).from_select(columns, source))
            return
        statement = self._dialect_insert(target).from_select(columns, source)
        updates = {c: statement.excluded[c] for c in columns if c not in spec.primary_key}
        key = list(spec.primary_key)
        self.connection.execute(
            statement.on_conflict_do_update(index_elements=key, set_=updates)
            if updates
            else statement.on_conflict_do_nothing(index_elements=key)
        )

    def _swap(self, spec: TableSpec, target: Table, tenant: str) -> WriteResult:
        """Replace the tenant's rows with the staged ones, in this transaction."""
        replace = self._scratch("replace", spec, keyed=True)
        key = spec.row_key
        mine = target.c[spec.tenant_key] == tenant
        matched = and_(true(), *(target.c[k] == replace.c[k] for k in key))
        kept = int(
            self.connection.execute(
                select(func.count()).select_from(replace.join(target, and_(matched, mine)))
            ).scalar_one()
        )
        staged = int(
            self.connection.execute(select(func.count()).select_from(replace)).scalar_one()
        )
        removed = int(self.connection.execute(delete(target).where(mine)).rowcount)
        columns = spec.column_names
        self.connection.execute(
            insert(target).from_select(
                columns, select(*(replace.c[c] for c in columns)).where(true())
            )
        )
        self.connection.execute(delete(replace))
        return WriteResult(inserted=staged - kept, updated=kept, deleted=removed - kept)

    def _propagate(self, spec: TableSpec, target: Table, tenant: str, deletes: DeletePolicy) -> int:
        """Delete (or mark deleted) the tenant's rows whose keys the full read never met."""
        seen = self._scratch("seen", spec, columns=spec.row_key, keyed=True)
        unseen = ~exists().where(and_(true(), *(seen.c[k] == target.c[k] for k in spec.row_key)))
        mine = target.c[spec.tenant_key] == tenant
        if deletes.mode == "hard":
            result = self.connection.execute(delete(target).where(and_(mine, unseen)))
        else:
            column = target.c[deletes.field]
            result = self.connection.execute(
                update(target)
                .where(and_(mine, unseen, column.is_(None)))
                .values({deletes.field: deletes.at})
            )
        self.connection.execute(delete(seen))
        return int(result.rowcount)


def _dicts(frame: pl.DataFrame, columns: list[str]) -> Iterable[dict[str, Any]]:
    return frame.select(columns).iter_rows(named=True)
