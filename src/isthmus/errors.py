"""The exception tree of isthmus.

Every error isthmus raises on purpose derives from :class:`IsthmusError`; the command line
prints its message (never a traceback) and exits 1. Two mixins tell the engine what to do
with an error: retry a :class:`TransientError`, fail at once on a :class:`TerminalError`.
Retry decides by type, never by parsing a message.

    IsthmusError
    ├── ProjectError               the project cannot be loaded (missing file, bad YAML)
    ├── ValidationFailedError           static checks found errors; carries the diagnostics
    ├── NotFoundError              an integration, template or run that does not exist
    ├── SecretError                a secret reference that cannot be resolved
    ├── ConnectorError             raised by a source or destination
    │   ├── SourceError
    │   └── DestinationError
    ├── DataError                  the data itself ends the run (too many rejected rows)
    ├── StoreError                 the state store cannot be read or written
    │   └── LeaseHeldError         another run holds the integration's lease
    └── RunFailedError                  a run ended in failure; carries the run id

    TransientError (mixin)         worth retrying: timeouts, resets, 429, 5xx, deadlocks
    TerminalError (mixin)          retrying cannot help: credentials, schema, configuration
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isthmus.diagnostics import Diagnostic


class ErrorClass(StrEnum):
    """What kind of failure ended a run; decides whether a retry can help."""

    TRANSIENT = "transient"
    AUTH = "auth"
    CONFIG = "config"
    DATA = "data"
    DESTINATION = "destination"
    INTERNAL = "internal"


class IsthmusError(Exception):
    """Root of every error isthmus raises on purpose.

    ``hint`` says what to do about it; the CLI prints it below the message.
    """

    error_class: ErrorClass = ErrorClass.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\nhint: {self.hint}"


class TransientError(IsthmusError):
    """Mixin: the same operation may succeed if tried again.

    ``retry_after`` is how long the far side asked us to wait (an HTTP Retry-After), if it
    said; the engine waits at least that long before the next try.
    """

    error_class = ErrorClass.TRANSIENT
    retry_after: float | None = None


class TerminalError(IsthmusError):
    """Mixin: trying again cannot help until something is changed."""


class ProjectError(TerminalError):
    """The project folder or one of its files cannot be loaded at all."""

    error_class = ErrorClass.CONFIG


class ValidationFailedError(TerminalError):
    """Static validation found at least one error."""

    error_class = ErrorClass.CONFIG

    def __init__(self, message: str, diagnostics: list[Diagnostic], *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics


class NotFoundError(TerminalError):
    """Something named on the command line or in configuration does not exist."""

    error_class = ErrorClass.CONFIG


class SecretError(TerminalError):
    """A secret reference cannot be resolved. The message names the reference, never a value."""

    error_class = ErrorClass.CONFIG


class ConnectorError(IsthmusError):
    """Raised by a connector; subclasses say which side failed."""


class SourceError(ConnectorError):
    """Reading from the external system failed."""

    error_class = ErrorClass.DATA


class DestinationError(ConnectorError):
    """Writing to the destination failed."""

    error_class = ErrorClass.DESTINATION


class DataError(IsthmusError):
    """The records themselves make the run fail, e.g. the rejection threshold is passed."""

    error_class = ErrorClass.DATA


class StoreError(IsthmusError):
    """The state store cannot be read or written."""


class LeaseHeldError(StoreError, TerminalError):
    """Another run holds the integration's lease; this run must not start."""

    error_class = ErrorClass.CONFIG

    def __init__(self, message: str, *, holder_run_id: int | None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.holder_run_id = holder_run_id


class RunFailedError(IsthmusError):
    """A run ended in failure. The run record holds the details."""

    def __init__(
        self,
        message: str,
        *,
        run_id: int,
        error_class: ErrorClass,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.error_class = error_class
