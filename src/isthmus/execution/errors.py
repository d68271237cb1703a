"""Errors of the execution layer."""

from __future__ import annotations

from isthmus.errors import DataError, ErrorClass, IsthmusError, RunFailedError, TerminalError

__all__ = [
    "DataError",
    "RunCancelledError",
    "RunFailedError",
    "RunTimedOutError",
    "SchemaDriftError",
    "ThresholdExceededError",
]


class ThresholdExceededError(DataError, TerminalError):
    """A stream rejected more than the template allows; its scope is rolled back."""


class SchemaDriftError(DataError, TerminalError):
    """The source's fields differ from the stream's declared schema and the policy is fail."""


class RunCancelledError(TerminalError):
    """Someone asked the run to stop; it rolls back at the next batch boundary."""

    error_class = ErrorClass.CONFIG


class RunTimedOutError(TerminalError):
    """The run took longer than its template's timeout; it rolls back."""

    error_class = ErrorClass.CONFIG


class StreamSkippedError(IsthmusError):
    """Not raised to users: marks a stream that did not run because another one failed."""
