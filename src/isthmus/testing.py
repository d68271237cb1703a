"""Public fakes for tests of isthmus and of projects built on it.

- :class:`FakeClock`: time that moves only when told; ``sleep`` advances it.
- :class:`MemorySource`: a source serving records from a list, in batches.
- :class:`MemoryDestination`: a transactional destination holding tables in memory.
- :class:`FailingDestination`: wraps any destination and fails a chosen write, to prove
  that a failure mid-load leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from isthmus.connectors.base import (
    Destination,
    SourceBatch,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
    WriteResult,
)
from isthmus.errors import DestinationError, TransientError

__all__ = [
    "FailingDestination",
    "FakeClock",
    "InjectedError",
    "MemoryDestination",
    "MemorySource",
]


class FakeClock:
    """A clock for tests: starts at ``start`` and advances only by ``advance`` or ``sleep``."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds
        self.current += dt.timedelta(seconds=seconds)


class MemorySource:
    """Serves each stream's records (dicts, as JSON would hold them) in batches."""

    def __init__(self, streams: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.streams = streams

    def size_hint(self, request: StreamRequest) -> int | None:
        return None

    def read(self, request: StreamRequest) -> Iterator[SourceBatch]:
        records = list(self.streams.get(request.name, []))
        dtype = pl.Struct({n: t.to_text_polars() for n, t in request.fields.items()})
        for start in range(0, max(len(records), 1), request.batch_size):
            chunk = records[start : start + request.batch_size]
            lines = "\n".join(json.dumps(r) for r in chunk)
            frame = (
                pl.read_ndjson(lines.encode(), schema=dict(dtype.to_schema()))
                if chunk
                else pl.DataFrame(schema=dict(dtype.to_schema()))
            )
            last = start + request.batch_size >= len(records)
            yield SourceBatch(
                records=frame.to_arrow(),
                origin=f"memory:{request.name}",
                positions=pa.array(range(start + 1, start + len(chunk) + 1), pa.int64()),
                checkpoint={"records": start + len(chunk)} if last else None,
            )

    def close(self) -> None:
        return None


@dataclass
class _Tables:
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def copy(self) -> _Tables:
        return _Tables({name: dict(rows) for name, rows in self.rows.items()})


class MemoryDestination:
    """Tables in memory; a transaction works on a copy that replaces them on commit."""

    write_modes = frozenset({WriteMode.APPEND, WriteMode.UPSERT, WriteMode.REPLACE})

    def __init__(self) -> None:
        self.tables = _Tables()
        self.specs: dict[str, TableSpec] = {}

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        for spec in tables:
            self.specs[spec.name] = spec
            self.tables.rows.setdefault(spec.name, {})

    def begin(self) -> MemoryTransaction:
        return MemoryTransaction(self)

    def close(self) -> None:
        return None

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables.rows.get(table, {}).values())


class MemoryTransaction:
    def __init__(self, destination: MemoryDestination) -> None:
        self.destination = destination
        self.working = destination.tables.copy()
        self.replaced: set[str] = set()

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        stored = self.working.rows.setdefault(table.name, {})
        deleted = 0
        if mode is WriteMode.REPLACE and table.name not in self.replaced:
            mine = [k for k, row in stored.items() if row[table.tenant_key] == tenant]
            for key in mine:
                del stored[key]
            deleted = len(mine)
            self.replaced.add(table.name)
        inserted = updated = 0
        for row in rows.to_pylist():
            key = tuple(row[k] for k in table.primary_key)
            if key in stored and mode is WriteMode.APPEND:
                raise DestinationError(f"append met existing key {key} in {table.name}")
            updated += key in stored
            inserted += key not in stored
            stored[key] = row
        return WriteResult(inserted=inserted, updated=updated, deleted=deleted)

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        present = {
            row[column]
            for row in self.working.rows.get(table.name, {}).values()
            if row[table.tenant_key] == tenant
        }
        return pa.array([v for v in set(values.to_pylist()) if v in present], values.type)

    def commit(self) -> None:
        self.destination.tables = self.working

    def rollback(self) -> None:
        self.working = _Tables()


class InjectedError(DestinationError):
    """The failure a :class:`FailingDestination` was told to raise."""


class InjectedTransientError(InjectedError, TransientError):
    """An injected failure that claims retrying could help."""


class FailingDestination:
    """Delegates to ``inner`` but raises on the ``fail_on_write``-th write (1-based)."""

    def __init__(self, inner: Destination, *, fail_on_write: int, transient: bool = False):
        self.inner = inner
        self.fail_on_write = fail_on_write
        self.transient = transient
        self.writes = 0
        self.write_modes = inner.write_modes

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        self.inner.prepare(tables, create=create)

    def begin(self) -> Transaction:
        return _FailingTransaction(self, self.inner.begin())

    def close(self) -> None:
        self.inner.close()


class _FailingTransaction:
    def __init__(self, owner: FailingDestination, inner: Transaction) -> None:
        self.owner = owner
        self.inner = inner

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        self.owner.writes += 1
        result = self.inner.write(table, rows, mode, tenant)
        if self.owner.writes == self.owner.fail_on_write:
            kind = InjectedTransientError if self.owner.transient else InjectedError
            raise kind(f"injected failure on write {self.owner.writes} to {table.name}")
        return result

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        return self.inner.existing(table, column, tenant, values)

    def commit(self) -> None:
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()
