"""Diagnostics: what static checks report instead of raising.

Loading, mapping type checks and validation all return ``list[Diagnostic]`` so a user sees
every problem of a project in one pass. A diagnostic names where (``file:line:col``), a
stable ``code`` (documented in the README's table), what is wrong and how to fix it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
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

    def to_dict(self, root: Path | None = None) -> dict[str, object]:
        """The diagnostic as JSON reports show it; with ``root``, the file is relative to it."""
        file = None
        if self.location is not None:
            file = str(
                self.location.file if root is None else relative_file(self.location.file, root)
            )
        return {
            "code": self.code,
            "severity": str(self.severity),
            "file": file,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
            "message": self.message,
            "hint": self.hint,
        }


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def relative_file(file: Path, root: Path) -> Path:
    """``file`` as a path inside the project at ``root``, as its files name each other;
    unchanged when it lies outside the project."""
    for inside, base in ((file, root), (file.resolve(), root.resolve())):
        try:
            return inside.relative_to(base)
        except ValueError:
            continue
    return file


@dataclass(frozen=True, slots=True)
class Tally:
    """How many diagnostics of each severity a report holds, and in how many files."""

    errors: int
    warnings: int
    notes: int
    files: int

    @classmethod
    def of(cls, diagnostics: Sequence[Diagnostic]) -> Tally:
        severities = Counter(d.severity for d in diagnostics)
        return cls(
            errors=severities[Severity.ERROR],
            warnings=severities[Severity.WARNING],
            notes=severities[Severity.INFO],
            files=len({d.location.file for d in diagnostics if d.location is not None}),
        )

    def fails(self, *, strict: bool) -> bool:
        """Whether the report fails: any error, or with ``strict`` any warning too."""
        return self.errors > 0 or (strict and self.warnings > 0)

    def to_dict(self) -> dict[str, int]:
        return {
            "errors": self.errors,
            "warnings": self.warnings,
            "notes": self.notes,
            "files": self.files,
        }

    def __str__(self) -> str:
        """``2 errors, 1 warning, 0 notes in 2 files``."""
        counted = ", ".join(
            _counted(n, word)
            for n, word in (
                (self.errors, "error"),
                (self.warnings, "warning"),
                (self.notes, "note"),
            )
        )
        return f"{counted} in {_counted(self.files, 'file')}"


def _counted(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"
