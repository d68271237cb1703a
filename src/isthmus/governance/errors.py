"""Errors of the governance layer.

IsthmusError
└── GovernanceError            raised by the governance layer
    └── CatalogOutputError     the documentation catalog cannot be written (also Terminal)
"""

from __future__ import annotations

from pathlib import Path

from isthmus.errors import ErrorClass, IsthmusError, TerminalError

__all__ = ["CatalogOutputError", "GovernanceError"]


class GovernanceError(IsthmusError):
    """Root of the errors the governance layer raises."""


class CatalogOutputError(GovernanceError, TerminalError):
    """The catalog's output folder cannot be created or written; ``folder`` names it."""

    error_class = ErrorClass.CONFIG

    def __init__(self, message: str, *, folder: Path, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.folder = folder
