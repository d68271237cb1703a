"""The run's book of streams: each stream's status and counts, safe to update from threads."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from isthmus.errors import IsthmusError
from isthmus.execution.errors import ThresholdExceededError
from isthmus.execution.models import StreamCounts
from isthmus.store import StreamRecord, StreamStatus
from isthmus.validation.models import CompiledMapping
from isthmus.validation.writeback import CompiledWriteBack


class StreamBook:
    """Mappings, then write-back targets, each recorded as a stream of the run."""

    def __init__(
        self, mappings: list[CompiledMapping], writebacks: Sequence[CompiledWriteBack] = ()
    ) -> None:
        self._lock = threading.Lock()
        entries = [(m.name, m.stream_name, m.entity.entity) for m in mappings]
        entries += [(w.name, w.stream_name, w.entity.entity) for w in writebacks]
        self._streams = {name: (stream, entity) for name, stream, entity in entries}
        self._position = {name: i for i, (name, _, _) in enumerate(entries)}
        self._records = {name: self._record(name, StreamStatus.PENDING) for name, _, _ in entries}
        self._counts: dict[str, StreamCounts] = {}
        self._committed: list[str] = []
        self._units = 0

    def _record(
        self,
        name: str,
        status: StreamStatus,
        counts: StreamCounts | None = None,
        *,
        duration: float | None = None,
        error: str | None = None,
    ) -> StreamRecord:
        stream, entity = self._streams[name]
        counts = counts or StreamCounts()
        return StreamRecord(
            position=self._position[name],
            mapping=name,
            stream=stream,
            entity=entity,
            status=status,
            records_read=counts.records_read,
            loaded=counts.loaded,
            inserted=counts.inserted,
            updated=counts.updated,
            rejected=counts.rejected,
            skipped=counts.skipped,
            duration_s=duration,
            error=error,
            deleted=counts.deleted,
            drift=counts.drift,
        )

    def start(self, name: str) -> None:
        with self._lock:  # a retried unit starts its streams again from nothing
            self._records[name] = self._record(name, StreamStatus.PENDING)
            self._counts.pop(name, None)

    def succeed(self, name: str, counts: StreamCounts, duration: float) -> StreamRecord:
        with self._lock:
            self._counts[name] = counts
            self._records[name] = self._record(
                name, StreamStatus.SUCCEEDED, counts, duration=duration
            )
            return self._records[name]

    def fail(self, name: str, error: str, duration: float) -> None:
        with self._lock:
            counts = self._counts.get(name)
            self._records[name] = self._record(
                name, StreamStatus.FAILED, counts, duration=duration, error=error
            )

    def mark(self, name: str, status: StreamStatus, reason: str | None) -> None:
        """Record an outcome for a stream that has none yet (it never ran)."""
        with self._lock:
            if self._records[name].status is StreamStatus.PENDING:
                self._records[name] = self._record(name, status, error=reason)

    def check_threshold(self, name: str, limit: float, run_id: int) -> None:
        counts = self._counts[name]
        if counts.records_read == 0 or counts.rejected / counts.records_read <= limit:
            return
        stream, _ = self._streams[name]
        top = sorted(counts.reasons.items(), key=lambda item: -item[1])[:5]
        grouped = "; ".join(f"{rule}{'/' + f if f else ''}: {n}" for (rule, f), n in top)
        message = (
            f"stream {stream} (mapping {name}) rejected {counts.rejected} "
            f"of {counts.records_read} records "
            f"({counts.rejected / counts.records_read:.1%}), more than the {limit:.1%} "
            f"the template allows; reasons: {grouped}"
        )
        with self._lock:
            previous = self._records[name]
            self._records[name] = self._record(
                name, StreamStatus.FAILED, counts, duration=previous.duration_s, error=message
            )
        raise ThresholdExceededError(
            message,
            hint=(
                f"run `isthmus runs show {run_id}` for examples; fix the source data or the "
                "mapping, then run again"
            ),
        )

    def committed(self, names: list[str] | None) -> None:
        with self._lock:
            self._units += 1
            self._committed.extend(names or [])

    def records(self) -> tuple[StreamRecord, ...]:
        with self._lock:
            return tuple(sorted(self._records.values(), key=lambda r: r.position))

    def notes(self) -> list[str]:
        with self._lock:
            notes = [n for counts in self._counts.values() for n in counts.notes]
            total = len(self._records)
            succeeded = [r for r in self._records.values() if r.status is StreamStatus.SUCCEEDED]
            if self._units and len(succeeded) < total:
                notes.append(f"{len(succeeded)} of {total} streams committed")
            return notes


def error_message(error: BaseException) -> str:
    if isinstance(error, IsthmusError):
        return error.message
    return f"internal error: {type(error).__name__}: {error}"


def error_class(error: BaseException) -> str:
    if isinstance(error, IsthmusError):
        return str(error.error_class)
    return "internal"
