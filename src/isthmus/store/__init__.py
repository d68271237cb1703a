"""The state store (SQLAlchemy 2 + Alembic): runs, quarantine, checkpoints, leases, schedules,
webhook events, write-back deliveries."""

from isthmus.store.deliveries import DeliveryRecord
from isthmus.store.models import (
    AttemptRecord,
    EventReceipt,
    QuarantineEntry,
    QuarantineStatus,
    ReasonGroup,
    RunRecord,
    RunStatus,
    ScheduleState,
    StreamRecord,
    StreamStatus,
    WebhookEvent,
)
from isthmus.store.quarantine import QuarantineFilter
from isthmus.store.store import StateStore

__all__ = [
    "AttemptRecord",
    "DeliveryRecord",
    "EventReceipt",
    "QuarantineEntry",
    "QuarantineFilter",
    "QuarantineStatus",
    "ReasonGroup",
    "RunRecord",
    "RunStatus",
    "ScheduleState",
    "StateStore",
    "StreamRecord",
    "StreamStatus",
    "WebhookEvent",
]
