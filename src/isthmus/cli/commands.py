"""What each command does: load the project, call one layer, hand the result to render."""

from __future__ import annotations

import tempfile
from pathlib import Path

from isthmus.cli import render
from isthmus.cli.progress import ProgressObserver
from isthmus.config.project import Project, load_project
from isthmus.diagnostics import has_errors
from isthmus.errors import ProjectError
from isthmus.execution import RunReport, RunSettings, database_urls, run_integration
from isthmus.observability import pii_policy, run_details
from isthmus.store import StateStore
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
