"""What the engine reports while and after it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from isthmus.store.models import AttemptRecord, ReasonGroup, RunStatus, StreamRecord


@dataclass
class StreamCounts:
    """Running totals of one stream; they reconcile: read = loaded + rejected + skipped."""

    records_read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: int = 0
    deleted: int = 0
    reasons: dict[tuple[str, str | None], int] = field(default_factory=dict)
    drift: dict[str, list[str]] | None = None
    notes: list[str] = field(default_factory=list)

    def add_reason(self, rule: str, field_name: str | None, count: int) -> None:
        key = (rule, field_name)
        self.reasons[key] = self.reasons.get(key, 0) + count


@dataclass(frozen=True)
class RunReport:
    """The outcome of one run, as recorded in the state store."""

    run_id: int
    integration: str
    tenant: str
    status: RunStatus
    committed: bool
    streams: tuple[StreamRecord, ...]
    reasons: tuple[ReasonGroup, ...]
    duration_s: float
    config_hash: str
    core_database: str
    state_database: str
    error: str | None = None
    error_class: str | None = None
    hint: str | None = None
    note: str | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    refused_by: int | None = None  # the run holding the lease, when this one was refused
    profile: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def succeeded(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    def total(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.streams)


class RunObserver(Protocol):
    """Told about progress; the CLI draws a progress bar from it."""

    def stream_started(self, mapping: str, total_bytes: int | None) -> None: ...

    def batch_done(self, mapping: str, bytes_read: int, counts: StreamCounts) -> None: ...

    def stream_finished(self, mapping: str, record: StreamRecord) -> None: ...


class SilentObserver:
    def stream_started(self, mapping: str, total_bytes: int | None) -> None:
        return None

    def batch_done(self, mapping: str, bytes_read: int, counts: StreamCounts) -> None:
        return None

    def stream_finished(self, mapping: str, record: StreamRecord) -> None:
        return None
