"""Errors of the state store."""

from __future__ import annotations

from isthmus.errors import LeaseHeldError, StoreError, TerminalError, TransientError

__all__ = [
    "EventNotStoredError",
    "LeaseHeldError",
    "LeaseLostError",
    "StoreError",
    "StoreUnavailableError",
]


class StoreUnavailableError(StoreError, TerminalError):
    """The state store's database cannot be opened or migrated."""


class LeaseLostError(StoreError, TerminalError):
    """A run's lease expired and another run took it: the first run must not commit."""


class EventNotStoredError(StoreError, TransientError):
    """An inbound event could not be written (the database is busy or unreachable); the
    sender should deliver it again."""
