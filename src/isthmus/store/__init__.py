"""The state store (SQLAlchemy 2 + Alembic): runs, quarantine, checkpoints and leases."""

from isthmus.store.models import (
    QuarantineEntry,
    ReasonGroup,
    RunRecord,
    RunStatus,
    StreamRecord,
    StreamStatus,
)
from isthmus.store.store import StateStore

__all__ = [
    "QuarantineEntry",
    "ReasonGroup",
    "RunRecord",
    "RunStatus",
    "StateStore",
    "StreamRecord",
    "StreamStatus",
]
