"""How `isthmus scheduler`, `schedule`, `pause` and `resume` look on a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from isthmus.cli.render import err, out, status, table

if TYPE_CHECKING:
    from isthmus.execution.schedule import Outcome, ScheduleView, Tick
    from isthmus.store import ScheduleState


def scheduler_started(folder: Path) -> None:
    err.print(f"scheduler running for {folder.resolve()}; stop it with Ctrl-C or SIGTERM")
    err.print("a second Ctrl-C asks running runs to stop at their next batch and roll back")


def scheduler_stopped() -> None:
    err.print("scheduler stopped")


def scheduler_pass(tick: Tick, outcomes: Sequence[Outcome], *, live: bool) -> None:
    """What one pass did: runs that finished, due runs that did not start; in the running
    scheduler (``live``) also the runs it started, and nothing when nothing happened."""
    for outcome in outcomes:
        _outcome(outcome)
    for name, why in tick.skipped:
        out.print(Text(f"{name}: not started: {why}", style="yellow"))
    if live:
        for name in tick.started:
            out.print(f"{name}: started")
    elif not outcomes and not tick.skipped and not tick.started:
        out.print("nothing was due")


def _outcome(outcome: Outcome) -> None:
    name, when = outcome.integration, f"{outcome.fire_time:%Y-%m-%d %H:%M:%S} UTC"
    if outcome.status == "error":
        out.print(Text(f"{name}: did not start ({when}): {outcome.error}", style="red"))
    elif outcome.status == "already_running":
        out.print(Text(f"{name}: already running elsewhere; skipped ({when})", style="yellow"))
    else:
        out.print(
            Text.assemble(f"{name}: run {outcome.run_id} ", status(outcome.status), f" ({when})")
        )
        if outcome.failed and outcome.error:
            out.print(Text(f"  error: {outcome.error}", style="red"))
    if outcome.paused:
        out.print(
            Text(
                f"{name}: paused after {outcome.consecutive_failures} consecutive failed "
                f"runs; fix the cause, then `isthmus resume {name}`",
                style="bold red",
            )
        )


def schedule_table(views: Sequence[ScheduleView]) -> None:
    if not views:
        out.print("no integrations in this project")
        return
    shown = table(
        "integration", "schedule", "timezone", "next (UTC)", "next (local)", "state", "failures"
    )
    for view in views:
        shown.add_row(
            view.integration,
            view.schedule or "-",
            view.timezone or "-",
            f"{view.next_run_at:%Y-%m-%d %H:%M:%S}" if view.next_run_at else "-",
            f"{view.next_run_local:%Y-%m-%d %H:%M:%S %Z}" if view.next_run_local else "-",
            _schedule_state(view),
            str(view.consecutive_failures),
        )
    out.print(shown)
    for view in views:
        if view.paused:
            out.print(Text(f"{view.integration} paused: {view.paused_reason or '-'}", style="red"))
        if view.problem:
            out.print(Text(f"{view.integration} cannot be scheduled: {view.problem}", style="red"))


def _schedule_state(view: ScheduleView) -> Text:
    if view.problem:
        return Text("invalid", style="red")
    if view.paused:
        return Text("paused", style="red")
    if view.schedule is None:
        return Text("on demand", style="dim")
    return Text("due now", style="yellow") if view.due else Text("scheduled", style="green")


def schedule_changed(state: ScheduleState) -> None:
    if state.paused:
        out.print(f"{state.integration} paused: {state.paused_reason}")
        out.print(f"the scheduler starts no run of it until `isthmus resume {state.integration}`")
    else:
        out.print(f"{state.integration} resumed; its count of failed runs is back to 0")
