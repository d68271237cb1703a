"""The statements of a SQL stream: what its table or query offers, and the SELECT that reads it.

Names (table, schema, columns) are SQLAlchemy objects, so the dialect quotes them; nothing
configured is ever formatted into SQL text except a stream's own query, which is validated as
one SELECT and wrapped as a subquery. The checkpoint's cursor value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from isthmus.connectors.sqlsource_errors import SqlSourceConfigError
from isthmus.connectors.sqlsource_options import SqlStream


@dataclass(frozen=True)
class StreamShape:
    """What a stream's table or query offers: its columns, and where its rows come from."""

    columns: tuple[str, ...]
    origin: str  # for messages and quarantined records: "table crm.contacts", "query"


def stream_shape(connection: Connection, stream: SqlStream, name: str) -> StreamShape:
    """The stream's columns, asked of the database; a missing table is a config error."""
    if stream.table is not None:
        shown = f"{stream.db_schema}.{stream.table}" if stream.db_schema else stream.table
        inspector = sa.inspect(connection)
        if not inspector.has_table(stream.table, schema=stream.db_schema):
            raise SqlSourceConfigError(
                f"stream {name}: table {shown!r} not found",
                hint="check the stream's table and db_schema (names are exact, "
                "case included) and that the user may read it",
            )
        columns = inspector.get_columns(stream.table, schema=stream.db_schema)
        return StreamShape(tuple(str(c["name"]) for c in columns), f"table {shown}")
    probe: sa.Select[Any] = (
        sa.select(sa.literal_column("*")).select_from(_query_source(stream, ())).limit(0)
    )
    result = connection.execute(probe)
    names = result.keys()  # the query's columns, as the database names them
    result.close()
    return StreamShape(tuple(str(n) for n in names), "query")


def check_fields(shape: StreamShape, wanted: Sequence[str], name: str) -> None:
    """Every declared field (and the cursor) must be a column of the table or query."""
    missing = [field for field in wanted if field not in shape.columns]
    if missing:
        listed = ", ".join(repr(f) for f in missing)
        offered = ", ".join(shape.columns) or "none"
        raise SqlSourceConfigError(
            f"stream {name}: declared field {listed} is not a column of the {shape.origin}",
            hint=f"its columns are: {offered}; fix the stream's schema, or select the column "
            "under that name",
        )


def read_statement(
    stream: SqlStream,
    selected: Sequence[str],
    cursor: str | None,
    after: Any,
    as_text: Collection[str] = (),
) -> sa.Select[Any]:
    """SELECT the columns, on an incremental read those past ``after``, ordered by the cursor.

    The columns named in ``as_text`` (fields declared json) are read as their text: the
    drivers hand PostgreSQL's json and jsonb over parsed into Python values, in which a JSON
    string could no longer be told from text holding JSON."""
    source = _source(stream, selected)
    statement = sa.select(
        *(
            sa.cast(source.c[name], sa.Text).label(name) if name in as_text else source.c[name]
            for name in selected
        )
    )
    if cursor is not None:
        if after is not None:
            statement = statement.where(source.c[cursor] > sa.bindparam("checkpoint", after))
        statement = statement.order_by(source.c[cursor])
    return statement


def _source(stream: SqlStream, columns: Sequence[str]) -> sa.TableClause | sa.Subquery:
    if stream.table is not None:
        return sa.table(stream.table, *(sa.column(c) for c in columns), schema=stream.db_schema)
    return _query_source(stream, columns)


def _query_source(stream: SqlStream, columns: Sequence[str]) -> sa.Subquery:
    assert stream.query is not None
    # The newline ends a trailing -- comment before the subquery's closing parenthesis.
    text = sa.text(stream.query + "\n").columns(*(sa.column(c) for c in columns))
    return text.subquery("source")
