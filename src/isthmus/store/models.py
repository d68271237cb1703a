"""The state store's tables and the records read from them.

The tables are created by the Alembic migrations in ``migrations/``; these definitions are
what queries use, and a test checks that the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("integration", String(63), nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("template", String(63), nullable=False),
    Column("template_version", String(40), nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("committed", Boolean, nullable=False, default=False),
    Column("owner", String(255), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("duration_s", Float),
    Column("error", Text),
    Column("error_class", String(16)),
    Column("hint", Text),
    Column("note", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=false()),
    Column("heartbeat_at", DateTime(timezone=True)),
    Index("ix_runs_integration_started", "integration", "started_at"),
)

stream_runs = Table(
    "stream_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("mapping", String(63), nullable=False),
    Column("stream", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("status", String(16), nullable=False),
    Column("records_read", Integer, nullable=False, default=0),
    Column("loaded", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("duration_s", Float),
    Column("error", Text),
    Column("deleted", Integer, nullable=False, server_default="0"),
    Column("drift", Text),
    Index("ix_stream_runs_run", "run_id"),
)

run_attempts = Table(
    "run_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("scope", String(63), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("error", Text),
    Column("error_class", String(16)),
    Column("wait_s", Float),
    Index("ix_run_attempts_run", "run_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("integration", String(63), nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("mapping", String(63), nullable=False),
    Column("stream", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("origin", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("record_id", Text),
    Column("rule", String(63), nullable=False),
    Column("field", String(255)),
    Column("value", Text),
    Column("message", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("resolved_run_id", Integer),
    Index("ix_quarantine_run_rule", "run_id", "rule", "field"),
    Index("ix_quarantine_integration", "integration", "created_at"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("integration", String(63), primary_key=True),
    Column("mapping", String(63), primary_key=True),
    Column("token", Text, nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("integration", String(63), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("owner", String(255), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


schedules = Table(
    "schedules",
    metadata,
    Column("integration", String(63), primary_key=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("paused_reason", Text),
    Column("paused_at", DateTime(timezone=True)),
    Column("next_run_at", DateTime(timezone=True)),
    Column("last_run_id", Integer),
    Column("consecutive_failures", Integer, nullable=False, default=0),
)

# Inbound webhook deliveries, kept until a run reads them (and for replays after it). The
# sequence id orders the events of a stream; a sender's duplicate delivery (same event id)
# is stored once.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("integration", String(63), nullable=False),
    Column("stream", String(63), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("body_bytes", Integer, nullable=False),
    Index("ux_webhook_events_event", "integration", "stream", "event_id", unique=True),
    Index("ix_webhook_events_stream", "integration", "stream", "id"),
    Index("ix_webhook_events_received", "received_at"),
    sqlite_autoincrement=True,  # never reuse a purged id: checkpoints are sequence ids
)


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"


class StreamStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StreamRecord:
    """Counts of one stream of a run; ``records_read = loaded + rejected + skipped``."""

    position: int
    mapping: str
    stream: str
    entity: str
    status: StreamStatus
    records_read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: int = 0
    duration_s: float | None = None
    error: str | None = None
    deleted: int = 0
    drift: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One try of a run's unit of commit; transient failures are retried in new attempts."""

    attempt: int
    scope: str
    started_at: dt.datetime
    finished_at: dt.datetime
    error: str | None
    error_class: str | None
    wait_s: float | None


@dataclass(frozen=True)
class RunRecord:
    id: int
    integration: str
    tenant: str
    template: str
    template_version: str
    config_hash: str
    trigger: str
    status: RunStatus
    committed: bool
    owner: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    duration_s: float | None
    error: str | None
    error_class: str | None
    hint: str | None
    streams: tuple[StreamRecord, ...] = field(default=())
    note: str | None = None
    cancel_requested: bool = False
    attempts: tuple[AttemptRecord, ...] = field(default=())

    def total(self, name: str) -> int:
        """A count summed over the run's streams, e.g. ``total("rejected")``."""
        return sum(int(getattr(s, name)) for s in self.streams)


@dataclass(frozen=True)
class QuarantineEntry:
    """One rejected record, as the state store keeps it (unmasked; mask before showing)."""

    run_id: int
    integration: str
    tenant: str
    mapping: str
    stream: str
    entity: str
    origin: str
    position: int
    record_id: str | None
    rule: str
    field: str | None
    value: str | None
    message: str
    record: str
    created_at: dt.datetime
    id: int | None = None
    status: str = "open"
    resolved_run_id: int | None = None


class QuarantineStatus(StrEnum):
    OPEN = "open"  # still to be fixed
    RESOLVED = "resolved"  # loaded by a later replay
    SUPERSEDED = "superseded"  # replayed and rejected again: the replay's entry is open


@dataclass(frozen=True)
class ScheduleState:
    integration: str
    paused: bool
    paused_reason: str | None
    paused_at: dt.datetime | None
    next_run_at: dt.datetime | None
    last_run_id: int | None
    consecutive_failures: int


@dataclass(frozen=True)
class WebhookEvent:
    """One stored webhook delivery: ``seq`` orders a stream's events, ``event_id`` is the
    sender's id, ``body`` the JSON text as received."""

    seq: int
    tenant: str
    integration: str
    stream: str
    event_id: str
    received_at: dt.datetime
    body: str
    body_bytes: int


@dataclass(frozen=True)
class EventReceipt:
    """What storing a delivery did: the event's sequence id, and whether the same event id
    was already stored (then nothing was written)."""

    seq: int
    duplicate: bool


@dataclass(frozen=True)
class ReasonGroup:
    """Rejections of one run sharing a rule and a field, with a few examples."""

    rule: str
    field: str | None
    count: int
    examples: tuple[QuarantineEntry, ...]
