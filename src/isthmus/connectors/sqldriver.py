"""How a unit of commit talks to its database: statements built with SQLAlchemy (which quotes
every name for the dialect), executed on an ADBC connection that can take whole Arrow batches.

ADBC's bulk ingest (PostgreSQL's binary COPY underneath; SQLite's prepared inserts in C) is
the fast path the load needs: a batch of rows goes in without a Python object per value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import polars as pl
import pyarrow as pa
from sqlalchemy import Delete, Table, Update, delete, func, literal, select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql import ClauseElement

SQLITE_BUSY_TIMEOUT_MS = 15_000
# SQLite has no time types: a core timestamp is ISO 8601 text in UTC with six decimals, a date
# is YYYY-MM-DD, a boolean 0 or 1. That is what ADBC's ingest writes from Arrow by itself;
# statement parameters, sqlite_text and SQLAlchemy (sqltables) write the same.
SQLITE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%f"
SQLITE_TIMESTAMP_POLARS = "%Y-%m-%dT%H:%M:%S.%6f"  # the same, in Polars' (chrono's) words
SQLITE_DATE = "%Y-%m-%d"
JSONB_VERSION = "\x01"  # the first byte of a JSONB value in PostgreSQL's binary format


class SqlDriver(Protocol):
    """What a unit of commit needs of its connection: ``AdbcDriver`` (SQLite, PostgreSQL) or
    ``sqldriver_mysql.MysqlDriver`` (MariaDB)."""

    dialect: Dialect
    sqlite: bool

    def execute(self, statement: ClauseElement) -> int: ...
    def rows(self, statement: ClauseElement) -> list[tuple[Any, ...]]: ...
    def arrow(self, statement: ClauseElement) -> pa.Table: ...
    def ingest(self, table: Table, rows: pa.Table) -> None: ...
    def empty(self, table: Table) -> None: ...
    def create(self, table: Table) -> None: ...
    def drop(self, table: Table) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class AdbcDriver:
    """One transaction on one ADBC connection (SQLite or PostgreSQL)."""

    def __init__(self, url: str, dialect: Dialect) -> None:
        self.dialect = dialect
        self.sqlite = dialect.name == "sqlite"
        if self.sqlite:
            import adbc_driver_sqlite.dbapi as adbc  # noqa: PLC0415 - loaded only when used

            self.connection = adbc.connect(make_url(url).database or ":memory:", autocommit=True)
        else:
            import adbc_driver_postgresql.dbapi as adbc_pg  # noqa: PLC0415

            uri = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = adbc_pg.connect(uri, autocommit=True)
        self.cursor = self.connection.cursor()
        if self.sqlite:
            self.cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # IMMEDIATE takes the write lock up front: no failing half-way on a lock upgrade.
            self.cursor.execute("BEGIN IMMEDIATE")
        else:
            self.cursor.execute("BEGIN")

    def execute(self, statement: ClauseElement) -> int:
        """Run a statement; the number of rows it changed (for updates and deletes)."""
        if not self.sqlite and isinstance(statement, Update | Delete):
            # ADBC reports no row count for a statement with parameters on PostgreSQL:
            # count what the statement returns instead, inside one query.
            changed = statement.returning(literal(1)).cte("changed")
            return int(self.rows(select(func.count()).select_from(changed))[0][0])
        sql, params = self._compiled(statement)
        self.cursor.execute(sql, params or None)
        if self.sqlite:
            self.cursor.execute("SELECT changes()")
            row = self.cursor.fetchone()
            assert row is not None
            return int(row[0])
        return int(self.cursor.rowcount)

    def rows(self, statement: ClauseElement) -> list[tuple[Any, ...]]:
        sql, params = self._compiled(statement)
        self.cursor.execute(sql, params or None)
        return [tuple(row) for row in self.cursor.fetchall()]

    def arrow(self, statement: ClauseElement) -> pa.Table:
        sql, params = self._compiled(statement)
        self.cursor.execute(sql, params or None)
        return self.cursor.fetch_arrow_table()

    def ingest(self, table: Table, rows: pa.Table) -> None:
        """Append rows to an existing temporary table in one bulk call."""
        self.cursor.adbc_ingest(table.name, rows, mode="append", temporary=True)

    def empty(self, table: Table) -> None:
        """Remove every row of a scratch table (PostgreSQL's TRUNCATE skips the row by row
        delete; SQLite empties a table without WHERE in one step by itself)."""
        if self.sqlite:
            self.execute(delete(table))
        else:
            self.cursor.execute(f"TRUNCATE {self.dialect.identifier_preparer.format_table(table)}")

    def create(self, table: Table) -> None:
        self.cursor.execute(str(CreateTable(table).compile(dialect=self.dialect)))

    def drop(self, table: Table) -> None:
        self.cursor.execute(str(DropTable(table).compile(dialect=self.dialect)))

    def commit(self) -> None:
        self.cursor.execute("COMMIT")

    def rollback(self) -> None:
        self.cursor.execute("ROLLBACK")

    def close(self) -> None:
        self.cursor.close()
        self.connection.close()

    def _compiled(self, statement: ClauseElement) -> tuple[str, list[Any]]:
        compiled = statement.compile(
            dialect=self.dialect, compile_kwargs={"render_postcompile": True}
        )
        values = compiled.construct_params() or {}
        order: list[str] = getattr(compiled, "positiontup", None) or []
        params = [values[name] for name in order]
        if self.sqlite:
            params = [_sqlite_value(value) for value in params]
        return str(compiled), params


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime(SQLITE_TIMESTAMP)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def sqlite_text(rows: pa.Table) -> pa.Table:
    """Timestamps as the text ADBC would write for them, made by Polars: twice as fast as
    the driver's own conversion, and done off the thread that holds the transaction.
    Decimals as the text of their canonical form, which ADBC's SQLite ingest cannot make
    (and which a SQLite TEXT column keeps digit for digit, see sqltables.DECIMAL_COLUMN)."""
    if not any(pa.types.is_timestamp(t) or pa.types.is_decimal(t) for t in rows.schema.types):
        return rows
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    as_text = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            utc = pl.col(name).dt.convert_time_zone("UTC") if dtype.time_zone else pl.col(name)
            as_text.append(utc.dt.strftime(SQLITE_TIMESTAMP_POLARS).alias(name))
        elif isinstance(dtype, pl.Decimal):
            as_text.append(pl.col(name).cast(pl.String))
    return frame.with_columns(as_text).to_arrow(compat_level=pl.CompatLevel.newest())


def postgres_jsonb(rows: pa.Table, json_columns: list[str]) -> pa.Table:
    """JSON text in JSONB's binary form, which ADBC's binary COPY sends as it is: the format's
    version (1) and then the text. COPY takes nothing else for a JSONB column."""
    text = [n for n in json_columns if n in rows.column_names and _is_text(rows.schema.field(n))]
    if not text:
        return rows
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    binary = [(pl.lit(JSONB_VERSION) + pl.col(n)).cast(pl.Binary).alias(n) for n in text]
    return frame.with_columns(binary).to_arrow(compat_level=pl.CompatLevel.newest())


def _is_text(field: pa.Field) -> bool:
    return bool(
        pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_string_view(field.type)
    )


def read_back(table: pa.Table, types: dict[str, pl.DataType], *, sqlite: bool) -> pa.Table:
    """Rows read from the database in the core model's types (SQLite returns text)."""
    frame = pl.from_arrow(_without_extensions(table))
    assert isinstance(frame, pl.DataFrame)
    if not sqlite:
        return frame.select(pl.col(n).cast(t) for n, t in types.items()).to_arrow()
    columns = []
    for name, dtype in types.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            column = column.cast(pl.String).str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f", time_unit="us", time_zone="UTC", strict=False
            )
        elif isinstance(dtype, pl.Date):
            column = column.cast(pl.String).str.to_date(SQLITE_DATE, strict=False)
        else:
            column = column.cast(dtype)
        columns.append(column.alias(name))
    return frame.select(columns).to_arrow()


def _without_extensions(table: pa.Table) -> pa.Table:
    """ADBC hands PostgreSQL's NUMERIC and JSONB over as Arrow extension types holding their
    text; Polars reads the text."""
    columns = [
        pa.chunked_array([chunk.storage for chunk in column.chunks], column.type.storage_type)
        if isinstance(column.type, pa.BaseExtensionType)
        else column
        for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)
