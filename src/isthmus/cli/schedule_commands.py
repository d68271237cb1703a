"""`isthmus scheduler`, `pause`, `resume`, `schedule`: the Typer wrappers and their glue (load
the project, call the execution layer's scheduler, render).

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from isthmus.cli.options import Format, FormatOption, IntegrationArgument, ProjectOption

if TYPE_CHECKING:
    from isthmus.execution.schedule import Tick


def register(app: typer.Typer) -> None:
    app.command()(scheduler)
    app.command()(pause)
    app.command()(resume)
    app.command()(schedule)


# --- the commands ----------------------------------------------------------------------------


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
    raise typer.Exit(run_scheduler(project, once=once))


def pause(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    reason: Annotated[
        str, typer.Option("--reason", help="Why; `isthmus schedule` shows it.")
    ] = "paused from the command line",
) -> None:
    """Pause an integration's schedule: the scheduler starts no run of it until resumed."""
    raise typer.Exit(_set_paused(project, integration, reason))


def resume(integration: IntegrationArgument, project: ProjectOption = Path(".")) -> None:
    """Resume an integration's schedule and reset its count of consecutive failed runs."""
    raise typer.Exit(_set_paused(project, integration, None))


def schedule(project: ProjectOption = Path("."), output: FormatOption = Format.human) -> None:
    """List every integration's schedule, next fire time, paused state and failure count."""
    raise typer.Exit(run_schedule(project, json_output=output is Format.json))


# --- the glue --------------------------------------------------------------------------------


def run_scheduler(root: Path, *, once: bool) -> int:
    from isthmus.cli import render_schedule
    from isthmus.execution.scheduler import Scheduler

    runner = Scheduler(root)
    if once:
        try:
            tick = runner.tick()
            outcomes = [*tick.finished, *runner.drain()]
        finally:
            runner.close()
        render_schedule.scheduler_pass(tick, outcomes, live=False)
        return 1 if any(o.failed for o in outcomes) else 0

    def show(tick: Tick) -> None:
        render_schedule.scheduler_pass(tick, tick.finished, live=True)

    runner.install_signal_handlers()
    render_schedule.scheduler_started(root)
    runner.run_forever(on_tick=show)
    render_schedule.scheduler_stopped()
    return 0


def _set_paused(root: Path, integration: str, reason: str | None) -> int:
    from isthmus.cli import render_schedule
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.errors import NotFoundError

    project = load_project(root)
    if integration not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        raise NotFoundError(
            f"no integration named {integration!r} in {project.root}",
            hint=f"integrations in this project: {known}",
        )
    with state_store(project) as store:
        store.set_paused(
            integration, paused=reason is not None, reason=reason, at=dt.datetime.now(dt.UTC)
        )
        state = store.schedule_state(integration)
    render_schedule.schedule_changed(state)
    return 0


def run_schedule(root: Path, *, json_output: bool) -> int:
    from isthmus.cli import render, render_schedule
    from isthmus.cli.state import state_store
    from isthmus.config.project import load_project
    from isthmus.execution.schedule import view
    from isthmus.validation.schedules import integration_schedules

    project = load_project(root)
    with state_store(project) as store:
        states = store.schedule_states()
    now = dt.datetime.now(dt.UTC)
    views = [view(item, states.get(item.name), now) for item in integration_schedules(project)]
    if json_output:
        render.print_json({"integrations": [v.to_dict() for v in views]})
    else:
        render_schedule.schedule_table(views)
    return 0
