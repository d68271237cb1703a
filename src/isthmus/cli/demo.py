"""`isthmus demo`: write the demo project, validate it, then show what isthmus does with it.

1. a run of acme-crm;
2. a run of globex-crm through an injected, transient failure: rolled back, retried;
3. a scheduled run: acme-crm marked due, one scheduler pass;
4. a mapping fix for globex's "Pending Review" contacts, and a replay of what it repairs.

Each step calls the layer a user's command would call, and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from isthmus.cli import render_project, render_runs, render_schedule
from isthmus.cli.run_commands import run_and_show, show_report
from isthmus.cli.state import state_store
from isthmus.config.project import Project, load_project
from isthmus.diagnostics import has_errors
from isthmus.errors import ProjectError
from isthmus.execution import RunSettings, database_urls
from isthmus.store import QuarantineFilter


def run_demo(directory: Path | None) -> int:
    from isthmus.demo import create_demo_project

    target = directory or Path(tempfile.mkdtemp(prefix="isthmus-demo-"))
    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise ProjectError(
            f"{directory} is not empty; the demo writes a new project",
            hint="pass --dir with a new or empty folder",
        )
    demo = create_demo_project(target)
    render_project.demo_written(target, demo.tenants)
    if not _validated(target):
        return 1
    acme, globex = demo.integrations
    render_project.demo_step(
        f"{acme}: a run",
        "read each stream in batches, map and check every record, load the good ones in one "
        "transaction, quarantine the rest",
    )
    report = run_and_show(load_project(target), acme, RunSettings(), json_output=False)
    failed = not report.succeeded
    globex_run = _run_through_a_failure(target, globex)
    failed |= globex_run is None
    failed |= not _scheduled_run(target, acme)
    if globex_run is not None:
        failed |= not _fix_and_replay(target, globex, globex_run)
    render_project.demo_next_steps(target, demo.integrations)
    return 1 if failed else 0


def _validated(root: Path) -> bool:
    from isthmus.validation import validate_project

    project = load_project(root)
    diagnostics = validate_project(project)
    render_project.diagnostics(diagnostics, project)
    return not has_errors(diagnostics)


def _run_through_a_failure(root: Path, integration: str) -> int | None:
    """Run with the first write failing transiently; the run's id when it succeeded."""
    from isthmus.connectors import SqlDestination
    from isthmus.testing import FailingDestination

    render_project.demo_step(
        f"{integration}: a transient failure, retried",
        "injected: the demo makes globex's first write fail as if the database had dropped "
        "the connection;",
        "isthmus rolls the attempt back, waits, and tries again: same data, same numbers",
    )
    project = load_project(root)
    destination = FailingDestination(
        SqlDestination(database_urls(project).core), fail_on_write=1, transient=True
    )
    try:
        settings = RunSettings(destination=destination)
        report = run_and_show(project, integration, settings, json_output=False)
    finally:
        destination.close()
    return report.run_id if report.succeeded else None


def _scheduled_run(root: Path, integration: str) -> bool:
    """Mark ``integration`` due now and run one scheduler pass; whether what ran succeeded."""
    from isthmus.execution.scheduler import Scheduler

    render_project.demo_step(
        "a scheduled run",
        f"the demo marks {integration} due now and runs one scheduler pass, as `isthmus "
        "scheduler` does at every tick",
    )
    with state_store(load_project(root)) as store:
        store.set_next_run(integration, dt.datetime.now(dt.UTC))
    scheduler = Scheduler(root)
    try:
        tick = scheduler.tick()
        outcomes = [*tick.finished, *scheduler.drain()]
    finally:
        scheduler.close()
    render_schedule.scheduler_pass(tick, outcomes, live=False)
    with state_store(load_project(root)) as store:
        runs = [store.get_run(o.run_id) for o in outcomes if o.run_id is not None]
    for run in runs:
        if run is not None:
            render_runs.run_brief(run)
            render_runs.more(run.id)
    return bool(outcomes) and not any(o.failed for o in outcomes)


def _fix_and_replay(root: Path, integration: str, run_id: int) -> bool:
    """Fix globex's status mapping, then replay ``run_id``; False when the replay broke."""
    from isthmus.demo.project import PENDING_REVIEW, fix_pending_review
    from isthmus.execution.replay import replay_run

    pending = _quarantined_with_status(load_project(root), run_id, PENDING_REVIEW)
    render_project.demo_step(
        "a mapping fix, then a replay",
        f"run {run_id} quarantined {pending} {integration} contact(s) whose Status is "
        f'"{PENDING_REVIEW}" (rule lookup, field status): the template\'s lookup does not know '
        "that value;",
        f"the demo overrides {integration}'s status mapping, then replays the records run "
        f"{run_id} quarantined through the fixed configuration",
    )
    change = fix_pending_review(root, run_id)
    render_project.demo_fix(root / change.path, change.added)
    project = load_project(root)
    outcome = replay_run(project, run_id, RunSettings())
    show_report(project, outcome.report, json_output=False)
    render_runs.replay_outcome(outcome, run_id)
    return outcome.report.succeeded


def _quarantined_with_status(project: Project, run_id: int, status: str) -> int:
    selection = QuarantineFilter(run_id=run_id, rule="lookup", field="status")
    with state_store(project) as store:
        entries = store.find_quarantine(selection)
    return sum(1 for e in entries if e.value == status)
