"""Errors of the REST source. Messages name the stream, the URL (credentials masked) and the
page; they never carry a secret's value."""

from __future__ import annotations

from isthmus.errors import ErrorClass, SourceError, TerminalError, TransientError


class RestAuthError(SourceError, TerminalError):
    """The API or its token endpoint refused the credentials (401, 403, or 400 from a token
    endpoint): retrying cannot help until a secret is changed."""

    error_class = ErrorClass.AUTH


class RestRequestError(SourceError, TerminalError):
    """The API refused the request itself (404 or another 4xx): the configuration is wrong."""

    error_class = ErrorClass.CONFIG


class RestResponseError(SourceError, TerminalError):
    """A page is not JSON, or holds no list of records where the stream expects one."""


class RestSecretError(SourceError, TerminalError):
    """The source options use a secret that the run was not given."""

    error_class = ErrorClass.CONFIG


class RestUnavailableError(SourceError, TransientError):
    """The API stayed unavailable (429, 5xx, timeouts, connection errors) through every retry
    the connector made; the engine may retry the run, waiting ``retry_after`` if known."""

    error_class = ErrorClass.TRANSIENT

    def __init__(
        self, message: str, *, hint: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
