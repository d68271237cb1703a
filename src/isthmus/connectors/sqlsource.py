"""The SQL source: a stream is a table or a query of a customer's database.

Rows are read through a server-side cursor in partitions of the engine's batch size, so a
large table never sits in memory whole. With a declared ``cursor`` the read is ordered by it
and, from a checkpoint, takes only the rows past it (``cursor > :checkpoint``); the last
batch carries the new checkpoint, the greatest cursor value read (or the previous one when
nothing newer came). Rows that share the checkpoint's value but arrive later are not read:
a cursor should grow with every change (a sequence, or a timestamp to the microsecond).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import NoSuchModuleError

from isthmus.connectors.base import (
    Checkpoint,
    PendingBatch,
    SourceBatch,
    SourceContext,
    StreamRequest,
    with_checkpoint,
)
from isthmus.connectors.rest.options import secret_name
from isthmus.connectors.sqlsource_batches import (
    checkpoint_cursor,
    columns_batch,
    cursor_checkpoint,
    last_cursor,
)
from isthmus.connectors.sqlsource_errors import SqlSourceConfigError, classified_read
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.connectors.sqlsource_statements import check_fields, read_statement, stream_shape
from isthmus.types import Kind

CONNECT_TIMEOUT_S = 15


class SqlSource:
    """Reads streams of one database; one engine (and its connections) per source."""

    def __init__(self, context: SourceContext) -> None:
        assert isinstance(context.connection, SqlConnection)
        connection = context.connection
        self.secret = secret_name(connection.password) if connection.password else None
        self.shown_url = make_url(connection.url).render_as_string(hide_password=True)
        url = _located(make_url(connection.url), context.project_root, self.shown_url)
        if self.secret is not None:
            url = url.set(password=_reveal(self.secret, context.secrets))
        self.engine = _engine(url, self.shown_url)

    def size_hint(self, request: StreamRequest) -> int | None:
        return None

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        stream = request.options
        assert isinstance(stream, SqlStream)
        with (
            classified_read(f"read stream {request.name}", url=self.shown_url, secret=self.secret),
            self._connect() as connection,
        ):
            yield from _StreamRead(request, stream).batches(connection)

    def _connect(self) -> Connection:
        connection = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            # Reads only, whatever the query says: the database refuses a change.
            connection = connection.execution_options(postgresql_readonly=True)
        return connection

    def close(self) -> None:
        self.engine.dispose()


class _StreamRead:
    """One stream's read: the columns selected, the position and the cursor so far."""

    def __init__(self, request: StreamRequest, stream: SqlStream) -> None:
        self.request = request
        self.stream = stream
        self.fields = list(request.fields)
        cursor = request.cursor
        # The cursor is selected even when it is not a declared field: its values make the
        # checkpoint. It is the last column, left out of the records.
        self.selected = self.fields + ([cursor] if cursor and cursor not in self.fields else [])
        self.cursor = cursor
        self.cursor_index = self.selected.index(cursor) if cursor else None
        self.greatest: Any = checkpoint_cursor(request.checkpoint)

    def batches(self, connection: Connection) -> Iterator[SourceBatch | PendingBatch]:
        shape = stream_shape(connection, self.stream, self.request.name)
        check_fields(shape, self.selected, self.request.name)
        json_fields = [n for n, t in self.request.fields.items() if t.kind is Kind.JSON]
        statement = read_statement(
            self.stream, self.selected, self.cursor, self.greatest, json_fields
        )
        streaming = connection.execution_options(
            stream_results=True, yield_per=self.request.batch_size
        )
        result = streaming.execute(statement)
        observed = frozenset(shape.columns)
        fields = self.request.fields
        held: SourceBatch | PendingBatch | None = None  # the last batch carries the checkpoint
        position = 1
        for rows in result.partitions():
            if held is not None:
                yield held
            columns = list(zip(*rows, strict=True))  # one transpose; the rest works on columns
            if self.cursor_index is not None:
                self.greatest = last_cursor(columns[self.cursor_index], self.greatest)
            held = columns_batch(columns, len(rows), fields, position, shape.origin, observed)
            position += len(rows)
        if held is None:
            empty = [() for _ in self.selected]
            held = columns_batch(empty, 0, fields, position, shape.origin, observed)
        yield with_checkpoint(held, self._checkpoint())

    def _checkpoint(self) -> Checkpoint | None:
        if self.cursor is None:
            return self.request.checkpoint
        return cursor_checkpoint(self.greatest)


def _located(url: URL, project_root: Path, shown: str) -> URL:
    """A SQLite file relative to the project folder, opened read-only: a wrong path is an
    error instead of a new empty database."""
    if url.get_backend_name() != "sqlite":
        return url
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return url
    path = Path(database) if Path(database).is_absolute() else project_root / database
    if not path.is_file():
        raise SqlSourceConfigError(
            f"the SQLite database of {shown} does not exist: {path}",
            hint="check the connection's url; a relative path is relative to the project folder",
        )
    return url.set(
        database=path.resolve().as_uri(), query={**url.query, "mode": "ro", "uri": "true"}
    )


def _engine(url: URL, shown: str) -> Engine:
    try:
        return sa.create_engine(
            url,
            hide_parameters=True,  # a failing statement's values stay out of messages and logs
            # A connection attempt that hangs ends as a transient failure, not a stuck run.
            connect_args={}
            if url.get_backend_name() == "sqlite"
            else {"connect_timeout": CONNECT_TIMEOUT_S},
        )
    except (NoSuchModuleError, ImportError) as error:
        raise SqlSourceConfigError(
            f"no database driver for {shown}: {error}",
            hint="install the driver the url names (psycopg for postgresql+psycopg, pymysql "
            "for mysql+pymysql), or name an installed one",
        ) from None


def _reveal(name: str, secrets: Mapping[str, Any]) -> str:
    if name not in secrets:
        raise SqlSourceConfigError(
            f"the SQL source needs secret {name!r} for its password, which the run was not given",
            hint=f"bind it under the integration's connection.secrets: {name}: env:VARIABLE",
        )
    secret = secrets[name]
    return str(secret.reveal() if hasattr(secret, "reveal") else secret)
