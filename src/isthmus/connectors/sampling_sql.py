"""Sampling a SQL stream: the columns of its table or query, and which of its first rows'
columns held a value. Read through the source's own engine, read-only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from isthmus.connectors.base import StreamRequest
from isthmus.connectors.sampling import FieldWalk, ObservedFields
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_errors import classified_read
from isthmus.connectors.sqlsource_options import SqlStream
from isthmus.connectors.sqlsource_statements import stream_shape


class SqlSampler:
    def __init__(self, source: SqlSource) -> None:
        self.source = source

    def observe(self, request: StreamRequest, limit: int) -> ObservedFields:
        stream = request.options
        assert isinstance(stream, SqlStream)
        source = self.source
        action = f"sample stream {request.name}"
        with (
            classified_read(action, url=source.shown_url, secret=source.secret),
            source.engine.connect() as opened,
        ):
            # Reads only, whatever the query says: PostgreSQL refuses a change.
            connection = (
                opened.execution_options(postgresql_readonly=True)
                if source.engine.dialect.name == "postgresql"
                else opened
            )
            shape = stream_shape(connection, stream, request.name)
            statement: sa.Select[Any] = (
                sa.select(sa.literal_column("*")).select_from(_rows_of(stream)).limit(limit)
            )
            rows = connection.execute(statement).fetchall()
        filled = [any(_has_value(row[i]) for row in rows) for i in range(len(shape.columns))]
        walk = FieldWalk(request.fields)
        walk.paths(shape.columns, filled)
        walk.records = len(rows)
        return walk.result(f"the columns of the {shape.origin} and its first {len(rows)} rows")


def _rows_of(stream: SqlStream) -> sa.TableClause | sa.Subquery:
    if stream.table is not None:
        return sa.table(stream.table, schema=stream.db_schema)
    assert stream.query is not None
    # The newline ends a trailing -- comment before the subquery's closing parenthesis.
    return sa.text(stream.query + "\n").columns().subquery("source")


def _has_value(value: Any) -> bool:
    return value is not None and value != ""
