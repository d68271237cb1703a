"""How `isthmus check` (a dry run) looks on a terminal and as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.text import Text

from isthmus.cli.render import out, reason_line, table

if TYPE_CHECKING:
    from isthmus.execution.dry_run_models import DriftSample, DryRunReport, StreamSample

# Columns of the mapped-rows table: past this, a row is shown one field per line.
MAX_ROW_COLUMNS = 6
CELL_WIDTH = 24


def check_json(report: DryRunReport) -> dict[str, Any]:
    data = asdict(report)
    data["started_at"] = report.started_at.isoformat()
    data["failed"] = report.failed
    data["wrote_nothing"] = True
    return data


def check_report(report: DryRunReport) -> None:
    out.print(
        Text.assemble(
            (f"dry run of {report.integration}", "bold"),
            f" (tenant {report.tenant})  template {report.template} {report.version}  "
            f"config {report.config_hash[:12]}",
        )
    )
    out.print(
        f"up to {report.sample:,} records per stream from the real source, mapped and checked "
        "as a run would; nothing was written"
    )
    where = "opened read-only" if report.core_exists else "does not exist yet"
    out.print(f"core database: {report.core_database} ({where})")
    _counts(report)
    for stream in report.streams:
        _stream(stream)


def _counts(report: DryRunReport) -> None:
    shown = table("stream", "entity", "read", "would load", "would reject", "would skip", "more")
    for column in shown.columns[3:6]:
        column.justify = "right"
    for s in report.streams:
        if s.error is not None:
            shown.add_row(s.mapping, s.entity, "-", "-", "-", "-", Text("failed", style="red"))
            continue
        shown.add_row(
            s.mapping,
            s.entity,
            f"{s.records_read:,}",
            f"{s.would_load:,}",
            f"{s.would_reject:,}",
            f"{s.would_skip:,}",
            "yes" if s.more else "no",
        )
    out.print(shown)


def _stream(stream: StreamSample) -> None:
    out.print()
    out.print(
        Text.assemble(
            (f"stream {stream.mapping}", "bold"),
            f"  ({stream.stream} -> {stream.entity}, read {stream.read_mode}, "
            f"write {stream.write_mode})",
        )
    )
    out.print(f"  starts from: {stream.starts_from}")
    if stream.error is not None:
        out.print(Text(f"  error ({stream.error_class}): {stream.error}", style="red"))
        if stream.hint:
            out.print(Text(f"  hint: {stream.hint}", style="cyan"))
        return
    out.print(f"  references: {stream.references}")
    _reasons(stream)
    _drift(stream.drift)
    _rows(stream)
    for note in stream.notes:
        out.print(f"  note: {note}")


def _reasons(stream: StreamSample) -> None:
    if not stream.reasons:
        out.print("  would reject: nothing")
        return
    out.print(Text("  would reject, by rule and field (personal data masked):", style="bold"))
    for r in stream.reasons:
        out.print(reason_line(r.count, r.rule, r.field, r.message, indent="  "))
        record = f"  id={r.example_record_id}" if r.example_record_id else ""
        value = f"  value={r.example_value!r}" if r.example_value is not None else ""
        out.print(Text(f"             e.g. {r.example_at}{record}{value}", style="dim"))


def _drift(drift: DriftSample) -> None:
    if not drift.observed:
        out.print(f"  schema drift: {drift.how}")
        return
    found = drift.undeclared or drift.absent or drift.always_null
    out.print(f"  schema drift: {'found' if found else 'none'} in {drift.how}")
    for label, fields in (
        ("not declared by the stream", drift.undeclared),
        ("declared, never present", drift.absent),
        ("declared, always null or empty", drift.always_null),
    ):
        if fields:
            out.print(f"    {label}: {', '.join(fields)}")


def _rows(stream: StreamSample) -> None:
    if not stream.rows:
        return
    out.print(Text("  mapped rows, as a run would load them (personal data masked):", style="bold"))
    columns = list(stream.rows[0])
    if len(columns) <= MAX_ROW_COLUMNS:
        shown = table(*columns)
        for row in stream.rows:
            shown.add_row(*(_cell(row[c]) for c in columns))
        out.print(shown)
        return
    for number, row in enumerate(stream.rows, start=1):
        out.print(f"    row {number}:")
        for name, value in row.items():
            out.print(f"      {name:<20} {_cell(value)}")


def _cell(value: str | None) -> str:
    if value is None:
        return "null"
    return value if len(value) <= CELL_WIDTH * 2 else value[: CELL_WIDTH * 2 - 3] + "..."
