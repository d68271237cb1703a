"""The SQL destination: core tables in a database reached through SQLAlchemy.

Each run writes inside one transaction on one connection: rows go to a temporary staging
table, then one set-based statement upserts, appends or replaces them, scoped to the
integration's tenant. Rollback leaves the tables exactly as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from isthmus.connectors.base import TableSpec, WriteMode, WriteResult
from isthmus.connectors.errors import (
    DestinationError,
    DestinationUnavailableError,
    SchemaMismatchError,
)
from isthmus.connectors.sqltables import (
    core_table,
    lookup_table,
    lookup_table_name,
    sql_type,
    stage_table,
    stage_table_name,
)

BUSY_TIMEOUT_MS = 15_000


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's BEGIN below start every transaction, so DDL and DML are atomic together.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a run never fails half-way on a lock upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class SqlDestination:
    """Core tables in the database at ``url``."""

    write_modes = frozenset({WriteMode.APPEND, WriteMode.UPSERT, WriteMode.REPLACE})

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.metadata = MetaData()

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        with _classified("prepare the core tables"), self.engine.begin() as connection:
            existing = set(inspect(connection).get_table_names())
            for spec in tables:
                table = self.table_for(spec)
                if spec.name in existing:
                    _check_table(connection, spec)
                elif create:
                    table.create(connection)
                else:
                    raise SchemaMismatchError(
                        f"core table {spec.name!r} does not exist in the core database",
                        hint="create it, or set core.manage_schema: true in isthmus.yaml",
                    )

    def begin(self) -> SqlTransaction:
        with _classified("open a transaction on the core database"):
            connection = self.engine.connect()
            transaction = connection.begin()
        return SqlTransaction(self, connection, transaction)

    def close(self) -> None:
        self.engine.dispose()

    def table_for(self, spec: TableSpec) -> Table:
        if spec.name not in self.metadata.tables:
            core_table(spec, self.metadata)
        return self.metadata.tables[spec.name]


def _check_table(connection: Connection, spec: TableSpec) -> None:
    live = {c["name"]: c for c in inspect(connection).get_columns(spec.name)}
    for column in spec.columns:
        if column.name not in live:
            raise SchemaMismatchError(
                f"core table {spec.name!r} has no column {column.name!r}, which the core model "
                "declares",
                hint=f"add the column to {spec.name}, or remove the field from the core model",
            )
        wanted = sql_type(column.type)
        found = live[column.name]["type"]
        if wanted._type_affinity is not found._type_affinity:
            # of SQLAlchemy has no better type comparison across reflection.
            raise SchemaMismatchError(
                f"core table {spec.name!r} column {column.name!r} is {found}, but the core model "
                f"declares {column.type}",
                hint="align the column type with the core model",
            )


class SqlTransaction:
    """One run's unit of commit on one connection."""

    def __init__(
        self, destination: SqlDestination, connection: Connection, transaction: Any
    ) -> None:
        self.destination = destination
        self.connection = connection
        self.transaction = transaction
        self.scratch = MetaData()
        self.replaced: set[str] = set()
        self.created: set[str] = set()

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        target = self.destination.table_for(table)
        with _classified(f"write to core table {table.name!r}"):
            deleted = 0
            if mode is WriteMode.REPLACE and table.name not in self.replaced:
                deleted = self._delete_tenant(target, table, tenant)
                self.replaced.add(table.name)
            if rows.num_rows == 0:
                return WriteResult(deleted=deleted)
            stage = self._stage(table, rows)
            existing = self._count_existing(stage, target, table)
            self._merge(stage, target, table, mode)
            self.connection.execute(delete(stage))
        return WriteResult(inserted=rows.num_rows - existing, updated=existing, deleted=deleted)

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        target = self.destination.table_for(table)
        known = self.scratch.tables.get(lookup_table_name(table, column))
        with _classified(f"prepare a lookup in {table.name!r}"):
            lookup = self._scratch_table(
                known if known is not None else lookup_table(table, column, self.scratch)
            )
        distinct = pl.Series(values).drop_nulls().unique().to_list()
        if not distinct:
            return pa.array([], values.type)
        with _classified(f"look up references in {table.name!r}"):
            self.connection.execute(insert(lookup), [{"value": v} for v in distinct])
            found = (
                self.connection.execute(
                    select(target.c[column])
                    .distinct()
                    .join(lookup, target.c[column] == lookup.c.value)
                    .where(target.c[table.tenant_key] == tenant)
                )
                .scalars()
                .all()
            )
            self.connection.execute(delete(lookup))
        return pa.array(found, values.type)

    def commit(self) -> None:
        with _classified("commit the core database transaction"):
            # Temporary tables outlive a commit on a pooled connection; drop ours first.
            for name in sorted(self.created):
                self.scratch.tables[name].drop(self.connection)
            self.transaction.commit()
        self.connection.close()

    def rollback(self) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()

    def _scratch_table(self, table: Table) -> Table:
        if table.name not in self.created:
            table.create(self.connection)
            self.created.add(table.name)
        return table

    def _stage(self, spec: TableSpec, rows: pa.Table) -> Table:
        known = self.scratch.tables.get(stage_table_name(spec))
        stage = self._scratch_table(known if known is not None else stage_table(spec, self.scratch))
        frame = pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        self.connection.execute(insert(stage), list(_dicts(frame, spec.column_names)))
        return stage

    def _count_existing(self, stage: Table, target: Table, spec: TableSpec) -> int:
        match = and_(*(target.c[k] == stage.c[k] for k in spec.primary_key))
        return int(
            self.connection.execute(
                select(func.count()).select_from(stage.join(target, match))
            ).scalar_one()
        )

    def _merge(self, stage: Table, target: Table, spec: TableSpec, mode: WriteMode) -> None:
        columns = spec.column_names
        source = select(*(stage.c[c] for c in columns)).where(true())
        if mode is WriteMode.APPEND:
            self.connection.execute(insert(target).from_select(columns, source))
            return
        dialect = self.connection.dialect.name
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = builder(target).from_select(columns, source)
        updates = {c: statement.excluded[c] for c in columns if c not in spec.primary_key}
        self.connection.execute(
            statement.on_conflict_do_update(index_elements=list(spec.primary_key), set_=updates)
            if updates
            else statement.on_conflict_do_nothing(index_elements=list(spec.primary_key))
        )

    def _delete_tenant(self, target: Table, spec: TableSpec, tenant: str) -> int:
        result = self.connection.execute(delete(target).where(target.c[spec.tenant_key] == tenant))
        return int(result.rowcount)


def _dicts(frame: pl.DataFrame, columns: list[str]) -> Iterable[dict[str, Any]]:
    return frame.select(columns).iter_rows(named=True)


# Error codes that mean "try again": SQLite busy/locked; PostgreSQL connection exceptions
# (class 08), serialization failures, deadlocks and an administrator's shutdown.
_SQLITE_TRANSIENT = {5, 6}
_POSTGRES_TRANSIENT_PREFIXES = ("08", "40001", "40P01", "57P01", "57P02", "57P03")


@contextmanager
def _classified(action: str) -> Iterator[None]:
    """Turn database exceptions into isthmus errors that say whether retrying can help."""
    try:
        yield
    except IntegrityError as error:
        raise DestinationError(
            f"cannot {action}: the database refused the rows ({_first_line(error)})",
            hint="an append met an existing key, or a row broke a database constraint; use "
            "write: upsert or fix the core model",
        ) from error
    except DBAPIError as error:
        if _transient(error):
            raise DestinationUnavailableError(
                f"cannot {action}: {_first_line(error)}",
                hint="the database was busy or unreachable; the run can be retried",
            ) from error
        raise DestinationError(f"cannot {action}: {_first_line(error)}") from error
    except SQLAlchemyError as error:
        raise DestinationError(f"cannot {action}: {_first_line(error)}") from error


def _first_line(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _transient(error: DBAPIError) -> bool:
    """Decided by the driver's error code, never by the wording of a message."""
    if error.connection_invalidated:
        return True
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in _SQLITE_TRANSIENT
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_POSTGRES_TRANSIENT_PREFIXES)
