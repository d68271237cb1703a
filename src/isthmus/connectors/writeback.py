"""The write-back seam: core rows read back out of the destination, and a sink that sends
them to an external system one request at a time.

A sink has no transaction: each record is delivered or refused on its own, and a retried
run sends again what it sent before. The idempotency key each record carries makes that
harmless on a far side that honours it. A sink that can make a target's records appear
all at once (a file renamed into place) is a :class:`FinishingSink`: nothing it was given
counts until ``finish()`` succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from pydantic import BaseModel

from isthmus.connectors.base import TableSpec


@dataclass(frozen=True)
class RowsAfter:
    """Which of a tenant's rows to read: ordered by ``order`` (the cursor field, if any, then
    the key), those after ``after`` (the values of ``order`` of the last row sent)."""

    table: TableSpec
    tenant: str
    order: tuple[str, ...]
    after: tuple[Any, ...] | None
    batch_size: int


@runtime_checkable
class RowReader(Protocol):
    def read_rows(self, request: RowsAfter) -> Iterator[pa.Table]:
        """The tenant's rows in batches of at most ``batch_size``, every column of the table
        in the core model's types. Rows whose cursor is null are never "after" anything."""


@dataclass(frozen=True)
class Outgoing:
    """One record to send."""

    index: int  # its position in the batch handed to the sink
    path: str  # the request path, placeholders filled
    body: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class Delivery:
    """What became of one record."""

    index: int
    delivered: bool
    status: int | None  # the HTTP status (or the batch result's status)
    remote_id: str | None = None
    detail: str | None = None  # why it was refused: a bounded excerpt of the response
    replayed: bool = False  # the far side had it already: it answered from its idempotency store


class RecordSink(Protocol):
    def deliver(self, records: Sequence[Outgoing]) -> list[Delivery]:
        """Send ``records``; one Delivery each, in any order. A record the far side refuses
        (a 4xx about that record) is a Delivery with ``delivered=False``; anything that
        makes sending impossible (bad credentials, the service down after retries) raises."""

    def close(self) -> None: ...


@runtime_checkable
class FinishingSink(RecordSink, Protocol):
    def finish(self) -> None:
        """Make everything delivered for the target take effect at once; called after the
        last batch was delivered. ``close()`` without ``finish()`` discards it all."""


@dataclass(frozen=True)
class SinkContext:
    """What a sink factory is given: like a source's context, plus the target it sends."""

    options: BaseModel
    connection: BaseModel
    target: BaseModel  # the template's write-back target (method, path, batch)
    secrets: Mapping[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    # Where a relative file root lies; a sink that writes no files needs neither.
    project_root: Path | None = None
    # The Arrow types of the records' bodies (fields in order), for sinks that write columns.
    columns: pa.Schema | None = None
