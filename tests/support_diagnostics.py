"""The contract of the diagnostic-code matrix: one broken configuration per code.

Each module under ``tests/unit/validation/diagnostic_cases/`` lists ``CASES``. A case breaks a
copy of the demo project (without its guardrail policy, so it validates clean) and names the
one diagnostic ``isthmus validate`` must then report: its code, severity and the place, given
as the text it points at in the changed file, so the expected line and column cannot drift.

Notes (``Severity.INFO``) are compared only by a case that expects one. A code that cannot
occur alone (``broken-dependency`` follows from the error of the file that did not load) names
the diagnostics that come with it in ``also``. An empty needle is the start of the file, for a
file the test cannot read as text.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from isthmus.diagnostics import Severity


@dataclass(frozen=True)
class Also:
    """Another diagnostic a case cannot do without, located like the case's own."""

    code: str
    file: str
    needle: str
    offset: int = 0
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Case:
    code: str
    change: Callable[[Path], None]  # breaks the project at this root, in place
    file: str  # project-relative file the diagnostic must point into
    needle: str  # unique text in the changed file the diagnostic points at...
    offset: int = 0  # ...this many characters into it
    severity: Severity = Severity.ERROR
    name: str = ""  # tells apart several cases of one code
    also: tuple[Also, ...] = ()  # diagnostics that necessarily come with this one

    @property
    def id(self) -> str:
        return f"{self.code}-{self.name}" if self.name else self.code

    def expected(self, root: Path) -> list[tuple[str, Severity, str, int, int]]:
        """(code, severity, file, line, column) of every diagnostic the broken project at
        ``root`` must report, sorted."""
        wanted = [self, *self.also]
        return sorted(
            (w.code, w.severity, w.file, *located(root / w.file, w.needle, w.offset))
            for w in wanted
        )

    @property
    def compares_notes(self) -> bool:
        return any(w.severity is Severity.INFO for w in (self, *self.also))


def load_cases(folder: Path) -> list[Case]:
    """The ``CASES`` of every module in ``folder`` (modules named ``_*`` excluded)."""
    cases: list[Case] = []
    for module_file in sorted(folder.glob("*.py")):
        if module_file.stem.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(
            f"diagnostic_cases_{module_file.stem}", module_file
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases.extend(module.CASES)
    return cases


def replace_in(root: Path, relative: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a project file; fail loudly if not exactly one."""
    path = root / relative
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    assert count == 1, f"{relative}: expected one {old!r}, found {count}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append_to(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def write_file(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def located(path: Path, needle: str, offset: int = 0) -> tuple[int, int]:
    """Where ``needle`` (plus ``offset``) is in the file at ``path``; an empty needle is the
    start of the file, which is then not read."""
    if not needle:
        return 1, 1 + offset
    return position_of(path.read_text(encoding="utf-8"), needle, offset)


def position_of(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """The 1-based line and column of ``needle`` (which must occur once) plus ``offset``."""
    count = text.count(needle)
    assert count == 1, f"expected one {needle!r} in the changed file, found {count}"
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
