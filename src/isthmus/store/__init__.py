"""The state store (SQLAlchemy 2 + Alembic): runs, quarantine, checkpoints, leases, schedules."""

from isthmus.store.models import (
    AttemptRecord,
    QuarantineEntry,
    QuarantineStatus,
    ReasonGroup,
    RunRecord,
    RunStatus,
    ScheduleState,
    StreamRecord,
    StreamStatus,
)
from isthmus.store.quarantine import QuarantineFilter
from isthmus.store.store import StateStore

__all__ = [
    "AttemptRecord",
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
]
