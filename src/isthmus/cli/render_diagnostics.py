"""How `isthmus validate` shows diagnostics on a terminal: grouped by file, each with its
source line and a caret under the column, its hint, then one line of counts.

The caret is placed by terminal cells, not characters: tabs in the source line are expanded
before it is shown, and a wide character (CJK, most emoji) takes two cells. A source line is
never echoed when it may hold a credential: when it writes a value under a key named like one
(whatever the diagnostic says about it), or when ``credential-not-a-secret`` points at it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from isthmus.config.models import SECRET_REFERENCE
from isthmus.diagnostics import Diagnostic, Tally, relative_file
from isthmus.validation.credentials import CODE as CREDENTIAL_CODE
from isthmus.validation.credentials import is_credential_key

TAB_SIZE = 8
# Diagnostics whose line holds a value that may be a secret pasted by mistake.
SECRET_BEARING_CODES = frozenset({CREDENTIAL_CODE})
# How connection.secrets binds a secret: a name of where the value is, never the value.
BINDINGS = ("env:", "file:")
NO_LOCATION = "(no location)"
STYLES = {"error": "red", "warning": "yellow", "info": "blue"}
# A key and the value after it on one line, in block (`key: value`) or flow (`{key: value}`)
# style; the value ends where a flow collection's next item would begin (a ${...} reference
# does not end it).
_KEY_VALUE = re.compile(r"""([A-Za-z0-9_-]+)["']?[ \t]*:(?=\s|$)\s*((?:\$\{[^}]*\}|[^,}\]])*)""")
# The YAML loader counts these as line breaks, so the source line is cut where it does.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def report_lines(
    found: Sequence[Diagnostic], root: Path, *, strict: bool, valid_summary: str
) -> list[Text]:
    """Every line of the report; ``valid_summary`` closes a report that does not fail."""
    sources = SourceLines()
    lines: list[Text] = []
    for header, group in group_by_file(found, root):
        lines.append(Text(header, style="bold"))
        for each in group:
            lines += diagnostic_lines(each, sources)
        lines.append(Text(""))
    lines.append(summary(Tally.of(found), strict=strict, valid_summary=valid_summary))
    return lines


def print_report(
    console: Console,
    found: Sequence[Diagnostic],
    root: Path,
    *,
    strict: bool,
    valid_summary: str,
) -> None:
    for line in report_lines(found, root, strict=strict, valid_summary=valid_summary):
        console.print(line)


def group_by_file(found: Sequence[Diagnostic], root: Path) -> list[tuple[str, list[Diagnostic]]]:
    """(header, diagnostics) per file in the order files first appear; diagnostics without a
    location come first, in a group of their own."""
    groups: dict[str, list[Diagnostic]] = {}
    unlocated = [d for d in found if d.location is None]
    if unlocated:
        groups[NO_LOCATION] = unlocated
    for each in found:
        if each.location is not None:
            header = relative_file(each.location.file, root).as_posix()
            groups.setdefault(header, []).append(each)
    return list(groups.items())


def diagnostic_lines(found: Diagnostic, sources: SourceLines) -> list[Text]:
    """``line:col severity [code] message``, the source line with a caret, the hint."""
    style = STYLES[str(found.severity)]
    where = f"{found.location.line}:{found.location.column} " if found.location else ""
    lines = [
        Text.assemble(
            "  " + where,
            (f"{found.severity} ", f"bold {style}"),
            (f"[{found.code}] ", style),
            found.message,
        )
    ]
    if found.location is not None:
        source = sources.line(found.location.file, found.location.line)
        if source is not None:
            gutter = f"  {found.location.line:>5} | "
            if found.code in SECRET_BEARING_CODES or holds_credential(source):
                lines.append(Text(gutter + "(line not shown: it may hold a credential)", "dim"))
            else:
                shown, offset = caret_position(source, found.location.column)
                lines.append(Text(gutter + shown, style="dim"))
                lines.append(Text(" " * (len(gutter) + offset) + "^", style=style))
    if found.hint:
        lines.append(Text(f"    hint: {found.hint}", style="cyan"))
    return lines


def holds_credential(line: str) -> bool:
    """Whether ``line`` writes something other than a secret reference under a key named like
    a credential: the value may be a secret pasted by mistake, whatever the diagnostic is."""
    for match in _KEY_VALUE.finditer(line):
        key, value = match.group(1), match.group(2).strip().strip("'\"")
        if is_credential_key(key) and value and not _is_reference(value):
            return True
    return False


def _is_reference(value: str) -> bool:
    """A ``${secret:NAME}`` reference, or a binding's ``env:VARIABLE`` / ``file:PATH``."""
    return SECRET_REFERENCE.fullmatch(value) is not None or value.startswith(BINDINGS)


def caret_position(source: str, column: int) -> tuple[str, int]:
    """The source line as shown (tabs expanded) and how many terminal cells precede the
    character at 1-based ``column``."""
    shown = source.expandtabs(TAB_SIZE)
    before = source[: max(column - 1, 0)].expandtabs(TAB_SIZE)
    return shown, cell_len(before)


def summary(tally: Tally, *, strict: bool, valid_summary: str) -> Text:
    if tally.fails(strict=strict):
        why = " (--strict: warnings fail too)" if strict and not tally.errors else ""
        return Text(f"{tally}: the project does not validate{why}", style="bold red")
    counted = f"; {tally}" if tally.errors + tally.warnings + tally.notes else ""
    return Text(f"valid: {valid_summary}{counted}", style="bold green")


class SourceLines:
    """Lines of project files, each file read once; None where a file cannot be read."""

    def __init__(self) -> None:
        self._files: dict[Path, list[str] | None] = {}

    def line(self, file: Path, number: int) -> str | None:
        if file not in self._files:
            self._files[file] = _read_lines(file)
        lines = self._files[file]
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]


def _read_lines(file: Path) -> list[str] | None:
    try:
        return _LINE_BREAKS.split(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return None
