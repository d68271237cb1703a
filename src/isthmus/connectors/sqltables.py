"""Core tables, and the scratch tables a transaction uses, as SQLAlchemy objects.

Names come from the validated core model and are only ever rendered through SQLAlchemy,
which quotes them for the dialect; generated names stay within PostgreSQL's 63 characters.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy import Column as SqlColumn
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.types import TypeEngine

from isthmus.connectors.base import TableSpec
from isthmus.types import DECIMAL_PRECISION, DECIMAL_SCALE, DataType, Kind

MAX_IDENTIFIER = 63
# The text ADBC's SQLite ingest writes for a UTC timestamp (sqldriver.SQLITE_TIMESTAMP).
SQLITE_DATETIME = sqlite.DATETIME(  # type: ignore[no-untyped-call]  # SQLAlchemy's stubs lack it
    storage_format="%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d"
    ".%(microsecond)06d"
)
CHECKPOINTS_TABLE = "isthmus_checkpoints"
MYSQL = ("mysql", "mariadb")
# MariaDB indexes no TEXT without a prefix length: a key column is a VARCHAR, long enough for
# any id and short enough that a two-column utf8mb4 key fits InnoDB's 3072-byte limit.
MYSQL_KEY_LENGTH = 255
# MariaDB keeps a timestamp as DATETIME(6), a UTC wall time (the drivers write UTC), which has
# no time zone of the session's to shift it and reaches year 9999 (TIMESTAMP stops in 2038).
MYSQL_DATETIME = mysql.DATETIME(fsp=6)
# Text compares byte for byte, as on PostgreSQL and SQLite: MariaDB's default collations
# would make 'ABC' and 'abc ' the same key. (MariaDB's name; MySQL 8 calls it utf8mb4_0900_bin.)
MYSQL_EXACT_TEXT = "utf8mb4_nopad_bin"
# SQLite keeps a decimal as the text of its canonical form ('-0.000000001'): a NUMERIC or
# DECIMAL column there stores REAL, a float of 15-17 digits, which would round
# 12345678901234567890.123456789. A json value is TEXT there too: a column declared JSON
# would get NUMERIC affinity and turn the JSON text '12' into the integer 12.
DECIMAL_COLUMN = Numeric(DECIMAL_PRECISION, DECIMAL_SCALE).with_variant(Text(), "sqlite")
# PostgreSQL's JSONB keeps a value's meaning (not its spacing or key order); MariaDB's JSON
# is LONGTEXT checked with JSON_VALID, so its text comes back as written.
JSON_COLUMN = (
    Text().with_variant(postgresql.JSONB(), "postgresql").with_variant(mysql.JSON(), *MYSQL)
)


def sql_type(data_type: DataType, *, key: bool = False) -> TypeEngine[Any]:
    """The column type of a core field; ``key`` for a column in a primary key."""
    exact = (
        String(MYSQL_KEY_LENGTH, collation=MYSQL_EXACT_TEXT)
        if key
        else Text(collation=MYSQL_EXACT_TEXT)
    )
    text = Text().with_variant(exact, *MYSQL)
    types: dict[Kind, TypeEngine[Any]] = {
        Kind.STRING: text,
        Kind.INTEGER: BigInteger(),
        Kind.FLOAT: Double(),
        Kind.BOOLEAN: Boolean(),
        Kind.TIMESTAMP: DateTime(timezone=True)
        .with_variant(SQLITE_DATETIME, "sqlite")
        .with_variant(MYSQL_DATETIME, *MYSQL),
        Kind.DATE: Date(),
        Kind.DECIMAL: DECIMAL_COLUMN,
        Kind.JSON: JSON_COLUMN,
    }
    if data_type.kind not in types:
        raise ValueError(f"a core column cannot hold {data_type}")
    return types[data_type.kind]


def short_name(prefix: str, *parts: str) -> str:
    """A name of at most 63 characters (PostgreSQL's limit) that is unique per ``parts``:
    readable when it fits, otherwise cut and suffixed with a hash of the whole."""
    full = prefix + "_".join(parts)
    if len(full) <= MAX_IDENTIFIER:
        return full
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:10]
    return f"{full[: MAX_IDENTIFIER - 11]}_{digest}"


def core_table(spec: TableSpec, metadata: MetaData) -> Table:
    columns = [
        SqlColumn(c.name, sql_type(c.type, key=c.name in spec.primary_key), nullable=c.nullable)
        for c in spec.columns
    ]
    return Table(
        spec.name,
        metadata,
        *columns,
        PrimaryKeyConstraint(*spec.primary_key, name=short_name("pk_", spec.name)),
    )


def checkpoints_table(metadata: MetaData) -> Table:
    """isthmus's own table in the destination: checkpoints commit with the data they cover."""
    return Table(
        CHECKPOINTS_TABLE,
        metadata,
        SqlColumn("integration", String(63), primary_key=True),
        SqlColumn("stream", String(63), primary_key=True),
        SqlColumn("token", Text, nullable=False),
        SqlColumn("run_id", BigInteger, nullable=False),
    )


def scratch_name(kind: str, spec: TableSpec, extra: tuple[str, ...] = ()) -> str:
    return short_name(f"isthmus_{kind}_", spec.name, *extra)


def scratch_table(
    kind: str,
    spec: TableSpec,
    metadata: MetaData,
    *,
    columns: list[str] | None = None,
    keyed: bool = False,
    extra: tuple[str, ...] = (),
) -> Table:
    """A temporary table for one core table: ``stage`` rows to merge, ``replace`` rows to swap
    in, ``seen`` keys, ``lookup`` keys or values. ``columns`` defaults to all of the table's;
    ``keyed`` adds the table's primary key (minus the tenant) so writes can upsert into it."""
    names = columns if columns is not None else spec.column_names
    key = [k for k in spec.primary_key if k in names] if keyed else []
    definitions = [SqlColumn(n, sql_type(spec.column(n).type, key=n in key)) for n in names]
    constraints = []
    if keyed:
        constraints.append(PrimaryKeyConstraint(*key, name=short_name("pk_", kind, spec.name)))
    return Table(
        scratch_name(kind, spec, extra),
        metadata,
        *definitions,
        *constraints,
        prefixes=["TEMPORARY"],
    )
