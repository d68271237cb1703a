"""Read-only access to the core database and the state store, for dry runs.

A dry run writes nothing, and must not even create a database: a SQLite file that does not
exist is reported as absent, never opened; one that exists is opened read-only (immutable
when no other connection has a write-ahead log open, so SQLite creates no -wal or -shm file
beside it). PostgreSQL sessions are read-only; on every database only SELECTs are sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from isthmus.connectors.base import Checkpoint, TableSpec
from isthmus.connectors.sqldriver import read_back
from isthmus.connectors.sqlerrors import classified
from isthmus.connectors.sqltables import CHECKPOINTS_TABLE

SQLITE = "sqlite:///"
CHUNK = 500  # values per IN list: under every database's limit on bound parameters


def read_only_engine(url: str) -> Engine | None:
    """An engine that only reads the database at ``url``; None for a SQLite file that does
    not exist."""
    if url.startswith(SQLITE):
        path = Path(url.removeprefix(SQLITE))
        if not path.is_file():
            return None
        busy = path.with_name(path.name + "-wal").exists()
        mode = "mode=ro" if busy else "immutable=1"
        return sa.create_engine(f"{SQLITE}file:{quote(str(path))}?{mode}&uri=true")
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


class ReadOnlyCore:
    """What a dry run asks of the core database: checkpoints, existing references, and the
    cursor values of rows already there."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        try:
            with classified("read the core database"), engine.connect() as connection:
                self.tables = frozenset(sa.inspect(connection).get_table_names())
        except BaseException:
            engine.dispose()
            raise

    def checkpoint(self, integration: str, stream: str) -> tuple[Checkpoint | None, int | None]:
        """The stream's committed checkpoint and the run that committed it."""
        if CHECKPOINTS_TABLE not in self.tables:
            return None, None
        table = sa.table(
            CHECKPOINTS_TABLE, sa.column("integration"), sa.column("stream"),
            sa.column("token"), sa.column("run_id"),
        )  # fmt: skip
        query = sa.select(table.c.token, table.c.run_id).where(
            table.c.integration == integration, table.c.stream == stream
        )
        with classified("read a checkpoint"), self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None, None
        return dict(json.loads(row[0])), int(row[1])

    def existing(self, table: TableSpec, column: str, tenant: str, values: pl.Series) -> pl.Series:
        """Which of ``values`` the tenant's rows hold in ``column``."""
        wanted = values.drop_nulls().unique()
        if table.name not in self.tables or wanted.is_empty():
            return wanted.clear()
        target = sa.table(table.name, sa.column(column), sa.column(table.tenant_key))
        found: list[Any] = []
        with classified(f"look up references in {table.name!r}"), self.engine.connect() as c:
            for start in range(0, wanted.len(), CHUNK):
                chunk = wanted.slice(start, CHUNK).to_list()
                query = (
                    sa.select(target.c[column])
                    .distinct()
                    .where(target.c[table.tenant_key] == tenant, target.c[column].in_(chunk))
                )
                found.extend(row[0] for row in c.execute(query))
        types = {column: table.column(column).type.to_polars()}
        return _typed(found, [column], types, self.sqlite).to_series()

    def current(
        self, table: TableSpec, tenant: str, keys: pl.DataFrame, cursor: str
    ) -> pl.DataFrame:
        """The key and ``cursor`` of the tenant's rows with the given keys (row key columns,
        no tenant key); keys not there are left out."""
        key = table.row_key
        wanted = [*key, cursor]
        types = {c: table.column(c).type.to_polars() for c in wanted}
        unique = keys.select(key).drop_nulls().unique()
        if table.name not in self.tables or unique.is_empty():
            return pl.DataFrame(schema=types)
        target = sa.table(table.name, *(sa.column(c) for c in {*wanted, table.tenant_key}))
        rows: list[Sequence[Any]] = []
        with classified(f"look up rows of {table.name!r}"), self.engine.connect() as connection:
            for start in range(0, unique.height, CHUNK):
                chunk = unique.slice(start, CHUNK).rows()
                matches = (
                    target.c[key[0]].in_([row[0] for row in chunk])
                    if len(key) == 1
                    else sa.tuple_(*(target.c[k] for k in key)).in_(chunk)
                )
                query = sa.select(*(target.c[c] for c in wanted)).where(
                    target.c[table.tenant_key] == tenant, matches
                )
                rows.extend(tuple(row) for row in connection.execute(query))
        return _typed(rows, wanted, types, self.sqlite, by_row=True)

    def close(self) -> None:
        self.engine.dispose()


def _typed(
    data: Sequence[Any],
    columns: list[str],
    types: dict[str, pl.DataType],
    sqlite: bool,
    *,
    by_row: bool = False,
) -> pl.DataFrame:
    """Values read back in the core model's types (SQLite returns timestamps as text)."""
    if by_row:
        raw = pl.DataFrame(list(data), schema=columns, orient="row", infer_schema_length=None)
    else:
        raw = pl.DataFrame({columns[0]: list(data)}, strict=False)
    table: pa.Table = read_back(raw.to_arrow(), types, sqlite=sqlite)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
