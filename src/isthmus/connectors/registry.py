"""The connector registry: the one list of connectors, their options models and factories.

Validation checks configuration against these models, the docs describe them, and the
engine builds connectors through the factories, so none of them can drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from isthmus.connectors.base import NoOptions, Source, SourceContext
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.connectors.filesink import FileSink, FileSinkOptions
from isthmus.connectors.rest import RestConnection, RestOptions, RestSource, RestStream
from isthmus.connectors.rest.options import RestHttpOptions
from isthmus.connectors.rest.sink import RestSink
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.connectors.webhook import WebhookOptions, WebhookSource
from isthmus.connectors.writeback import RecordSink, SinkContext


@dataclass(frozen=True)
class SourceConnector:
    name: str
    description: str
    options: type[BaseModel]
    connection: type[BaseModel]
    stream: type[BaseModel]
    factory: Callable[[SourceContext], Source]


SOURCES: dict[str, SourceConnector] = {
    "file": SourceConnector(
        name="file",
        description="JSON Lines, CSV and Parquet files under a folder of the project (or a "
        "file:// or other fsspec URL), read incrementally by name or modification time.",
        options=FileOptions,
        connection=FileConnection,
        stream=FileStream,
        factory=FileSource,
    ),
    "rest": SourceConnector(
        name="rest",
        description="A JSON API over HTTP(S), read page by page, with retries and rate limits.",
        options=RestOptions,
        connection=RestConnection,
        stream=RestStream,
        factory=RestSource,
    ),
    "sql": SourceConnector(
        name="sql",
        description="Tables or SELECT queries of a database (PostgreSQL, MySQL/MariaDB, "
        "SQLite), read in batches, incrementally by a cursor column.",
        options=NoOptions,
        connection=SqlConnection,
        stream=SqlStream,
        factory=SqlSource,
    ),
    "webhook": SourceConnector(
        name="webhook",
        description="Events a system pushes to `isthmus serve` as signed HTTP deliveries "
        "(Standard Webhooks), one JSON object per delivery, stored until a run reads them.",
        options=WebhookOptions,
        connection=NoOptions,
        stream=NoOptions,
        factory=WebhookSource,
    ),
}


def source_connector(name: str) -> SourceConnector | None:
    return SOURCES.get(name)


@dataclass(frozen=True)
class WriteBackConnector:
    """A connector that sends core rows to an external system (a template's ``writeback``)."""

    name: str
    description: str
    options: type[BaseModel]  # the template's writeback.options
    connection: type[BaseModel]  # the integration's connection
    factory: Callable[[SinkContext], RecordSink]


WRITEBACK: dict[str, WriteBackConnector] = {
    "rest": WriteBackConnector(
        name="rest",
        description="A JSON API over HTTP(S): one request per record, or batches to a batch "
        "endpoint, each with an Idempotency-Key header.",
        options=RestHttpOptions,
        connection=RestConnection,
        factory=RestSink,
    ),
    "file": WriteBackConnector(
        name="file",
        description="One file per target (CSV, JSON Lines or Parquet) under a folder, "
        "renamed into place only when the whole target was written.",
        options=FileSinkOptions,
        connection=FileConnection,
        factory=FileSink,
    ),
}
