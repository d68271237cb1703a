"""`isthmus run`, `runs`, `runs show`, `plan`, `checkpoint show|reset`, `cancel`, `replay`:
the Typer wrappers and their glue (load the project, call the execution layer, render).

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from isthmus.cli.options import (
    Format,
    FormatOption,
    IntegrationArgument,
    ProjectOption,
    RunIdArgument,
)

if TYPE_CHECKING:
    from isthmus.config.project import Project
    from isthmus.execution import RunReport, RunSettings


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(plan)
    app.command()(cancel)
    app.command()(replay)
    runs_app = typer.Typer(
        help="Run history: `isthmus runs` lists runs, `isthmus runs show ID` shows one.",
        invoke_without_command=True,
    )
    runs_app.callback()(runs_list)
    runs_app.command("show")(runs_show)
    app.add_typer(runs_app, name="runs")
    checkpoint_app = typer.Typer(
        help="Where each stream of an integration starts its next read: show or reset it.",
        no_args_is_help=True,
    )
    checkpoint_app.command("show")(checkpoint_show)
    checkpoint_app.command("reset")(checkpoint_reset)
    app.add_typer(checkpoint_app, name="checkpoint")


# --- the commands ----------------------------------------------------------------------------


def run(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read everything once, whatever the checkpoints say; the configured read "
            "mode does not change.",
        ),
    ] = False,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile",
            help="Also show where the run's time went, stage by stage (JSON always has it).",
        ),
    ] = False,
) -> None:
    """Run one integration now: validate, read, map, check, load in one transaction."""
    raise typer.Exit(
        run_run(project, integration, json_output=output is Format.json, full=full, profile=profile)
    )


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
    raise typer.Exit(run_runs(project, integration, limit, json_output=output is Format.json))


def runs_show(
    run_id: RunIdArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Show one run: counts per stream, status, error, and rejections with examples."""
    raise typer.Exit(run_runs_show(project, run_id, json_output=output is Format.json))


def plan(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Show what a run would do, without running: its streams in run order, their modes and
    dependencies, the unit of commit, batch size, retries and timeout."""
    raise typer.Exit(run_plan(project, integration, json_output=output is Format.json))


def checkpoint_show(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Show each stream's checkpoint (what the next run starts from), the state store's copy,
    whether they agree, and the run that saved it."""
    raise typer.Exit(run_checkpoint_show(project, integration, json_output=output is Format.json))


def checkpoint_reset(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    stream: Annotated[
        str | None,
        typer.Option("--stream", "-s", help="Only this stream's checkpoint (default: all)."),
    ] = None,
) -> None:
    """Forget checkpoints, so the next run reads from the start; recorded as a run."""
    raise typer.Exit(run_checkpoint_reset(project, integration, stream))


def cancel(run_id: RunIdArgument, project: ProjectOption = Path(".")) -> None:
    """Ask a running run to stop at its next batch boundary and roll back."""
    raise typer.Exit(run_cancel(project, run_id))


def replay(
    run_id: RunIdArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Process a run's quarantined records again through the current configuration (after a
    fix), without reading the source: what loads leaves the quarantine."""
    raise typer.Exit(run_replay(project, run_id, json_output=output is Format.json))


# --- the glue --------------------------------------------------------------------------------


def run_run(
    root: Path, integration: str, *, json_output: bool, full: bool = False, profile: bool = False
) -> int:
    from isthmus.cli import render_runs
    from isthmus.config.project import load_project
    from isthmus.execution import RunSettings

    project = load_project(root)
    settings = RunSettings(full=full)
    report = run_and_show(project, integration, settings, json_output=json_output)
    if profile and not json_output:
        render_runs.profile(report)
    return 0 if report.succeeded else 1


def run_and_show(
    project: Project, integration: str, settings: RunSettings, *, json_output: bool
) -> RunReport:
    """Run with a progress bar (unless JSON is asked for), then show the run's summary."""
    from isthmus.cli.progress import ProgressObserver
    from isthmus.execution import run_integration

    observer = None if json_output else ProgressObserver(integration)
    if observer:
        settings.observer = observer
    try:
        report = run_integration(project, integration, settings)
    finally:
        if observer:
            observer.close()
    show_report(project, report, json_output=json_output)
    return report


def show_report(project: Project, report: RunReport, *, json_output: bool) -> None:
    from isthmus.cli import render, render_runs
    from isthmus.cli.state import state_store
    from isthmus.observability import pii_policy, run_details

    with state_store(project) as store:
        # One example per reason here; `isthmus runs show` gives more.
        details = run_details(store, report.run_id, pii_policy(project), examples=1)
    if json_output:
        render.print_json(render_runs.run_json(details, report))
    else:
        render_runs.run_summary(details, report)


def run_runs(root: Path, integration: str | None, limit: int, *, json_output: bool) -> int:
    from isthmus.cli import render, render_runs
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project

    with state_store(load_project(root)) as store:
        runs = store.list_runs(integration=integration, limit=limit)
    if json_output:
        render.print_json({"runs": [render_runs.run_record_json(r) for r in runs]})
    else:
        render_runs.runs_table(runs)
    return 0


def run_runs_show(root: Path, run_id: int, *, json_output: bool) -> int:
    from isthmus.cli import render, render_runs
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.observability import pii_policy, run_details

    project = load_project(root)
    with state_store(project) as store:
        details = run_details(store, run_id, pii_policy(project))
    if json_output:
        render.print_json(render_runs.run_json(details, None))
    else:
        render_runs.run_details(details)
    return 0


def run_plan(root: Path, integration: str, *, json_output: bool) -> int:
    from isthmus.cli import render, render_plan
    from isthmus.config.project import load_project
    from isthmus.execution.plan import plan_integration

    planned = plan_integration(load_project(root), integration)
    if json_output:
        render.print_json(render_plan.plan_json(planned))
    else:
        render_plan.plan_table(planned)
    return 0


def run_checkpoint_show(root: Path, integration: str, *, json_output: bool) -> int:
    from isthmus.cli import render, render_plan
    from isthmus.config.project import load_project
    from isthmus.execution.checkpoints import show_checkpoints

    views = show_checkpoints(load_project(root), integration)
    if json_output:
        render.print_json(render_plan.checkpoints_json(integration, views))
    else:
        render_plan.checkpoints(integration, views)
    return 0


def run_checkpoint_reset(root: Path, integration: str, stream: str | None) -> int:
    from isthmus.cli import render_plan
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.execution.checkpoints import reset_checkpoints

    project = load_project(root)
    run_id = reset_checkpoints(project, integration, stream)
    with state_store(project) as store:
        recorded = store.get_run(run_id)
    render_plan.checkpoint_reset(run_id, recorded.note if recorded else None)
    return 0


def run_cancel(root: Path, run_id: int) -> int:
    from isthmus.cli import render_runs
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.errors import IsthmusError, NotFoundError
    from isthmus.store import RunStatus

    with state_store(load_project(root)) as store:
        recorded = store.request_cancel(run_id)
    if recorded is None:
        raise NotFoundError(
            f"no run {run_id} in the state store", hint="`isthmus runs` lists recent runs"
        )
    if recorded.status is not RunStatus.RUNNING:
        raise IsthmusError(
            f"run {run_id} ({recorded.integration}) is not running: its status is "
            f"{recorded.status}, so there is nothing to cancel",
            hint=f"`isthmus runs show {run_id}` shows how it ended",
        )
    render_runs.cancel_requested(recorded)
    return 0


def run_replay(root: Path, run_id: int, *, json_output: bool) -> int:
    from isthmus.cli import render, render_runs
    from isthmus.cli.progress import ProgressObserver
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.execution import RunSettings
    from isthmus.execution.replay import replay_run
    from isthmus.observability import pii_policy, run_details

    project = load_project(root)
    observer = None if json_output else ProgressObserver(f"replay of run {run_id}")
    settings = RunSettings(observer=observer) if observer else RunSettings()
    try:
        outcome = replay_run(project, run_id, settings)
    finally:
        if observer:
            observer.close()
    with state_store(project) as store:
        details = run_details(store, outcome.report.run_id, pii_policy(project), examples=1)
    if json_output:
        render.print_json(render_runs.replay_json(details, outcome, run_id))
    else:
        render_runs.run_summary(details, outcome.report)
        render_runs.replay_outcome(outcome, run_id)
    return 0 if outcome.report.succeeded else 1
