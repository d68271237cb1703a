"""How results look on a terminal (Rich) and as JSON: what every command shares — the
consoles, JSON, errors and diagnostics, tables, status styles. Each command group's own
presentation lives beside it: ``render_runs``, ``render_quarantine``, ``render_schedule``,
``render_project``."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from isthmus.errors import IsthmusError, ValidationFailedError

if TYPE_CHECKING:
    import datetime as dt

    from isthmus.diagnostics import Diagnostic


def _console(*, stderr: bool) -> Console:
    # Piped output (a log, a file, a test) has no terminal width; Rich would assume 80
    # columns and truncate tables, so give it room unless COLUMNS says otherwise.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 140
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


out = _console(stderr=False)
err = _console(stderr=True)

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "running": "yellow",
    "cancelled": "yellow",
    "abandoned": "red",
    "timed_out": "red",
}

NUMERIC_COLUMNS = {
    "run",
    "read",
    "loaded",
    "inserted",
    "updated",
    "deleted",
    "rejected",
    "skipped",
    "duration",
    "count",
    "id",
    "level",
    "order",
}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def error(exc: IsthmusError) -> None:
    err.print(Text(f"error: {exc.message}", style="bold red"))
    if exc.hint:  # before the diagnostics, which it refers to as "below"
        err.print(Text(f"hint: {exc.hint}", style="cyan"))
    if isinstance(exc, ValidationFailedError):
        for found in exc.diagnostics:
            diagnostic(found, err)


def internal_error(exc: Exception) -> None:
    err.print(Text(f"internal error: {type(exc).__name__}: {exc}", style="bold red"))
    err.print(
        Text(
            "hint: this is a bug in isthmus; set ISTHMUS_DEBUG=1 to see where it "
            "happened, and report it with that output",
            style="cyan",
        )
    )


def diagnostic(found: Diagnostic, console: Console) -> None:
    """One diagnostic on one line (place, severity, code, message), then its hint. The full
    report of `isthmus validate`, with source lines, is render_diagnostics'."""
    style = {"error": "red", "warning": "yellow", "info": "blue"}[str(found.severity)]
    where = f"{found.location}: " if found.location else ""
    console.print(
        Text.assemble(
            where,
            (f"{found.severity} ", f"bold {style}"),
            (f"[{found.code}] ", style),
            found.message,
        )
    )
    if found.hint:
        console.print(Text(f"  hint: {found.hint}", style="cyan"))


def reason_line(count: int, rule: str, field: str | None, message: str, indent: str = "") -> Text:
    """One group of rejected records: how many, the rule, the field and what is wrong."""
    return Text.assemble(
        f"{indent}{count:>7,}  ", (rule, "bold"), "  ", field or "-", "  ", (message, "dim")
    )


def table(*columns: str) -> Table:
    """A borderless table whose cells never wrap: a narrow terminal truncates, it never garbles
    a row over several lines."""
    shown = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 1))
    for name in columns:
        numeric = name in NUMERIC_COLUMNS
        shown.add_column(
            name,
            justify="right" if numeric else "left",
            no_wrap=True,
            min_width=len(name),
            overflow="ellipsis" if not numeric else "fold",
        )
    return shown


def status(value: str) -> Text:
    return Text(value, style=STATUS_STYLE.get(value, ""))


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def utc(moment: dt.datetime | None) -> str:
    """A moment as the tables show it: ``2026-01-01 10:00:00 UTC``; ``-`` for none."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"
