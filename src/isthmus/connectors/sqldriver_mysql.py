"""One unit of commit on MariaDB (or MySQL), over a single PyMySQL connection.

The same interface as ``AdbcDriver``: statements built by SQLAlchemy (which quotes every name
with backticks), executed on one connection with autocommit off, so the whole unit is one
InnoDB transaction. Scratch tables are ``CREATE TEMPORARY TABLE``, emptied with ``DELETE``
and dropped with ``DROP TEMPORARY TABLE``: the only DDL that does not commit implicitly.

Ingest writes a batch as CSV with Polars (column by column, in Rust) and sends it with
``LOAD DATA LOCAL INFILE``: 120,000-190,000 rows/s against 22,000-27,000 for PyMySQL's
multi-row INSERTs, which escape every value in Python (100,000 rows of eight columns into a
temporary table, on a busy 2-core machine). A server that refuses LOCAL INFILE gets those
INSERTs instead.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, delete, insert
from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import ClauseElement

CONNECT_TIMEOUT_S = 10
# PyMySQL joins the rows of an executemany into INSERTs of at most this size; 4 MiB stays
# well under the server's max_allowed_packet (16 MiB by default on MariaDB 10.11).
INSERT_STATEMENT_BYTES = 4 * 1024 * 1024
# The CSV that Polars writes and LOAD DATA reads back: strings always quoted (a quote
# doubled), a null the bare word NULL, no escape character, so every byte of text is literal.
CSV_FORMAT = (
    "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
    "ESCAPED BY '' LINES TERMINATED BY '\\n'"
)
MYSQL_TIMESTAMP_POLARS = "%Y-%m-%d %H:%M:%S%.6f"


def mysql_compile_dialect() -> Dialect:
    """PyMySQL's dialect with positional ``%s`` parameters, so a statement's values can go
    to ``executemany`` as plain row tuples."""
    return MySQLDialect_pymysql(paramstyle="format")


class MysqlDriver:
    """One transaction on one PyMySQL connection (MariaDB 10.11 or MySQL)."""

    sqlite = False

    def __init__(self, url: str, dialect: Dialect) -> None:
        import pymysql  # noqa: PLC0415 - loaded only when used

        self.dialect = dialect
        parts = make_url(url)
        self.connection = pymysql.connect(
            host=parts.host or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=parts.database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=CONNECT_TIMEOUT_S,
            # The client sends only files isthmus names: the core database is trusted.
            local_infile=True,
        )
        self.cursor = self.connection.cursor()
        self.cursor.max_stmt_length = INSERT_STATEMENT_BYTES
        self.cursor.execute("SELECT @@local_infile")
        self.load_data = bool(self.cursor.fetchone()[0])
        # Only time functions of the server see the session zone; UTC keeps them honest.
        self.cursor.execute("SET time_zone = '+00:00'")
        self.cursor.execute("START TRANSACTION")

    def execute(self, statement: ClauseElement) -> int:
        """Run a statement; the number of rows it changed (for updates and deletes)."""
        sql, params = self._compiled(statement)
        return int(self.cursor.execute(sql, params))

    def rows(self, statement: ClauseElement) -> list[tuple[Any, ...]]:
        sql, params = self._compiled(statement)
        self.cursor.execute(sql, params)
        return list(self.cursor.fetchall())

    def arrow(self, statement: ClauseElement) -> pa.Table:
        """The result as Arrow columns; the caller casts them to the core model's types."""
        sql, params = self._compiled(statement)
        self.cursor.execute(sql, params)
        names = [d[0] for d in self.cursor.description or ()]
        columns = list(zip(*self.cursor.fetchall(), strict=True)) or [() for _ in names]
        return pa.table([pa.array(c) for c in columns], names=names)

    def ingest(self, table: Table, rows: pa.Table) -> None:
        """Append rows to an existing temporary table: LOAD DATA, or multi-row INSERTs."""
        if rows.num_rows == 0:
            return
        if self.load_data:
            self._load_csv(table, rows)
            return
        sql = str(insert(table).compile(dialect=self.dialect))
        columns = [_python_values(rows.column(c.name)) for c in table.columns]
        self.cursor.executemany(sql, list(zip(*columns, strict=True)))

    def _load_csv(self, table: Table, rows: pa.Table) -> None:
        quote = self.dialect.identifier_preparer.quote
        names = ", ".join(quote(c.name) for c in table.columns)
        into = self.dialect.identifier_preparer.format_table(table)
        frame = _csv_ready(rows.select([c.name for c in table.columns]))
        with tempfile.NamedTemporaryFile(prefix="isthmus-", suffix=".csv") as csv:
            frame.write_csv(
                csv.name, include_header=False, null_value="NULL", quote_style="non_numeric"
            )
            self.cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {into} {CSV_FORMAT} ({names})", (csv.name,)
            )
        if self.cursor.warning_count:
            # LOCAL turns a value the column cannot hold into a warning: make it the error.
            self._raise_first_warning()

    def _raise_first_warning(self) -> None:
        from pymysql.err import DataError  # noqa: PLC0415

        self.cursor.execute("SHOW WARNINGS LIMIT 1")
        _level, code, message = self.cursor.fetchone()
        raise DataError(int(code), str(message))

    def empty(self, table: Table) -> None:
        """Remove every row of a scratch table (TRUNCATE would commit the transaction)."""
        self.execute(delete(table))

    def create(self, table: Table) -> None:
        self.cursor.execute(str(CreateTable(table).compile(dialect=self.dialect)), ())

    def drop(self, table: Table) -> None:
        # Plain DROP TABLE commits implicitly; the TEMPORARY form does not.
        name = self.dialect.identifier_preparer.format_table(table)
        self.cursor.execute(f"DROP TEMPORARY TABLE {name}", ())

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()

    def _compiled(self, statement: ClauseElement) -> tuple[str, tuple[Any, ...]]:
        compiled = statement.compile(
            dialect=self.dialect, compile_kwargs={"render_postcompile": True}
        )
        values = compiled.construct_params() or {}
        order: list[str] = getattr(compiled, "positiontup", None) or []
        # Always a tuple, even empty: PyMySQL then un-doubles a % in a quoted name.
        return str(compiled), tuple(_mysql_value(values[name]) for name in order)


def _mysql_value(value: Any) -> Any:
    """A statement parameter as MariaDB stores it: a timestamp as its UTC wall time."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _csv_ready(rows: pa.Table) -> pl.DataFrame:
    """Rows in the text LOAD DATA reads: timestamps as UTC wall times, booleans as 0 or 1."""
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    changes = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            wall = pl.col(name)
            if dtype.time_zone:
                # Formatting a naive wall time is twice as fast as formatting in a zone.
                wall = wall.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            changes.append(wall.dt.strftime(MYSQL_TIMESTAMP_POLARS).alias(name))
        elif dtype == pl.Boolean:
            changes.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(changes) if changes else frame


def _python_values(column: pa.ChunkedArray) -> list[Any]:
    """A column as Python values PyMySQL can escape, converted by Arrow in one call."""
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        # Dropping the zone keeps the instant's UTC wall time, which DATETIME(6) stores.
        column = pc.cast(column, pa.timestamp(column.type.unit))
    elif pa.types.is_string_view(column.type):
        column = pc.cast(column, pa.large_string())
    values: list[Any] = column.to_pylist()
    return values
