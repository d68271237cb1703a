"""Core tables as SQLAlchemy objects: names come from the validated core model and are only
ever rendered through SQLAlchemy, which quotes them for the dialect."""

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
    Table,
    Text,
)
from sqlalchemy import Column as SqlColumn
from sqlalchemy.types import TypeEngine

from isthmus.connectors.base import TableSpec
from isthmus.types import DataType, Kind

STAGE_PREFIX = "isthmus_stage_"
LOOKUP_PREFIX = "isthmus_lookup_"
MAX_IDENTIFIER = 63


def sql_type(data_type: DataType) -> TypeEngine[Any]:
    types: dict[Kind, TypeEngine[Any]] = {
        Kind.STRING: Text(),
        Kind.INTEGER: BigInteger(),
        Kind.FLOAT: Double(),
        Kind.BOOLEAN: Boolean(),
        Kind.TIMESTAMP: DateTime(timezone=True),
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


def stage_table_name(spec: TableSpec) -> str:
    return short_name(STAGE_PREFIX, spec.name)


def stage_table(spec: TableSpec, metadata: MetaData) -> Table:
    """A temporary table with the core table's columns and no constraints."""
    columns = [SqlColumn(c.name, sql_type(c.type)) for c in spec.columns]
    return Table(stage_table_name(spec), metadata, *columns, prefixes=["TEMPORARY"])


def lookup_table_name(spec: TableSpec, column: str) -> str:
    return short_name(LOOKUP_PREFIX, spec.name, column)


def lookup_table(spec: TableSpec, column: str, metadata: MetaData) -> Table:
    """A temporary one-column table holding values to look up in ``column``."""
    data_type = spec.column(column).type
    return Table(
        lookup_table_name(spec, column),
        metadata,
        SqlColumn("value", sql_type(data_type)),
        prefixes=["TEMPORARY"],
    )
