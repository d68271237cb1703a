"""How runs look on a terminal and as JSON: `isthmus run`, `runs`, `runs show`, `replay`,
`cancel`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from isthmus.cli.render import STATUS_STYLE, out, reason_line, seconds, status, table, utc

if TYPE_CHECKING:
    from isthmus.execution import RunReport
    from isthmus.execution.replay import ReplayOutcome
    from isthmus.observability.history import RunDetails
    from isthmus.store import AttemptRecord, RunRecord, StreamRecord


# --- JSON ------------------------------------------------------------------------------------


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
        "note": run.note,
        "streams": [_stream_json(s) for s in run.streams],
    }


def _stream_json(stream: StreamRecord) -> dict[str, Any]:
    return {
        "mapping": stream.mapping,
        "stream": stream.stream,
        "entity": stream.entity,
        "status": str(stream.status),
        "read": stream.records_read,
        "loaded": stream.loaded,
        "inserted": stream.inserted,
        "updated": stream.updated,
        "deleted": stream.deleted,
        "rejected": stream.rejected,
        "skipped": stream.skipped,
        "duration_s": stream.duration_s,
        "error": stream.error,
        "drift": stream.drift,
    }


def run_json(details: RunDetails, report: RunReport | None) -> dict[str, Any]:
    """One run with its attempts and rejections (examples masked); with the databases when
    it was just run."""
    data = run_record_json(details.run)
    data["attempts"] = [_attempt_json(a) for a in details.run.attempts]
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
        data["profile"] = {stage: round(s, 6) for stage, s in report.profile.items()}
    return data


def _attempt_json(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "scope": attempt.scope,
        "started_at": attempt.started_at.isoformat(),
        "finished_at": attempt.finished_at.isoformat(),
        "error": attempt.error,
        "error_class": attempt.error_class,
        "wait_s": attempt.wait_s,
    }


def replay_json(details: RunDetails, outcome: ReplayOutcome, of_run: int) -> dict[str, Any]:
    data = run_json(details, outcome.report)
    data["replay"] = {
        "of_run": of_run,
        "replayed": outcome.replayed,
        "resolved": outcome.resolved,
        "rejected_again": outcome.rejected_again,
        "left_malformed": outcome.left_malformed,
    }
    return data


# --- terminal --------------------------------------------------------------------------------


def runs_table(runs: Sequence[RunRecord]) -> None:
    if not runs:
        out.print("no runs yet: start one with `isthmus run INTEGRATION`")
        return
    shown = table(
        "run", "integration", "status", "started (UTC)", "duration", "read", "loaded", "rejected"
    )
    for run in runs:
        shown.add_row(
            str(run.id),
            run.integration,
            status(str(run.status)),
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            seconds(run.duration_s),
            f"{run.total('records_read'):,}",
            f"{run.total('loaded'):,}",
            f"{run.total('rejected'):,}",
        )
    out.print(shown)


def run_details(details: RunDetails) -> None:
    run_brief(details.run)
    run = details.run
    if run.error:
        out.print(Text(f"error ({run.error_class}): {run.error}", style="red"))
        if run.hint:
            out.print(Text(f"hint: {run.hint}", style="cyan"))
    _reasons(details)


def run_brief(run: RunRecord) -> None:
    """The run's heading, note, counts per stream, schema drift and retried attempts."""
    committed = "committed" if run.committed else "rolled back: nothing was written"
    out.print(
        Text.assemble(
            (f"run {run.id}  ", "bold"),
            f"{run.integration} (tenant {run.tenant})  ",
            status(str(run.status)),
            f"  {committed}",
        )
    )
    out.print(
        f"template {run.template} {run.template_version}  config "
        f"{run.config_hash[:12]}  trigger {run.trigger}"
    )
    out.print(f"started {utc(run.started_at)}  duration {seconds(run.duration_s)}")
    if run.note:
        out.print(f"note: {run.note}")
    _streams_table(run)
    for stream in run.streams:
        if stream.drift:
            out.print(f"schema drift in {stream.stream}: {drift_text(stream.drift)}")
    _attempts(run.attempts)


def drift_text(drift: dict[str, list[str]]) -> str:
    """``appeared: Tags; disappeared: -``"""
    return "; ".join(f"{kind}: {', '.join(fields) or '-'}" for kind, fields in drift.items())


def _streams_table(run: RunRecord) -> None:
    deletes = any(s.deleted for s in run.streams)
    counts = ("read", "loaded", "inserted", "updated", *(("deleted",) if deletes else ()))
    shown = table("stream", "status", *counts, "rejected", "skipped", "duration")
    for s in run.streams:
        shown.add_row(
            s.stream,
            status(str(s.status)),
            f"{s.records_read:,}",
            f"{s.loaded:,}",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            *((f"{s.deleted:,}",) if deletes else ()),
            f"{s.rejected:,}",
            f"{s.skipped:,}",
            seconds(s.duration_s),
        )
    out.print(shown)


def _attempts(attempts: Sequence[AttemptRecord]) -> None:
    """The tries of every unit of commit that was tried more than once, one line each (a
    line, not a table: an error message is never cut off)."""
    retried = {a.scope for a in attempts if a.attempt > 1}
    if not retried:
        return
    out.print(Text("attempts (a transient failure rolls back, waits and tries again):", "bold"))
    for a in attempts:
        if a.scope not in retried:
            continue
        line = Text(f"  attempt {a.attempt}  {a.scope}  ")
        if a.error is None:
            line.append("succeeded", style=STATUS_STYLE["succeeded"])
        else:
            line.append(f"failed ({a.error_class or '-'})", style=STATUS_STYLE["failed"])
            line.append(f": {a.error}")
        if a.wait_s is not None:
            line.append(f"  then waited {seconds(a.wait_s)}")
        out.print(line)


def _reasons(details: RunDetails) -> None:
    if not details.reasons:
        out.print("no records rejected")
        return
    out.print(Text("rejected records by rule and field (personal data masked):", style="bold"))
    for reason in details.reasons:
        out.print(reason_line(reason.count, reason.rule, reason.field, reason.message))
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
    more(report.run_id)


def profile(report: RunReport) -> None:
    """Seconds per stage, largest first, with each stage's share of the run's wall time."""
    out.print(f"where the time went ({report.duration_s:.2f} s wall):")
    stages = table("stage", "seconds", "of wall time")
    wall = report.duration_s or 1.0
    for stage, spent in sorted(report.profile.items(), key=lambda item: -item[1]):
        stages.add_row(stage, f"{spent:.2f}", f"{spent / wall:.0%}")
    out.print(stages)
    out.print(
        Text(
            "reading and mapping run in a thread while the previous batch loads, so shares can "
            "add up to more than 100%; 'waiting for batches' is time the load stood idle",
            style="dim",
        )
    )


def more(run_id: int) -> None:
    out.print(f"more: isthmus runs show {run_id}")


def replay_outcome(outcome: ReplayOutcome, of_run: int) -> None:
    malformed = f"{outcome.left_malformed:,} malformed records left as they were"
    if not outcome.report.committed:
        out.print(
            Text(
                f"the replay failed and rolled back: the {outcome.replayed:,} replayed records "
                f"stay open in the quarantine of run {of_run}; {malformed}",
                style="bold red",
            )
        )
        return
    out.print(
        Text(
            f"replayed {outcome.replayed:,} records: {outcome.resolved:,} loaded and left the "
            f"quarantine, {outcome.rejected_again:,} rejected again (now quarantined by run "
            f"{outcome.report.run_id}), {malformed}",
            style="bold",
        )
    )


def cancel_requested(run: RunRecord) -> None:
    out.print(
        f"run {run.id} ({run.integration}) asked to stop: it stops at its next batch boundary "
        "and rolls back"
    )
    out.print(f"`isthmus runs show {run.id}` shows when it has stopped")
