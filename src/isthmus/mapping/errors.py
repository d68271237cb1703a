"""Exceptions of the mapping language.

Problems in an expression are reported as diagnostics, never raised to the caller. The
exceptions here travel inside the package: the parser and the functions' signature checks
raise them, and they are turned into diagnostics at the offending node.

    IsthmusError
    └── MappingError
        ├── ExpressionSyntaxError  the parser met a construct outside the language
        └── ArgumentError      a call's arguments break its function's rules
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isthmus.errors import ErrorClass, TerminalError

if TYPE_CHECKING:
    from isthmus.mapping.models import Keyword, Node


class MappingError(TerminalError):
    """Something is wrong with a mapping expression."""

    error_class = ErrorClass.CONFIG


class ExpressionSyntaxError(MappingError):
    """A construct outside the language, at character offset ``col`` of the expression."""

    def __init__(self, message: str, col: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.col = col


class ArgumentError(MappingError):
    """A call's argument breaks its function's rules; ``code`` is the diagnostic code to use."""

    def __init__(
        self, code: str, message: str, node: Node | Keyword, *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.node = node
