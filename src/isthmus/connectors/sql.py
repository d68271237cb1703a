"""The SQL destination: core tables in a database reached through SQLAlchemy.

Each unit of commit is one transaction on one connection (see ``sqltransaction.py``). The
destination also keeps isthmus's checkpoints in a table of its own, written in the same
transaction as the rows they cover, so data and checkpoint commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import (
    Boolean,
    Engine,
    MetaData,
    Table,
    and_,
    create_engine,
    delete,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeEngine

from isthmus.connectors.base import Checkpoint, TableSpec, WriteMode
from isthmus.connectors.errors import SchemaMismatchError
from isthmus.connectors.sqldriver import AdbcDriver, SqlDriver
from isthmus.connectors.sqlerrors import classified
from isthmus.connectors.sqlrows import read_rows
from isthmus.connectors.sqltables import (
    CHECKPOINTS_TABLE,
    MYSQL,
    checkpoints_table,
    core_table,
    sql_type,
)
from isthmus.connectors.sqltransaction import SqlTransaction
from isthmus.connectors.writeback import RowsAfter

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
        with classified("open the core database"):
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.url = url
        self.metadata = MetaData()
        self.checkpoints: Table = checkpoints_table(self.metadata)
        self.compile_dialect = _compile_dialect(self.engine)

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        with classified("prepare the core tables"), self.engine.begin() as connection:
            existing = set(inspect(connection).get_table_names())
            if CHECKPOINTS_TABLE not in existing:
                self.checkpoints.create(connection)
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
        with classified("open a transaction on the core database"):
            driver: SqlDriver
            if self.engine.dialect.name in MYSQL:
                from isthmus.connectors.sqldriver_mysql import MysqlDriver  # noqa: PLC0415

                driver = MysqlDriver(self.url, self.compile_dialect)
            else:
                driver = AdbcDriver(self.url, self.compile_dialect)
        return SqlTransaction(self, driver)

    def checkpoint(self, integration: str, stream: str) -> Checkpoint | None:
        with classified("read a checkpoint"), self.engine.connect() as connection:
            if not inspect(connection).has_table(CHECKPOINTS_TABLE):
                return None
            token = connection.execute(
                select(self.checkpoints.c.token).where(
                    and_(
                        self.checkpoints.c.integration == integration,
                        self.checkpoints.c.stream == stream,
                    )
                )
            ).scalar()
        return None if token is None else dict(json.loads(token))

    def checkpoint_runs(self, integration: str) -> dict[str, int]:
        with classified("read checkpoints"), self.engine.connect() as connection:
            if not inspect(connection).has_table(CHECKPOINTS_TABLE):
                return {}
            rows = connection.execute(
                select(self.checkpoints.c.stream, self.checkpoints.c.run_id).where(
                    self.checkpoints.c.integration == integration
                )
            ).all()
        return {stream: int(run_id) for stream, run_id in rows}

    def reset_checkpoints(self, integration: str, stream: str | None) -> int:
        condition = self.checkpoints.c.integration == integration
        if stream is not None:
            condition = and_(condition, self.checkpoints.c.stream == stream)
        with classified("reset checkpoints"), self.engine.begin() as connection:
            if not inspect(connection).has_table(CHECKPOINTS_TABLE):
                return 0
            return int(connection.execute(delete(self.checkpoints).where(condition)).rowcount)

    def read_rows(self, request: RowsAfter) -> Iterator[pa.Table]:
        return read_rows(self.engine, self.table_for(request.table), request)

    def close(self) -> None:
        self.engine.dispose()

    def table_for(self, spec: TableSpec) -> Table:
        if spec.name not in self.metadata.tables:
            core_table(spec, self.metadata)
        return self.metadata.tables[spec.name]


def _compile_dialect(engine: Engine) -> Dialect:
    """How a transaction's statements are rendered for the driver that runs them."""
    if engine.dialect.name == "postgresql":
        # ADBC numbers PostgreSQL's parameters.
        return postgresql.base.PGDialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
    if engine.dialect.name in MYSQL:
        from isthmus.connectors.sqldriver_mysql import mysql_compile_dialect  # noqa: PLC0415

        return mysql_compile_dialect()
    return engine.dialect


def _same_kind(wanted: TypeEngine[Any], found: TypeEngine[Any], dialect: Dialect) -> bool:
    # The type this database gets (a decimal is TEXT on SQLite, see sqltables).
    wanted = wanted.dialect_impl(dialect)
    # SQLAlchemy offers no finer public comparison of a declared and a reflected type.
    if wanted._type_affinity is found._type_affinity:
        return True
    if isinstance(wanted, mysql.JSON):
        # MariaDB's JSON is an alias of LONGTEXT, and reflects as that.
        return isinstance(found, mysql.LONGTEXT)
    # MariaDB's BOOLEAN is TINYINT(1), and reflects as that.
    tiny = isinstance(found, mysql.TINYINT) and found.display_width == 1
    return wanted._type_affinity is Boolean and tiny


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
        if not _same_kind(wanted, found, connection.dialect):
            raise SchemaMismatchError(
                f"core table {spec.name!r} column {column.name!r} is {found}, but the core model "
                f"declares {column.type}",
                hint="align the column type with the core model",
            )
