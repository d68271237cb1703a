"""What each command does: load the project, call one layer, hand the result to render."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from isthmus.cli import render
from isthmus.cli.progress import ProgressObserver
from isthmus.config.durations import parse_duration
from isthmus.config.project import Project, load_project
from isthmus.diagnostics import has_errors
from isthmus.errors import ProjectError
from isthmus.execution import RunReport, RunSettings, database_urls, run_integration
from isthmus.observability import PiiPolicy, pii_policy, run_details
from isthmus.observability.quarantine import (
    ExportFormat,
    Selection,
    export_quarantine,
    export_quarantine_file,
    list_quarantine,
    purge_quarantine,
)
from isthmus.store import QuarantineStatus, StateStore
from isthmus.validation import validate_project


def _store(project: Project) -> StateStore:
    return StateStore.open(database_urls(project).state)


def run_validate(root: Path, *, json_output: bool) -> int:
    project = load_project(root)
    diagnostics = validate_project(project)
    if json_output:
        render.print_json(
            {
                "valid": not has_errors(diagnostics),
                "diagnostics": [d.to_dict() for d in diagnostics],
            }
        )
    else:
        render.diagnostics(diagnostics, project)
    return 1 if has_errors(diagnostics) else 0


def run_run(root: Path, integration: str, *, json_output: bool) -> int:
    project = load_project(root)
    observer = None if json_output else ProgressObserver(integration)
    settings = RunSettings(observer=observer) if observer else RunSettings()
    try:
        report = run_integration(project, integration, settings)
    finally:
        if observer:
            observer.close()
    _show_report(project, report, json_output=json_output)
    return 0 if report.succeeded else 1


def _show_report(project: Project, report: RunReport, *, json_output: bool) -> None:
    store = _store(project)
    try:
        # One example per reason here; `isthmus runs show` gives more.
        details = run_details(store, report.run_id, pii_policy(project), examples=1)
    finally:
        store.close()
    if json_output:
        render.print_json(render.run_json(details, report))
    else:
        render.run_summary(details, report)


def run_runs(root: Path, integration: str | None, limit: int, *, json_output: bool) -> int:
    project = load_project(root)
    store = _store(project)
    try:
        runs = store.list_runs(integration=integration, limit=limit)
    finally:
        store.close()
    if json_output:
        render.print_json({"runs": [render.run_record_json(r) for r in runs]})
    else:
        render.runs_table(runs)
    return 0


def run_runs_show(root: Path, run_id: int, *, json_output: bool) -> int:
    project = load_project(root)
    store = _store(project)
    try:
        details = run_details(store, run_id, pii_policy(project))
    finally:
        store.close()
    if json_output:
        render.print_json(render.run_json(details, None))
    else:
        render.run_details(details)
    return 0


def run_docs(root: Path, out: Path) -> int:
    from isthmus.governance import write_catalog

    project = load_project(root)
    report = write_catalog(project, out)
    render.docs_written(report.pages, out, report.unresolved)
    return 0


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
        return Selection(
            integration=self.integration,
            run_id=self.run_id,
            rule=self.rule,
            field=self.field,
            status=None if self.status == "all" else QuarantineStatus(self.status),
            older_than=parse_duration(self.older_than) if self.older_than else None,
        )

    def policy(self, project: Project) -> PiiPolicy | None:
        if self.unmasked:
            render.unmasked_warning()
            return None
        return pii_policy(project)


def run_quarantine_list(root: Path, args: QuarantineArgs, limit: int, *, json_output: bool) -> int:
    project = load_project(root)
    policy = args.policy(project)
    store = _store(project)
    try:
        listing = list_quarantine(
            store, args.selection(), policy, limit=limit, now=dt.datetime.now(dt.UTC)
        )
    finally:
        store.close()
    if json_output:
        render.print_json(listing.to_dict())
    else:
        render.quarantine_table(listing)
    return 0


def run_quarantine_export(root: Path, args: QuarantineArgs, fmt: str, out: Path | None) -> int:
    project = load_project(root)
    policy = args.policy(project)
    store = _store(project)
    now = dt.datetime.now(dt.UTC)
    try:
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
    finally:
        store.close()
    render.export_written(count, out, fmt, masked=policy is not None)
    return 0


def run_quarantine_purge(
    root: Path, args: QuarantineArgs, *, dry_run: bool, yes: bool, json_output: bool
) -> int:
    project = load_project(root)
    store = _store(project)
    try:
        result = purge_quarantine(
            store, args.selection(), now=dt.datetime.now(dt.UTC), dry_run=dry_run, confirmed=yes
        )
    finally:
        store.close()
    if json_output:
        render.print_json(
            {"selected": result.selected, "deleted": result.deleted, "dry_run": result.dry_run}
        )
    else:
        render.purge_result(result)
    return 0


def run_demo(directory: Path | None) -> int:
    from isthmus.demo import create_demo_project

    target = directory or Path(tempfile.mkdtemp(prefix="isthmus-demo-"))
    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise ProjectError(
            f"{directory} is not empty; the demo writes a new project",
            hint="pass --dir with a new or empty folder",
        )
    demo = create_demo_project(target)
    render.demo_written(target, demo.tenants)
    project = load_project(target)
    diagnostics = validate_project(project)
    render.diagnostics(diagnostics, project)
    if has_errors(diagnostics):
        return 1
    failed = 0
    for integration in demo.integrations:
        failed += run_run(target, integration, json_output=False)
    render.demo_next_steps(target, demo.integrations)
    return 1 if failed else 0


def run_scheduler(root: Path, *, once: bool) -> int:
    from isthmus.execution.schedule import Tick
    from isthmus.execution.scheduler import Scheduler

    scheduler = Scheduler(root)
    if once:
        try:
            tick = scheduler.tick()
            outcomes = [*tick.finished, *scheduler.drain()]
        finally:
            scheduler.close()
        render.scheduler_pass(tick, outcomes, live=False)
        return 1 if any(o.failed for o in outcomes) else 0

    def show(tick: Tick) -> None:
        render.scheduler_pass(tick, tick.finished, live=True)

    scheduler.install_signal_handlers()
    render.scheduler_started(root)
    scheduler.run_forever(on_tick=show)
    render.scheduler_stopped()
    return 0


def run_pause(root: Path, integration: str, reason: str) -> int:
    return _set_paused(root, integration, reason)


def run_resume(root: Path, integration: str) -> int:
    return _set_paused(root, integration, None)


def _set_paused(root: Path, integration: str, reason: str | None) -> int:
    from isthmus.errors import NotFoundError

    project = load_project(root)
    if integration not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        raise NotFoundError(
            f"no integration named {integration!r} in {project.root}",
            hint=f"integrations in this project: {known}",
        )
    store = _store(project)
    try:
        store.set_paused(
            integration, paused=reason is not None, reason=reason, at=dt.datetime.now(dt.UTC)
        )
        state = store.schedule_state(integration)
    finally:
        store.close()
    render.schedule_changed(state)
    return 0


def run_schedule(root: Path, *, json_output: bool) -> int:
    from isthmus.execution.schedule import view
    from isthmus.validation.schedules import integration_schedules

    project = load_project(root)
    store = _store(project)
    try:
        states = store.schedule_states()
    finally:
        store.close()
    now = dt.datetime.now(dt.UTC)
    views = [view(item, states.get(item.name), now) for item in integration_schedules(project)]
    if json_output:
        render.print_json({"integrations": [v.to_dict() for v in views]})
    else:
        render.schedule_table(views)
    return 0
