"""Errors of the state store."""

from __future__ import annotations

from isthmus.errors import LeaseHeldError, StoreError, TerminalError

__all__ = ["LeaseHeldError", "StoreError", "StoreUnavailableError"]


class StoreUnavailableError(StoreError, TerminalError):
    """The state store's database cannot be opened or migrated."""
