"""The ``isthmus`` command line: parse, call a layer, render. Nothing else lives here.

Exit codes: 0 success; 1 a user-facing failure (validation errors, a failed run, an error
with a message); 2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from isthmus import __version__
from isthmus.errors import IsthmusError

app = typer.Typer(
    name="isthmus",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Integrations between a core product and its customers' systems, configured from "
    "templates, validated before they run, and run all-or-nothing.",
)
runs_app = typer.Typer(
    help="Run history: `isthmus runs` lists runs, `isthmus runs show ID` shows one.",
    invoke_without_command=True,
)
app.add_typer(runs_app, name="runs")
quarantine_app = typer.Typer(
    help="Rejected records kept in the state store: list, export and purge them. Values and "
    "records are shown with personal data masked unless you pass --unmasked.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


class Format(StrEnum):
    human = "human"
    json = "json"


ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project", "-p", help="The project folder (default: the current folder).", file_okay=False
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class QuarantineStatusChoice(StrEnum):
    open = "open"
    resolved = "resolved"
    superseded = "superseded"
    all = "all"


class ExportFormatChoice(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _duration(value: str | None) -> str | None:
    if value is not None:
        from isthmus.config.durations import parse_duration

        try:
            parse_duration(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return value


IntegrationFilter = Annotated[
    str | None, typer.Option("--integration", "-i", help="Only this integration's records.")
]
RunFilter = Annotated[
    int | None, typer.Option("--run", help="Only the records this run rejected.", min=1)
]
RuleFilter = Annotated[
    str | None, typer.Option("--rule", help="Only records rejected by this rule, e.g. pattern.")
]
FieldFilter = Annotated[
    str | None, typer.Option("--field", help="Only records rejected on this field, e.g. email.")
]
StatusFilter = Annotated[
    QuarantineStatusChoice,
    typer.Option(
        "--status",
        help="Only records in this state: open (still to fix), resolved (loaded by a replay), "
        "superseded (rejected again by a replay), or all.",
    ),
]
OlderThanFilter = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        help="Only records quarantined longer ago than this: 30s, 15m, 2h, 30d.",
        callback=_duration,
    ),
]
UnmaskedOption = Annotated[
    bool,
    typer.Option(
        "--unmasked", help="Show personal data as stored instead of masked (prints a warning)."
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"isthmus {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """isthmus: standardized integrations, validated before they run."""


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to write the demo project (default: a new temporary folder).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Write the demo project, validate it, and run both of its integrations."""
    from isthmus.cli.commands import run_demo

    raise typer.Exit(run_demo(directory))


@app.command()
def validate(project: ProjectOption = Path("."), output: FormatOption = Format.human) -> None:
    """Check every file of the project before anything runs."""
    from isthmus.cli.commands import run_validate

    raise typer.Exit(run_validate(project, json_output=output is Format.json))


@app.command()
def run(
    integration: Annotated[str, typer.Argument(help="The integration's id.")],
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Run one integration now: validate, read, map, check, load in one transaction."""
    from isthmus.cli.commands import run_run

    raise typer.Exit(run_run(project, integration, json_output=output is Format.json))


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    project: ProjectOption = Path("."),
    integration: Annotated[
        str | None, typer.Option("--integration", "-i", help="Only this integration's runs.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many runs to list.", min=1)] = 20,
    output: FormatOption = Format.human,
) -> None:
    """List recent runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from isthmus.cli.commands import run_runs

    raise typer.Exit(run_runs(project, integration, limit, json_output=output is Format.json))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="The run's id, from `isthmus runs`.")],
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Show one run: counts per stream, status, error, and rejections with examples."""
    from isthmus.cli.commands import run_runs_show

    raise typer.Exit(run_runs_show(project, run_id, json_output=output is Format.json))


@app.command()
def docs(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write the HTML catalog into.", file_okay=False),
    ],
    project: ProjectOption = Path("."),
) -> None:
    """Write a static HTML catalog of templates, integrations and the core model."""
    from isthmus.cli.commands import run_docs

    raise typer.Exit(run_docs(project, out))


@quarantine_app.command("list")
def quarantine_list(
    project: ProjectOption = Path("."),
    integration: IntegrationFilter = None,
    run_id: RunFilter = None,
    rule: RuleFilter = None,
    field: FieldFilter = None,
    status: StatusFilter = QuarantineStatusChoice.open,
    older_than: OlderThanFilter = None,
    limit: Annotated[int, typer.Option(help="How many records to show.", min=1)] = 50,
    unmasked: UnmaskedOption = False,
    output: FormatOption = Format.human,
) -> None:
    """List quarantined records, oldest first, personal data masked."""
    from isthmus.cli.commands import QuarantineArgs, run_quarantine_list

    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, unmasked)
    raise typer.Exit(run_quarantine_list(project, args, limit, json_output=output is Format.json))


@quarantine_app.command("export")
def quarantine_export(
    project: ProjectOption = Path("."),
    integration: IntegrationFilter = None,
    run_id: RunFilter = None,
    rule: RuleFilter = None,
    field: FieldFilter = None,
    status: StatusFilter = QuarantineStatusChoice.open,
    older_than: OlderThanFilter = None,
    output: Annotated[
        ExportFormatChoice, typer.Option("--format", "-f", help="JSON Lines or CSV with a header.")
    ] = ExportFormatChoice.jsonl,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The file to write (default: standard output).", dir_okay=False
        ),
    ] = None,
    unmasked: UnmaskedOption = False,
) -> None:
    """Export quarantined records, oldest first, personal data masked: every column."""
    from isthmus.cli.commands import QuarantineArgs, run_quarantine_export

    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, unmasked)
    raise typer.Exit(run_quarantine_export(project, args, output.value, out))


@quarantine_app.command("purge")
def quarantine_purge(
    project: ProjectOption = Path("."),
    older_than: OlderThanFilter = None,
    run_id: RunFilter = None,
    integration: IntegrationFilter = None,
    rule: RuleFilter = None,
    field: FieldFilter = None,
    status: StatusFilter = QuarantineStatusChoice.all,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking again.")] = False,
    output: FormatOption = Format.human,
) -> None:
    """Delete quarantined records for good: those older than --older-than, or a --run's."""
    if older_than is None and run_id is None:
        raise typer.BadParameter(
            "a purge needs an age or a run; pass --older-than 30d, --run RUN_ID, or both",
            param_hint="'--older-than' / '--run'",
        )
    from isthmus.cli.commands import QuarantineArgs, run_quarantine_purge

    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, False)
    raise typer.Exit(
        run_quarantine_purge(
            project, args, dry_run=dry_run, yes=yes, json_output=output is Format.json
        )
    )


IntegrationArgument = Annotated[str, typer.Argument(help="The integration's id.")]


@app.command()
def scheduler(
    project: ProjectOption = Path("."),
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Do one pass: start what is due, wait for it, print what ran, exit."
        ),
    ] = False,
) -> None:
    """Run integrations on their schedules, in the foreground, until SIGTERM or Ctrl-C.

    The first signal starts no new run and waits for running ones; a second asks them to
    stop at their next batch and roll back.
    """
    from isthmus.cli.commands import run_scheduler

    raise typer.Exit(run_scheduler(project, once=once))


@app.command()
def pause(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    reason: Annotated[
        str, typer.Option("--reason", help="Why; `isthmus schedule` shows it.")
    ] = "paused from the command line",
) -> None:
    """Pause an integration's schedule: the scheduler starts no run of it until resumed."""
    from isthmus.cli.commands import run_pause

    raise typer.Exit(run_pause(project, integration, reason))


@app.command()
def resume(integration: IntegrationArgument, project: ProjectOption = Path(".")) -> None:
    """Resume an integration's schedule and reset its count of consecutive failed runs."""
    from isthmus.cli.commands import run_resume

    raise typer.Exit(run_resume(project, integration))


@app.command()
def schedule(project: ProjectOption = Path("."), output: FormatOption = Format.human) -> None:
    """List every integration's schedule, next fire time, paused state and failure count."""
    from isthmus.cli.commands import run_schedule

    raise typer.Exit(run_schedule(project, json_output=output is Format.json))


def main() -> None:
    """Entry point: turn isthmus errors into a message and exit code 1, never a traceback."""
    try:
        app()
    except IsthmusError as exc:
        from isthmus.cli import render

        render.error(exc)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("ISTHMUS_DEBUG"):
            raise
        from isthmus.cli import render

        render.internal_error(exc)
        sys.exit(1)
