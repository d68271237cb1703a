"""`isthmus quarantine list|export|purge`: the Typer wrappers, the options they share, and
their glue (load the project, call the observability layer, render).

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from isthmus.cli.options import Format, FormatOption, ProjectOption

if TYPE_CHECKING:
    from isthmus.config.project import Project
    from isthmus.observability import PiiPolicy
    from isthmus.observability.quarantine import Selection


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(
        help="Rejected records kept in the state store: list, export and purge them. Values "
        "and records are shown with personal data masked unless you pass --unmasked.",
        no_args_is_help=True,
    )
    quarantine_app.command("list")(quarantine_list)
    quarantine_app.command("export")(quarantine_export)
    quarantine_app.command("purge")(quarantine_purge)
    app.add_typer(quarantine_app, name="quarantine")


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


# --- the commands ----------------------------------------------------------------------------


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
    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, unmasked)
    raise typer.Exit(run_quarantine_list(project, args, limit, json_output=output is Format.json))


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
    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, unmasked)
    raise typer.Exit(run_quarantine_export(project, args, output.value, out))


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
    args = QuarantineArgs(integration, run_id, rule, field, status.value, older_than, False)
    raise typer.Exit(
        run_quarantine_purge(
            project, args, dry_run=dry_run, yes=yes, json_output=output is Format.json
        )
    )


# --- the glue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarantineArgs:
    """The options `isthmus quarantine` commands share, as parsed."""

    integration: str | None
    run_id: int | None
    rule: str | None
    field: str | None
    status: str  # open | resolved | superseded | all
    older_than: str | None  # a duration, already checked by the parser
    unmasked: bool

    def selection(self) -> Selection:
        from isthmus.config.durations import parse_duration
        from isthmus.observability.quarantine import Selection
        from isthmus.store import QuarantineStatus

        return Selection(
            integration=self.integration,
            run_id=self.run_id,
            rule=self.rule,
            field=self.field,
            status=None if self.status == "all" else QuarantineStatus(self.status),
            older_than=parse_duration(self.older_than) if self.older_than else None,
        )

    def policy(self, project: Project) -> PiiPolicy | None:
        from isthmus.cli.render_quarantine import unmasked_warning
        from isthmus.observability import pii_policy

        if self.unmasked:
            unmasked_warning()
            return None
        return pii_policy(project)


def run_quarantine_list(root: Path, args: QuarantineArgs, limit: int, *, json_output: bool) -> int:
    from isthmus.cli import render, render_quarantine
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.observability.quarantine import list_quarantine

    project = load_project(root)
    policy = args.policy(project)
    with state_store(project) as store:
        listing = list_quarantine(
            store, args.selection(), policy, limit=limit, now=dt.datetime.now(dt.UTC)
        )
    if json_output:
        render.print_json(listing.to_dict())
    else:
        render_quarantine.quarantine_table(listing)
    return 0


def run_quarantine_export(root: Path, args: QuarantineArgs, fmt: str, out: Path | None) -> int:
    from isthmus.cli import render_quarantine
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.observability.quarantine import (
        ExportFormat,
        export_quarantine,
        export_quarantine_file,
    )

    project = load_project(root)
    policy = args.policy(project)
    now = dt.datetime.now(dt.UTC)
    try:
        with state_store(project) as store:
            if out is None:
                export_quarantine(
                    store, args.selection(), policy, ExportFormat(fmt), sys.stdout, now=now
                )
                return 0
            count = export_quarantine_file(
                store, args.selection(), policy, ExportFormat(fmt), out, now=now
            )
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    render_quarantine.export_written(count, out, fmt, masked=policy is not None)
    return 0


def run_quarantine_purge(
    root: Path, args: QuarantineArgs, *, dry_run: bool, yes: bool, json_output: bool
) -> int:
    from isthmus.cli import render, render_quarantine
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.observability.quarantine import purge_quarantine

    with state_store(load_project(root)) as store:
        result = purge_quarantine(
            store, args.selection(), now=dt.datetime.now(dt.UTC), dry_run=dry_run, confirmed=yes
        )
    if json_output:
        render.print_json(
            {"selected": result.selected, "deleted": result.deleted, "dry_run": result.dry_run}
        )
    else:
        render_quarantine.purge_result(result)
    return 0
