"""How results look on a terminal (Rich) and as JSON. Only presentation lives here."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic, Severity
from isthmus.errors import IsthmusError, ValidationFailedError
from isthmus.execution import RunReport
from isthmus.execution.schedule import Outcome, ScheduleView, Tick
from isthmus.observability.history import RunDetails
from isthmus.observability.quarantine import PurgeResult, QuarantineListing
from isthmus.store import RunRecord, ScheduleState


def _console(*, stderr: bool) -> Console:
    # Piped output (a log, a file, a test) has no terminal width; Rich would assume 80
    # columns and truncate tables, so give it room unless COLUMNS says otherwise.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 140
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


out = _console(stderr=False)
err = _console(stderr=True)

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "running": "yellow",
    "cancelled": "yellow",
    "abandoned": "red",
    "timed_out": "red",
}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def error(exc: IsthmusError) -> None:
    err.print(Text(f"error: {exc.message}", style="bold red"))
    if isinstance(exc, ValidationFailedError):
        for diagnostic in exc.diagnostics:
            _diagnostic(diagnostic, err, None)
    if exc.hint:
        err.print(Text(f"hint: {exc.hint}", style="cyan"))


def internal_error(exc: Exception) -> None:
    err.print(Text(f"internal error: {type(exc).__name__}: {exc}", style="bold red"))
    err.print(
        Text(
            "hint: this is a bug in isthmus; set ISTHMUS_DEBUG=1 to see where it "
            "happened, and report it with that output",
            style="cyan",
        )
    )


# --- validate ------------------------------------------------------------------------------


def diagnostics(found: Sequence[Diagnostic], project: Project) -> None:
    for diagnostic in found:
        _diagnostic(diagnostic, out, project)
    errors = sum(1 for d in found if d.severity is Severity.ERROR)
    warnings = sum(1 for d in found if d.severity is Severity.WARNING)
    if errors:
        out.print(
            Text(
                f"{errors} error(s), {warnings} warning(s): the project does not validate",
                style="bold red",
            )
        )
        return
    counts = (
        f"{len(project.entities)} entities, "
        f"{sum(len(v) for v in project.templates.values())} template version(s), "
        f"{len(project.integrations)} integration(s)"
    )
    note = f" ({warnings} warning(s))" if warnings else ""
    out.print(Text(f"valid: {counts}{note}", style="bold green"))


def _diagnostic(diagnostic: Diagnostic, console: Console, project: Project | None) -> None:
    style = {"error": "red", "warning": "yellow", "info": "blue"}[str(diagnostic.severity)]
    where = f"{diagnostic.location}: " if diagnostic.location else ""
    console.print(
        Text.assemble(
            where,
            (f"{diagnostic.severity} ", f"bold {style}"),
            (f"[{diagnostic.code}] ", style),
            diagnostic.message,
        )
    )
    source = _source_line(diagnostic, project)
    if source is not None and diagnostic.location is not None:
        number = f"{diagnostic.location.line:>5} | "
        console.print(Text(number + source, style="dim"))
        console.print(Text(" " * (len(number) + diagnostic.location.column - 1) + "^", style=style))
    if diagnostic.hint:
        console.print(Text(f"  hint: {diagnostic.hint}", style="cyan"))


def _source_line(diagnostic: Diagnostic, project: Project | None) -> str | None:
    if project is None or diagnostic.location is None:
        return None
    path = diagnostic.location.file
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    index = diagnostic.location.line - 1
    return lines[index] if 0 <= index < len(lines) else None


# --- runs ------------------------------------------------------------------------------------


def run_record_json(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "integration": run.integration,
        "tenant": run.tenant,
        "template": run.template,
        "template_version": run.template_version,
        "config_hash": run.config_hash,
        "trigger": run.trigger,
        "status": str(run.status),
        "committed": run.committed,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": run.duration_s,
        "error": run.error,
        "error_class": run.error_class,
        "hint": run.hint,
        "streams": [
            {
                "mapping": s.mapping,
                "stream": s.stream,
                "entity": s.entity,
                "status": str(s.status),
                "read": s.records_read,
                "loaded": s.loaded,
                "inserted": s.inserted,
                "updated": s.updated,
                "rejected": s.rejected,
                "skipped": s.skipped,
                "duration_s": s.duration_s,
                "error": s.error,
            }
            for s in run.streams
        ],
    }


def run_json(details: RunDetails, report: RunReport | None) -> dict[str, Any]:
    data = run_record_json(details.run)
    data["rejections"] = [
        {
            "rule": r.rule,
            "field": r.field,
            "count": r.count,
            "message": r.message,
            "examples": [
                {
                    "origin": e.origin,
                    "position": e.position,
                    "record_id": e.record_id,
                    "value": e.value,
                    "message": e.message,
                }
                for e in r.examples
            ],
        }
        for r in details.reasons
    ]
    if report is not None:
        data["core_database"] = report.core_database
        data["state_database"] = report.state_database
    return data


def _table(*columns: str) -> Table:
    """A borderless table whose cells never wrap: a narrow terminal truncates, it never garbles
    a row over several lines."""
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 1))
    for name in columns:
        numeric = name in NUMERIC_COLUMNS
        table.add_column(
            name,
            justify="right" if numeric else "left",
            no_wrap=True,
            min_width=len(name),
            overflow="ellipsis" if not numeric else "fold",
        )
    return table


NUMERIC_COLUMNS = {
    "run",
    "read",
    "loaded",
    "inserted",
    "updated",
    "rejected",
    "skipped",
    "duration",
    "count",
    "id",
}


def runs_table(runs: Sequence[RunRecord]) -> None:
    if not runs:
        out.print("no runs yet: start one with `isthmus run INTEGRATION`")
        return
    table = _table(
        "run", "integration", "status", "started (UTC)", "duration", "read", "loaded", "rejected"
    )
    for run in runs:
        table.add_row(
            str(run.id),
            run.integration,
            _status(str(run.status)),
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            _seconds(run.duration_s),
            f"{run.total('records_read'):,}",
            f"{run.total('loaded'):,}",
            f"{run.total('rejected'):,}",
        )
    out.print(table)


def run_details(details: RunDetails) -> None:
    run = details.run
    committed = "committed" if run.committed else "rolled back: nothing was written"
    out.print(
        Text.assemble(
            (f"run {run.id}  ", "bold"),
            f"{run.integration} (tenant {run.tenant})  ",
            _status(str(run.status)),
            f"  {committed}",
        )
    )
    out.print(
        f"template {run.template} {run.template_version}  config "
        f"{run.config_hash[:12]}  trigger {run.trigger}"
    )
    out.print(
        f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC  duration {_seconds(run.duration_s)}"
    )
    _streams_table(run)
    if run.error:
        out.print(Text(f"error ({run.error_class}): {run.error}", style="red"))
        if run.hint:
            out.print(Text(f"hint: {run.hint}", style="cyan"))
    _reasons(details)


def _streams_table(run: RunRecord) -> None:
    table = _table(
        "stream",
        "status",
        "read",
        "loaded",
        "inserted",
        "updated",
        "rejected",
        "skipped",
        "duration",
    )
    for s in run.streams:
        table.add_row(
            s.stream,
            _status(str(s.status)),
            f"{s.records_read:,}",
            f"{s.loaded:,}",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            f"{s.rejected:,}",
            f"{s.skipped:,}",
            _seconds(s.duration_s),
        )
    out.print(table)


def _reasons(details: RunDetails) -> None:
    if not details.reasons:
        out.print("no records rejected")
        return
    out.print(Text("rejected records by rule and field (personal data masked):", style="bold"))
    for reason in details.reasons:
        out.print(
            Text.assemble(
                f"{reason.count:>7,}  ",
                (reason.rule, "bold"),
                "  ",
                reason.field or "-",
                "  ",
                (reason.message, "dim"),
            )
        )
        for example in reason.examples:
            where = f"{example.origin}:{example.position}"
            record = f"  id={example.record_id}" if example.record_id else ""
            value = f"  value={example.value!r}" if example.value is not None else ""
            why = f"  ({example.message})" if example.message != reason.message else ""
            out.print(Text(f"           {where}{record}{value}{why}", style="dim"))


def run_summary(details: RunDetails, report: RunReport) -> None:
    run_details(details)
    out.print(f"core database: {report.core_database}")
    out.print(f"state store:   {report.state_database}")
    out.print(f"more: isthmus runs show {report.run_id}")


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


# --- quarantine ------------------------------------------------------------------------------


QUARANTINE_WIDTHS = {"integration": 20, "origin:position": 36, "rule": 16, "field": 16, "value": 30}


def quarantine_table(listing: QuarantineListing) -> None:
    if not listing.entries:
        out.print(f"no quarantined records match (status {listing.status})")
        return
    more = f" of {listing.total:,} (--limit N shows more)" if listing.total > listing.limit else ""
    masked = "values masked" if listing.masked else "values NOT masked"
    out.print(
        f"{listing.total:,} quarantined record(s) match (status {listing.status}); showing "
        f"{len(listing.entries):,}{more}, {listing.order}; {masked}"
    )
    headers = ("id", "run", "integration", "origin:position", "rule", "field", "value", "message")
    rows = [
        [_one_line(cell) for cell in (
            str(e.id), str(e.run_id), e.integration, f"{e.origin}:{e.position}", e.rule,
            e.field or "-", '""' if e.value == "" else e.value or "-", e.message,
        )]
        for e in listing.entries
    ]  # fmt: skip
    widths = _fitted_widths(headers, rows)
    table = _table(*headers)
    for row in rows:
        table.add_row(*(_cut(cell, w) for cell, w in zip(row, widths, strict=True)))
    out.print(table)


def _fitted_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Widths that fit the terminal, so Rich never squeezes a column: each column's widest cell
    (capped), then the widest column narrowed in turn, never below its header."""
    widths = [
        min(QUARANTINE_WIDTHS.get(name, 10**6), max(len(name), *(cell_len(r[i]) for r in rows)))
        for i, name in enumerate(headers)
    ]
    room = out.width - 2 * (len(widths) - 1)
    while sum(widths) > room:
        narrowable = [i for i, name in enumerate(headers) if widths[i] > len(name)]
        if not narrowable:
            break
        widths[max(narrowable, key=widths.__getitem__)] -= 1
    return widths


def _cut(cell: str, width: int) -> Text:
    text = Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text


def _one_line(text: str) -> str:
    """A cell never breaks its row: control characters (newlines, tabs) are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def unmasked_warning() -> None:
    warning = "warning: --unmasked shows personal data as stored; do not share this output"
    err.print(Text(warning, style="yellow"))


def export_written(count: int, path: Path, fmt: str, *, masked: bool) -> None:
    note = "personal data masked" if masked else "personal data NOT masked"
    out.print(f"wrote {count:,} quarantined record(s) to {path} ({fmt}, {note})")


def purge_result(result: PurgeResult) -> None:
    if result.dry_run:
        out.print(f"dry run: {result.selected:,} quarantined record(s) would be deleted")
    elif result.selected == 0:
        out.print("no quarantined records match: nothing deleted")
    else:
        out.print(f"deleted {result.deleted:,} quarantined record(s)")


# --- docs and demo ---------------------------------------------------------------------------


def docs_written(pages: Sequence[Path], folder: Path, unresolved: Sequence[str]) -> None:
    out.print(f"wrote {len(pages)} pages to {folder}; open {folder / 'index.html'}")
    for name in unresolved:
        err.print(
            Text(f"warning: integration {name} does not resolve; its page says why", style="yellow")
        )


def demo_written(folder: Path, tenants: Sequence[str]) -> None:
    out.print(Text(f"demo project written to {folder}", style="bold"))
    out.print(f"tenants: {', '.join(tenants)}; sample exports under {folder / 'data'}")


def demo_next_steps(folder: Path, integrations: Sequence[str]) -> None:
    # Name the command by its full path when it is not on PATH (e.g. inside .venv/bin).
    beside = Path(sys.executable).parent / "isthmus"
    command = "isthmus" if shutil.which("isthmus") or not beside.exists() else str(beside)
    out.print(Text("next steps:", style="bold"))
    out.print(f"  cd {folder}")
    for step in ("validate", f"run {integrations[0]}", "runs", "docs --out site"):
        out.print(f"  {command} {step}")


# --- scheduler -------------------------------------------------------------------------------


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
            Text.assemble(f"{name}: run {outcome.run_id} ", _status(outcome.status), f" ({when})")
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
    table = _table(
        "integration", "schedule", "timezone", "next (UTC)", "next (local)", "state", "failures"
    )
    for view in views:
        table.add_row(
            view.integration,
            view.schedule or "-",
            view.timezone or "-",
            f"{view.next_run_at:%Y-%m-%d %H:%M:%S}" if view.next_run_at else "-",
            f"{view.next_run_local:%Y-%m-%d %H:%M:%S %Z}" if view.next_run_local else "-",
            _schedule_state(view),
            str(view.consecutive_failures),
        )
    out.print(table)
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
