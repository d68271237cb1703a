"""`isthmus exceptions`: every guardrail exception of the project, with its status and
whether it is still used; the Typer wrapper, its glue and its rendering.

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from isthmus.cli.options import ProjectOption

if TYPE_CHECKING:
    from isthmus.validation.guardrails import ExceptionRow

COLUMNS = (
    "tenant",
    "integration",
    "rule",
    "scope",
    "approved_by",
    "expires",
    "days_left",
    "status",
    "used",
    "justification",
)


class ExceptionsFormat(StrEnum):
    human = "human"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    app.command()(exceptions)


def exceptions(
    project: ProjectOption = Path("."),
    output: Annotated[
        ExceptionsFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExceptionsFormat.human,
    today: Annotated[
        str | None,
        typer.Option(help="Judge expiry as of this date (YYYY-MM-DD); default: today."),
    ] = None,
) -> None:
    """List every exception to a guardrail rule: tenant, integration, rule, approver, expiry,
    days left, status (active, expiring, expired) and whether it still matches a violation."""
    if today is None:
        day = dt.date.today()
    else:
        try:
            day = dt.date.fromisoformat(today)
        except ValueError as exc:
            raise typer.BadParameter(f"{today!r} is not a date (YYYY-MM-DD)") from exc
    raise typer.Exit(run_exceptions(project, output, day))


# --- the glue --------------------------------------------------------------------------------


def run_exceptions(root: Path, output: ExceptionsFormat, today: dt.date) -> int:
    from isthmus.cli import render
    from isthmus.config.project import load_project
    from isthmus.validation.guardrails import exception_rows

    rows = exception_rows(load_project(root), today)
    if output is ExceptionsFormat.json:
        render.print_json({"today": today.isoformat(), "exceptions": [r.to_dict() for r in rows]})
    elif output is ExceptionsFormat.csv:
        write_csv(rows)
    else:
        table(rows, today)
    return 0


# --- rendering -------------------------------------------------------------------------------


def _used(row: ExceptionRow) -> str:
    if row.used is None:
        return "unknown"  # the integration does not resolve
    return "yes" if row.used else "no"


def write_csv(rows: Sequence[ExceptionRow]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        data = row.to_dict()
        data["used"] = _used(row)
        writer.writerow(["" if data[c] is None else data[c] for c in COLUMNS])


def table(rows: Sequence[ExceptionRow], today: dt.date) -> None:
    from rich.table import Table

    from isthmus.cli.render import out

    if not rows:
        out.print("no exceptions: every integration keeps every guardrail rule")
        return
    shown = Table(title=f"exceptions as of {today.isoformat()}")
    for column in ("tenant", "integration", "rule", "approved by", "expires", "days left"):
        shown.add_column(column)
    shown.add_column("status")
    shown.add_column("used")
    style = {"active": "green", "expiring": "yellow", "expired": "red"}
    for row in rows:
        shown.add_row(
            row.tenant,
            row.integration,
            row.rule if row.scope is None else f"{row.rule} ({row.scope})",
            row.approved_by,
            row.expires.isoformat(),
            str(row.days_left),
            f"[{style[row.status]}]{row.status}[/]",
            _used(row),
        )
    out.print(shown)
