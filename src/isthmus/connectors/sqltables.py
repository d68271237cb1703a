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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy import Column as SqlColumn
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

from isthmus.connectors.base import TableSpec
from isthmus.types import DataType, Kind

MAX_IDENTIFIER = 63
# The text ADBC's SQLite ingest writes for a UTC timestamp (sqldriver.SQLITE_TIMESTAMP).
SQLITE_DATETIME = sqlite.DATETIME(  # type: ignore[no-untyped-call]  # SQLAlchemy's stubs lack it
    storage_format="%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d"
    ".%(microsecond)06d"
)
CHECKPOINTS_TABLE = "isthmus_checkpoints"


def sql_type(data_type: DataType) -> TypeEngine[Any]:
    types: dict[Kind, TypeEngine[Any]] = {
        Kind.STRING: Text(),
        Kind.INTEGER: BigInteger(),
        Kind.FLOAT: Double(),
        Kind.BOOLEAN: Boolean(),
        Kind.TIMESTAMP: DateTime(timezone=True).with_variant(SQLITE_DATETIME, "sqlite"),
        Kind.DATE: Date(),
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
    columns = [SqlColumn(c.name, sql_type(c.type), nullable=c.nullable) for c in spec.columns]
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
    definitions = [SqlColumn(n, sql_type(spec.column(n).type)) for n in names]
    constraints = []
    if keyed:
        key = [k for k in spec.primary_key if k in names]
        constraints.append(PrimaryKeyConstraint(*key, name=short_name("pk_", kind, spec.name)))
    return Table(
        scratch_name(kind, spec, extra),
        metadata,
        *definitions,
        *constraints,
        prefixes=["TEMPORARY"],
    )
