"""Read a tenant's core rows back out of the SQL destination, in order, a batch at a time.

Keyset pagination (``WHERE (cursor, key) > (last seen) ORDER BY cursor, key``) reads each row
once however many rows share a cursor value, and costs the same for the last batch as for
the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import Engine, Table, Text, and_, cast, select, tuple_

from isthmus.connectors.sqlerrors import classified
from isthmus.connectors.writeback import RowsAfter
from isthmus.types import Kind


def read_rows(engine: Engine, table: Table, request: RowsAfter) -> Iterator[pa.Table]:
    spec = request.table
    schema = {c.name: c.type.to_polars() for c in spec.columns}
    order = [table.c[name] for name in request.order]
    # A json value as its text: the drivers would hand PostgreSQL's JSONB and MariaDB's JSON
    # over parsed into Python objects.
    columns = [
        cast(table.c[c.name], Text).label(c.name) if c.type.kind is Kind.JSON else table.c[c.name]
        for c in spec.columns
    ]
    condition = table.c[spec.tenant_key] == request.tenant
    after = None if request.after is None else tuple(_utc(v) for v in request.after)
    while True:
        where = condition
        if after is not None:
            # The columns' own types bind the values: SQLite keeps timestamps as text in
            # its own format, and a value bound as a generic datetime would not compare.
            bound = tuple_(*after, types=[column.type for column in order])
            where = and_(where, tuple_(*order) > bound)
        statement = select(*columns).where(where).order_by(*order).limit(request.batch_size)
        with classified(f"read the rows of core table {spec.name!r}"), engine.connect() as c:
            rows = c.execute(statement).all()
        if not rows:
            return
        frame = pl.DataFrame([tuple(r) for r in rows], schema=list(schema), orient="row")
        frame = frame.select(pl.col(n).cast(t) for n, t in schema.items())
        yield frame.to_arrow()
        last = rows[-1]._mapping
        after = tuple(last[name] for name in request.order)
        if len(rows) < request.batch_size:
            return


def _utc(value: Any) -> Any:
    # MariaDB's DATETIME holds UTC wall times, and its driver binds a timestamp's wall time
    # whatever its zone: an instant goes in as UTC (the same instant on every database).
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value
