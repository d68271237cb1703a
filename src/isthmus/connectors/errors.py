"""Errors raised by connectors."""

from __future__ import annotations

from isthmus.errors import (
    DestinationError,
    ErrorClass,
    SourceError,
    TerminalError,
    TransientError,
)

__all__ = [
    "DestinationError",
    "DestinationUnavailableError",
    "EventLogMissingError",
    "SchemaMismatchError",
    "SourceError",
    "SourceFileError",
    "UnsafePathError",
]


class SourceFileError(SourceError, TerminalError):
    """A source file is missing, unreadable or has the wrong shape."""


class UnsafePathError(SourceError, TerminalError):
    """A configured path escapes the folder it must stay in."""


class EventLogMissingError(SourceError, TerminalError):
    """A source of inbound events was built without the log that holds them."""


class SchemaMismatchError(DestinationError, TerminalError):
    """A live table does not match the core model."""


class DestinationUnavailableError(DestinationError, TransientError):
    """The destination refused or dropped the connection; worth retrying."""

    error_class = ErrorClass.TRANSIENT
