"""The connector registry: the one list of connectors, their options models and factories.

Validation checks configuration against these models, the docs describe them, and the
engine builds connectors through the factories, so none of them can drift apart.

Each connector's module is imported the first time one of its parts is asked for: a run of a
file integration never loads the HTTP client, and every command starts faster for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

from pydantic import BaseModel

from isthmus.connectors.base import NoOptions, Source, SourceContext
from isthmus.connectors.writeback import RecordSink, SinkContext

Built = TypeVar("Built")


@dataclass(frozen=True)
class ConnectorParts(Generic[Built]):
    """What a connector's module provides: its settings models and its factory."""

    options: type[BaseModel]  # a template's source.options, or its writeback.options
    connection: type[BaseModel]  # the integration's connection
    factory: Callable[..., Built]
    stream: type[BaseModel] = NoOptions  # a source's per-stream settings


@dataclass(frozen=True)
class _Lazy(Generic[Built]):
    name: str
    description: str
    load: Callable[[], ConnectorParts[Built]] = field(repr=False, compare=False)

    @cached_property
    def parts(self) -> ConnectorParts[Built]:
        return self.load()

    @property
    def options(self) -> type[BaseModel]:
        return self.parts.options

    @property
    def connection(self) -> type[BaseModel]:
        return self.parts.connection


@dataclass(frozen=True)
class SourceConnector(_Lazy[Source]):
    @property
    def stream(self) -> type[BaseModel]:
        return self.parts.stream

    @property
    def factory(self) -> Callable[[SourceContext], Source]:
        return self.parts.factory


@dataclass(frozen=True)
class WriteBackConnector(_Lazy[RecordSink]):
    """A connector that sends core rows to an external system (a template's ``writeback``)."""

    @property
    def factory(self) -> Callable[[SinkContext], RecordSink]:
        return self.parts.factory


# The loaders import inside the function on purpose: that is what makes the registry lazy.
# ruff: noqa: PLC0415


def _file_source() -> ConnectorParts[Source]:
    from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream

    return ConnectorParts(FileOptions, FileConnection, FileSource, FileStream)


def _rest_source() -> ConnectorParts[Source]:
    from isthmus.connectors.rest import RestConnection, RestOptions, RestSource, RestStream

    return ConnectorParts(RestOptions, RestConnection, RestSource, RestStream)


def _sql_source() -> ConnectorParts[Source]:
    from isthmus.connectors.sqlsource import SqlSource
    from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream

    return ConnectorParts(NoOptions, SqlConnection, SqlSource, SqlStream)


def _webhook_source() -> ConnectorParts[Source]:
    from isthmus.connectors.webhook import WebhookOptions, WebhookSource

    return ConnectorParts(WebhookOptions, NoOptions, WebhookSource)


def _rest_sink() -> ConnectorParts[RecordSink]:
    from isthmus.connectors.rest import RestConnection
    from isthmus.connectors.rest.options import RestHttpOptions
    from isthmus.connectors.rest.sink import RestSink

    return ConnectorParts(RestHttpOptions, RestConnection, RestSink)


def _file_sink() -> ConnectorParts[RecordSink]:
    from isthmus.connectors.files import FileConnection
    from isthmus.connectors.filesink import FileSink, FileSinkOptions

    return ConnectorParts(FileSinkOptions, FileConnection, FileSink)


SOURCES: dict[str, SourceConnector] = {
    "file": SourceConnector(
        name="file",
        description="JSON Lines, CSV and Parquet files under a folder of the project (or a "
        "file:// or other fsspec URL), read incrementally by name or modification time.",
        load=_file_source,
    ),
    "rest": SourceConnector(
        name="rest",
        description="A JSON API over HTTP(S), read page by page, with retries and rate limits.",
        load=_rest_source,
    ),
    "sql": SourceConnector(
        name="sql",
        description="Tables or SELECT queries of a database (PostgreSQL, MySQL/MariaDB, "
        "SQLite), read in batches, incrementally by a cursor column.",
        load=_sql_source,
    ),
    "webhook": SourceConnector(
        name="webhook",
        description="Events a system pushes to `isthmus serve` as signed HTTP deliveries "
        "(Standard Webhooks), one JSON object per delivery, stored until a run reads them.",
        load=_webhook_source,
    ),
}


def source_connector(name: str) -> SourceConnector | None:
    return SOURCES.get(name)


WRITEBACK: dict[str, WriteBackConnector] = {
    "rest": WriteBackConnector(
        name="rest",
        description="A JSON API over HTTP(S): one request per record, or batches to a batch "
        "endpoint, each with an Idempotency-Key header.",
        load=_rest_sink,
    ),
    "file": WriteBackConnector(
        name="file",
        description="One file per target (CSV, JSON Lines or Parquet) under a folder, "
        "renamed into place only when the whole target was written.",
        load=_file_sink,
    ),
}
