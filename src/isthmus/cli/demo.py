"""`isthmus demo`: write the demo project, validate it, then show what isthmus does with it.

1. a run of acme-crm;
2. a run of globex-crm through an injected, transient failure: rolled back, retried;
3. a scheduled run: acme-crm marked due, one scheduler pass;
4. a mapping fix for globex's "Pending Review" contacts, and a replay of what it repairs;
5. a run of initech-crm over HTTP against the mock CRM with faults on, writing back.

Each step calls the layer a user's command would call, and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from isthmus.cli import render_project, render_runs, render_schedule
from isthmus.cli.run_commands import run_and_show, show_report
from isthmus.cli.state import state_store
from isthmus.config.project import Project, load_project
from isthmus.diagnostics import has_errors
from isthmus.errors import ProjectError
from isthmus.execution import RunSettings, database_urls
from isthmus.store import QuarantineFilter

if TYPE_CHECKING:
    from isthmus.demo.mockcrm import Faults, MockCrm
    from isthmus.demo.project import ApiTenant


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
    acme, globex, _ = demo.integrations
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
    failed |= not _api_run(target, demo.api)
    render_project.demo_next_steps(target, demo.integrations, demo.api.mock_command())
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


# What the mock CRM puts the API run through: every request answered late, refused for
# rate, failing with 503, and every page repeating a record of the page before; and one
# write whose reply is lost after the CRM stored it.
API_FAULTS = {
    "rate_limit_next": 2,
    "retry_after_s": 1,
    "error_next": 2,
    "slow_next": 1,
    "slow_s": 1.5,  # the template's timeout_s is 1
    "repeat_last": True,
    "lost_write_replies": 1,
}


def _api_run(root: Path, tenant: ApiTenant) -> bool:
    """Serve the tenant's CRM with the mock, faults on, and run its integration over HTTP."""
    from isthmus.demo.mockcrm import Faults, MockCrm

    render_project.demo_step(
        f"{tenant.integration}: a CRM's REST API, with faults",
        f"the demo serves initech's CRM with the mock CRM on 127.0.0.1 and makes it misbehave: "
        f"two 429s (Retry-After {API_FAULTS['retry_after_s']} s), two 503s, a reply slower "
        "than the timeout, a record repeated on every page, and a write whose reply is lost;",
        "isthmus waits, retries, keeps each contact once, and writes each customer's status "
        "back once (the CRM recognises the repeated write by its idempotency key)",
    )
    faults = Faults().changed(API_FAULTS)
    crm = _start_mock(root, tenant, MockCrm, faults)
    with crm:
        report = run_and_show(
            load_project(root), tenant.integration, RunSettings(), json_output=False
        )
        render_project.demo_mock_crm(crm.url, crm.requests, crm.received)
    return report.succeeded


def _start_mock(root: Path, tenant: ApiTenant, mock: type[MockCrm], faults: Faults) -> MockCrm:
    """The mock on the integration's port; on another free port (the integration file then
    pointed at it) when that one is taken."""
    serve = partial(
        mock, seed=tenant.seed, accounts=tenant.accounts, contacts=tenant.contacts, faults=faults
    )
    try:
        return serve(port=tenant.port)
    except OSError:
        crm = serve(port=0)
    path = root / "integrations" / tenant.tenant / "crm.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f":{tenant.port}", f":{crm.port}"), encoding="utf-8")
    render_project.demo_port_taken(tenant.port, crm.port, path)
    return crm


def _quarantined_with_status(project: Project, run_id: int, status: str) -> int:
    selection = QuarantineFilter(run_id=run_id, rule="lookup", field="status")
    with state_store(project) as store:
        entries = store.find_quarantine(selection)
    return sum(1 for e in entries if e.value == status)
