"""The connector protocol: the one seam between the engine and external systems.

A **source** yields bounded Arrow batches of one stream, each with the checkpoint token that
becomes true once the batch is committed. A **destination** takes batches inside a unit of
commit it controls (begin, write, commit or rollback) and says which write modes it supports.
Connectors know nothing of templates or integrations: the engine passes in validated options,
declared schemas and table definitions, so a new connector only implements these methods.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from pydantic import BaseModel

from isthmus.types import DataType

Checkpoint = dict[str, Any]
"""A source's position, as JSON-serialisable data the state store keeps between runs."""


class WriteMode(StrEnum):
    APPEND = "append"
    UPSERT = "upsert"
    REPLACE = "replace"


# --- sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRequest:
    """What the engine asks a source to read."""

    name: str
    fields: Mapping[str, DataType]
    options: BaseModel
    primary_key: str | None
    checkpoint: Checkpoint | None
    batch_size: int
    cursor: str | None = None  # the stream's declared cursor field, if it has one


@dataclass(frozen=True)
class MalformedRecord:
    """A record the source could not parse at all; it is quarantined with its raw text."""

    origin: str
    position: int
    raw: str
    reason: str


@dataclass(frozen=True)
class SourceBatch:
    """Up to ``batch_size`` records of one stream.

    ``records`` holds the declared fields, every scalar as text (see
    ``DataType.to_text_polars``); ``positions`` gives each record's line or record number
    within ``origin``. ``checkpoint`` is the source's position after this batch.
    """

    records: pa.Table
    positions: pa.Array
    origin: str
    checkpoint: Checkpoint | None
    malformed: tuple[MalformedRecord, ...] = ()
    bytes_read: int = 0
    # Top-level field names the source saw in this batch (None when it cannot tell); the
    # engine compares them with the declared schema to detect drift.
    observed_fields: frozenset[str] | None = None


class PendingBatch:
    """A batch read but not parsed yet. The engine calls ``parse`` on one of its mapping
    threads, so a source whose parsing is the heavy part (JSON Lines) spreads it over the
    cores while reading stays in order.

    A pending batch parses once and lets go of what it was read from as it does: a block of
    raw bytes (17 MB for 50,000 JSON lines) is then freed when its parse ends, not held
    while the parsed batch is mapped and checked."""

    __slots__ = ("_parse",)

    def __init__(self, parse: Callable[[], SourceBatch]) -> None:
        self._parse: Callable[[], SourceBatch] | None = parse

    def parse(self) -> SourceBatch:
        parse, self._parse = self._parse, None
        if parse is None:
            raise RuntimeError("a pending batch parses only once, and this one has parsed")
        return parse()


def resolved(item: SourceBatch | PendingBatch) -> SourceBatch:
    return item.parse() if isinstance(item, PendingBatch) else item


def with_checkpoint(
    item: SourceBatch | PendingBatch, checkpoint: Checkpoint | None
) -> SourceBatch | PendingBatch:
    """The batch carrying ``checkpoint``, the source's position after it (a source holds its
    last batch back to give it one); a pending batch gets it when it parses."""
    if isinstance(item, PendingBatch):
        parse = item.parse
        return PendingBatch(lambda: replace(parse(), checkpoint=checkpoint))
    return replace(item, checkpoint=checkpoint)


class Source(Protocol):
    def size_hint(self, request: StreamRequest) -> int | None:
        """Bytes the stream will read, for a progress bar; None when unknown."""

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        """Yield the stream's records in batches of at most ``request.batch_size``, in
        order; a batch may come as a :class:`PendingBatch` that parses when asked."""

    def close(self) -> None:
        """Release connections and files."""


@runtime_checkable
class Noted(Protocol):
    """A source or sink with something to add to the run's record once it is done, such as
    the retries an API needed."""

    def notes(self) -> list[str]: ...


# --- destinations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A core entity's table, as validated from the core model."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    tenant_key: str

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def row_key(self) -> list[str]:
        """The primary key without the tenant key: what identifies a row within a tenant."""
        return [k for k in self.primary_key if k != self.tenant_key]


@dataclass(frozen=True)
class WriteResult:
    """What one write or one stream finish did. ``inserted`` counts keys that did not exist
    before; ``deleted`` rows removed or marked deleted."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class DeletePolicy:
    """What to do, when a stream finishes a full read, with the tenant's rows it never saw."""

    mode: str  # "soft" sets ``field`` to ``at``; "hard" deletes the row
    field: str
    at: dt.datetime


class Transaction(Protocol):
    """One unit of commit in the destination. Nothing is visible to others before commit."""

    def encode(self, table: TableSpec, rows: pa.Table) -> pa.Table:
        """``rows`` in the form :meth:`write` takes fastest (it takes them either way).

        Pure and thread-safe: the engine calls it from the thread that maps the next batch,
        so the thread that holds the transaction has less to do.
        """

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        """Write rows of one tenant. ``rows`` has every column of ``table``, keys unique.

        Under UPSERT, rows replace the rows with the same key; under APPEND, a key that exists
        is an error; under REPLACE, rows are staged until :meth:`finish` swaps them in. Rows of
        other tenants are never touched.
        """

    def mark_seen(self, table: TableSpec, tenant: str, keys: pa.Table) -> None:
        """Remember keys a full read met (loaded or not), for delete propagation."""

    def finish(
        self, table: TableSpec, mode: WriteMode, tenant: str, deletes: DeletePolicy | None
    ) -> WriteResult:
        """End a stream: swap staged rows in (REPLACE) and propagate deletes of keys not
        seen. Called once per stream, after its last write."""

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        """Which of ``values`` exist in ``column`` among the tenant's rows, as seen inside
        this transaction."""

    def lookup(
        self, table: TableSpec, tenant: str, keys: pa.Table, columns: Sequence[str]
    ) -> pa.Table:
        """The tenant's rows with the given keys (``keys`` has the primary key columns but
        the tenant key), as the key columns plus ``columns``; missing keys are left out."""

    def save_checkpoint(
        self, integration: str, stream: str, token: Checkpoint, run_id: int
    ) -> None:
        """Store a checkpoint in this transaction, so it commits with the data it covers."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Destination(Protocol):
    write_modes: frozenset[WriteMode]

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        """Create missing tables (``create``) or check that live tables match; raise
        DestinationError naming the table and column on a mismatch."""

    def begin(self) -> Transaction: ...

    def checkpoint(self, integration: str, stream: str) -> Checkpoint | None:
        """The last committed checkpoint of a stream, or None."""

    def checkpoint_runs(self, integration: str) -> dict[str, int]:
        """Stream -> the run whose transaction committed its checkpoint."""

    def reset_checkpoints(self, integration: str, stream: str | None) -> int:
        """Forget checkpoints (of one stream, or all); how many were removed."""

    def close(self) -> None: ...


# --- registry entries ---------------------------------------------------------------------


class StoredEvent(Protocol):
    """One inbound event as an event log keeps it."""

    @property
    def seq(self) -> int: ...

    @property
    def event_id(self) -> str: ...

    @property
    def body(self) -> str: ...


class EventLog(Protocol):
    """Where inbound events (webhook deliveries) wait for a run; the state store is one."""

    def events_after(
        self, integration: str, stream: str, after_seq: int, limit: int
    ) -> Sequence[StoredEvent]:
        """Up to ``limit`` events of a stream with a sequence id above ``after_seq``, in
        sequence order."""

    def last_event_seq(self, integration: str, stream: str) -> int:
        """The sequence id of the stream's newest event; 0 when it has none."""


class NoOptions(BaseModel):
    """For connectors that take no options at some level."""

    model_config = {"extra": "forbid", "frozen": True}


@dataclass(frozen=True)
class SourceContext:
    """What a source factory is given: validated options, the project's folder, the
    integration's secrets (name -> ``Secret``, revealed only where a request needs one), and
    the run's clock, so a connector's waits (retries, rate limits) are the engine's to fake.
    A source fed by inbound events reads them from ``events``, under the run's
    ``integration`` id."""

    options: BaseModel
    connection: BaseModel
    project_root: Path
    secrets: Mapping[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    integration: str = ""
    events: EventLog | None = None
