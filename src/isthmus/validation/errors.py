"""Errors of the validation layer."""

from __future__ import annotations

from isthmus.errors import ValidationFailedError

__all__ = ["ValidationFailedError"]
