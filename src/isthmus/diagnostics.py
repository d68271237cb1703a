"""Diagnostics: what static checks report instead of raising.

Loading, mapping type checks and validation all return ``list[Diagnostic]`` so a user sees
every problem of a project in one pass. A diagnostic names where (``file:line:col``), a
stable ``code`` (documented in the README's table), what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# A problem that follows from another file not loading: reported where the dependency is
# named, but left out of a project's diagnostics, whose root cause is already reported.
BROKEN_DEPENDENCY = "broken-dependency"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a project file; line and column are 1-based, as editors show them."""

    file: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, columns: int) -> Location:
        """The same line, ``columns`` further right (a position inside a YAML value)."""
        return Location(self.file, self.line, self.column + columns)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    location: Location | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity} [{self.code}] {self.message}"
        return text if self.hint is None else f"{text}\n  hint: {self.hint}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "file": str(self.location.file) if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
            "message": self.message,
            "hint": self.hint,
        }


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
