"""Errors of the execution layer."""

from __future__ import annotations

from isthmus.errors import DataError, RunFailedError, TerminalError

__all__ = ["DataError", "RunFailedError", "ThresholdExceededError"]


class ThresholdExceededError(DataError, TerminalError):
    """A stream rejected more than the template allows; the run is rolled back."""
