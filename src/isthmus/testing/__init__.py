"""Public fakes for tests of isthmus and of projects built on it.

- :class:`FakeClock`: time that moves only when told; ``sleep`` advances it.
- :class:`MemorySource`: a source serving records from a list, in batches.
- :class:`MemoryDestination`: a transactional destination holding tables in memory.
- :class:`FailingDestination`: wraps any destination and fails a chosen write, to prove
  that a failure mid-load leaves nothing behind.
- :class:`MemorySink`: a write-back target that keeps what it receives and honours
  idempotency keys, with knobs to refuse records and to fail part-way.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from isthmus.connectors.base import (
    Checkpoint,
    DeletePolicy,
    Destination,
    SourceBatch,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
    WriteResult,
)
from isthmus.connectors.jsontext import json_paths, with_json_strings
from isthmus.errors import DestinationError, ErrorClass, TransientError
from isthmus.testing.sinks import MemorySink, SinkUnavailableError

__all__ = [
    "FailingDestination",
    "FakeClock",
    "InjectedError",
    "InjectedTransientError",
    "MemoryDestination",
    "MemorySink",
    "MemorySource",
    "SinkUnavailableError",
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
                with_json_strings(
                    lines.encode(),
                    pl.read_ndjson(lines.encode(), schema=dict(dtype.to_schema())),
                    json_paths(request.fields),
                )
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
class _State:
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    checkpoints: dict[tuple[str, str], Checkpoint] = field(default_factory=dict)
    runs: dict[tuple[str, str], int] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(
            {name: dict(rows) for name, rows in self.rows.items()},
            dict(self.checkpoints),
            dict(self.runs),
        )


class MemoryDestination:
    """Tables in memory. A transaction works on a copy; its commit puts back the tables and
    checkpoints it changed, so transactions of different streams may run side by side."""

    write_modes = frozenset({WriteMode.APPEND, WriteMode.UPSERT, WriteMode.REPLACE})

    def __init__(self) -> None:
        self.state = _State()
        self.specs: dict[str, TableSpec] = {}
        self.commits = 0
        self.lock = threading.Lock()

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        for spec in tables:
            self.specs[spec.name] = spec
            self.state.rows.setdefault(spec.name, {})

    def begin(self) -> MemoryTransaction:
        return MemoryTransaction(self)

    def checkpoint(self, integration: str, stream: str) -> Checkpoint | None:
        return self.state.checkpoints.get((integration, stream))

    def checkpoint_runs(self, integration: str) -> dict[str, int]:
        return {k[1]: run for k, run in self.state.runs.items() if k[0] == integration}

    def reset_checkpoints(self, integration: str, stream: str | None) -> int:
        keys = [k for k in self.state.checkpoints if k[0] == integration and stream in (None, k[1])]
        for key in keys:
            del self.state.checkpoints[key]
            self.state.runs.pop(key, None)
        return len(keys)

    def close(self) -> None:
        return None

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.state.rows.get(table, {}).values())


class MemoryTransaction:
    def __init__(self, destination: MemoryDestination) -> None:
        self.destination = destination
        with destination.lock:
            self.working = destination.state.copy()
        self.staged: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        self.seen: dict[str, set[tuple[Any, ...]]] = {}
        self.touched: set[str] = set()

    def encode(self, table: TableSpec, rows: pa.Table) -> pa.Table:
        return rows

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        self.touched.add(table.name)
        if mode is WriteMode.REPLACE:
            staged = self.staged.setdefault(table.name, {})
            for row in rows.to_pylist():
                staged[_key(table, row)] = row
            return WriteResult()
        stored = self.working.rows.setdefault(table.name, {})
        inserted = updated = 0
        for row in rows.to_pylist():
            key = tuple(row[k] for k in table.primary_key)
            if key in stored and mode is WriteMode.APPEND:
                raise DestinationError(f"append met existing key {key} in {table.name}")
            updated += key in stored
            inserted += key not in stored
            stored[key] = row
        return WriteResult(inserted=inserted, updated=updated)

    def mark_seen(self, table: TableSpec, tenant: str, keys: pa.Table) -> None:
        seen = self.seen.setdefault(table.name, set())
        seen.update(tuple(row[k] for k in table.row_key) for row in keys.to_pylist())

    def finish(
        self, table: TableSpec, mode: WriteMode, tenant: str, deletes: DeletePolicy | None
    ) -> WriteResult:
        self.touched.add(table.name)
        stored = self.working.rows.setdefault(table.name, {})
        mine = {k: r for k, r in stored.items() if r[table.tenant_key] == tenant}
        if mode is WriteMode.REPLACE:
            staged = self.staged.pop(table.name, {})
            kept = sum(1 for row in staged.values() if _full_key(table, row) in mine)
            for key in mine:
                del stored[key]
            for row in staged.values():
                stored[_full_key(table, row)] = row
            return WriteResult(inserted=len(staged) - kept, updated=kept, deleted=len(mine) - kept)
        if deletes is None:
            return WriteResult()
        seen = self.seen.pop(table.name, set())
        gone = [k for k, r in mine.items() if _key(table, r) not in seen]
        if deletes.mode == "hard":
            for key in gone:
                del stored[key]
            return WriteResult(deleted=len(gone))
        marked = [k for k in gone if stored[k][deletes.field] is None]
        for key in marked:
            stored[key] = {**stored[key], deletes.field: deletes.at}
        return WriteResult(deleted=len(marked))

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        present = {
            row[column]
            for row in self.working.rows.get(table.name, {}).values()
            if row[table.tenant_key] == tenant
        }
        return pa.array([v for v in set(values.to_pylist()) if v in present], values.type)

    def lookup(
        self, table: TableSpec, tenant: str, keys: pa.Table, columns: Sequence[str]
    ) -> pa.Table:
        wanted = [*table.row_key, *(c for c in columns if c not in table.row_key)]
        asked = {tuple(row[k] for k in table.row_key) for row in keys.to_pylist()}
        rows = [
            {c: row[c] for c in wanted}
            for row in self.working.rows.get(table.name, {}).values()
            if row[table.tenant_key] == tenant and _key(table, row) in asked
        ]
        schema = {c: table.column(c).type.to_polars() for c in wanted}
        return pl.DataFrame(rows, schema=schema).to_arrow()

    def save_checkpoint(
        self, integration: str, stream: str, token: Checkpoint, run_id: int
    ) -> None:
        self.working.checkpoints[(integration, stream)] = token
        self.working.runs[(integration, stream)] = run_id

    def commit(self) -> None:
        with self.destination.lock:
            state = self.destination.state
            for name in self.touched:
                state.rows[name] = self.working.rows[name]
            state.checkpoints.update(self.working.checkpoints)
            state.runs.update(self.working.runs)
            self.destination.commits += 1

    def rollback(self) -> None:
        self.working = _State()


def _key(table: TableSpec, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in table.row_key)


def _full_key(table: TableSpec, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in table.primary_key)


class InjectedError(DestinationError):
    """The failure a :class:`FailingDestination` was told to raise."""


class InjectedTransientError(InjectedError, TransientError):
    """An injected failure that claims retrying could help."""

    error_class = ErrorClass.TRANSIENT


class FailingDestination:
    """Delegates to ``inner`` but raises on chosen calls, to prove what a failure leaves.

    ``fail_on_write``: the n-th write (1-based, counted over the destination's life) raises;
    ``fail_on_commit``: the n-th commit raises before committing; ``transient``: the failure
    is a TransientError (the engine retries it); ``times``: how many failures to inject in
    all (then it behaves).
    """

    def __init__(
        self,
        inner: Destination,
        *,
        fail_on_write: int | None = None,
        fail_on_commit: int | None = None,
        transient: bool = False,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.inner = inner
        self.fail_on_write = fail_on_write
        self.fail_on_commit = fail_on_commit
        self.transient = transient
        self.remaining = times
        self.retry_after = retry_after
        self.writes = 0
        self.commits = 0
        self.write_modes = inner.write_modes

    def prepare(self, tables: Sequence[TableSpec], *, create: bool) -> None:
        self.inner.prepare(tables, create=create)

    def begin(self) -> Transaction:
        return _FailingTransaction(self, self.inner.begin())

    def checkpoint(self, integration: str, stream: str) -> Checkpoint | None:
        return self.inner.checkpoint(integration, stream)

    def reset_checkpoints(self, integration: str, stream: str | None) -> int:
        return self.inner.reset_checkpoints(integration, stream)

    def checkpoint_runs(self, integration: str) -> dict[str, int]:
        return self.inner.checkpoint_runs(integration)

    def close(self) -> None:
        self.inner.close()

    def maybe_fail(self, what: str, count: int, wanted: int | None) -> None:
        if wanted is None or count != wanted or self.remaining <= 0:
            return
        self.remaining -= 1
        message = f"injected failure on {what} {count}"
        if self.transient:
            transient = InjectedTransientError(message)
            transient.retry_after = self.retry_after
            raise transient
        raise InjectedError(message)


class _FailingTransaction:
    def __init__(self, owner: FailingDestination, inner: Transaction) -> None:
        self.owner = owner
        self.inner = inner

    def encode(self, table: TableSpec, rows: pa.Table) -> pa.Table:
        return self.inner.encode(table, rows)

    def write(self, table: TableSpec, rows: pa.Table, mode: WriteMode, tenant: str) -> WriteResult:
        self.owner.writes += 1
        result = self.inner.write(table, rows, mode, tenant)
        self.owner.maybe_fail(
            f"write to {table.name}, write", self.owner.writes, self.owner.fail_on_write
        )
        return result

    def mark_seen(self, table: TableSpec, tenant: str, keys: pa.Table) -> None:
        self.inner.mark_seen(table, tenant, keys)

    def finish(
        self, table: TableSpec, mode: WriteMode, tenant: str, deletes: DeletePolicy | None
    ) -> WriteResult:
        return self.inner.finish(table, mode, tenant, deletes)

    def existing(self, table: TableSpec, column: str, tenant: str, values: pa.Array) -> pa.Array:
        return self.inner.existing(table, column, tenant, values)

    def lookup(
        self, table: TableSpec, tenant: str, keys: pa.Table, columns: Sequence[str]
    ) -> pa.Table:
        return self.inner.lookup(table, tenant, keys, columns)

    def save_checkpoint(
        self, integration: str, stream: str, token: Checkpoint, run_id: int
    ) -> None:
        self.inner.save_checkpoint(integration, stream, token, run_id)

    def commit(self) -> None:
        self.owner.commits += 1
        self.owner.maybe_fail("commit", self.owner.commits, self.owner.fail_on_commit)
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()
