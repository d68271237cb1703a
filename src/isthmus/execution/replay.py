"""Replay a run's quarantined records through the current configuration.

After a mapping or a core-model fix, the records a run rejected are processed again, straight
from the quarantine: the source is not read. A record leaves the quarantine only when it
loads (its entry becomes ``resolved``); one rejected again is ``superseded`` by the replay's
own, open entry with the new reason. A record that was not even a record (malformed text)
cannot be fixed by configuration and is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import polars as pl
import pyarrow as pa

from isthmus.config.project import Project
from isthmus.connectors.base import SourceBatch, StreamRequest, WriteMode
from isthmus.connectors.jsonlines import parse_jsonl_block
from isthmus.errors import NotFoundError
from isthmus.execution.models import RunReport
from isthmus.execution.pipeline import StreamPlan
from isthmus.execution.preparation import RunSettings, database_urls, validated
from isthmus.execution.runner import execute
from isthmus.store import QuarantineEntry, QuarantineFilter, QuarantineStatus, StateStore


@dataclass(frozen=True)
class ReplayOutcome:
    report: RunReport
    replayed: int
    resolved: int
    rejected_again: int
    left_malformed: int


class QuarantineSource:
    """Serves quarantined records (stored as JSON) as batches, one origin at a time."""

    def __init__(self, entries: Sequence[QuarantineEntry]) -> None:
        self.entries = entries

    def size_hint(self, request: StreamRequest) -> int | None:
        return None

    def read(self, request: StreamRequest) -> Iterator[SourceBatch]:
        dtype = pl.Struct({n: t.to_text_polars() for n, t in request.fields.items()})
        by_origin: dict[str, list[QuarantineEntry]] = {}
        for entry in self.entries:
            by_origin.setdefault(entry.origin, []).append(entry)
        for origin, entries in by_origin.items():
            for start in range(0, len(entries), request.batch_size):
                chunk = entries[start : start + request.batch_size]
                lines = [e.record.encode() + b"\n" for e in chunk]
                frame, rows, malformed = parse_jsonl_block(lines, 0, origin, dtype)
                positions = [chunk[i].position for i in rows]
                yield SourceBatch(
                    records=frame.to_arrow(),
                    positions=pa.array(positions, pa.int64()),
                    origin=origin,
                    checkpoint=None,
                    malformed=tuple(
                        replace(m, position=chunk[m.position].position) for m in malformed
                    ),
                )

    def close(self) -> None:
        return None


def replay_run(project: Project, run_id: int, settings: RunSettings | None = None) -> ReplayOutcome:
    """Process run ``run_id``'s open quarantined records again, without reading the source."""
    settings = settings or RunSettings()
    store = StateStore.open(database_urls(project).state)
    try:
        original = store.get_run(run_id)
        if original is None:
            raise NotFoundError(
                f"no run {run_id} in the state store", hint="`isthmus runs` lists recent runs"
            )
        entries = store.find_quarantine(QuarantineFilter(run_id=run_id))
    finally:
        store.close()
    if not entries:
        raise NotFoundError(
            f"run {run_id} has no open quarantined records to replay",
            hint=f"`isthmus quarantine list --run {run_id} --status all` shows what became of them",
        )
    compiled = validated(project, original.integration)
    replayable = [e for e in entries if e.rule != "malformed"]
    groups = {m.name: [e for e in replayable if e.mapping == m.name] for m in compiled.mappings}
    plans = [
        StreamPlan(
            m,
            WriteMode.UPSERT if m.write_mode is WriteMode.REPLACE else m.write_mode,
            "none",
            save_checkpoint=False,
            check_threshold=False,
        )
        for m in compiled.mappings
        if groups[m.name]
    ]
    sources = {name: QuarantineSource(group) for name, group in groups.items() if group}
    replay_settings = replace(settings, trigger="replay")
    report = execute(
        project,
        compiled,
        plans,
        replay_settings,
        sources=sources,
        note=f"replay of {len(replayable)} records quarantined by run {run_id}",
        writeback=False,
    )
    resolved, again = _close(project, report, replayable)
    return ReplayOutcome(report, len(replayable), resolved, again, len(entries) - len(replayable))


def _close(project: Project, report: RunReport, entries: list[QuarantineEntry]) -> tuple[int, int]:
    """Mark what the replay loaded as resolved and what it rejected again as superseded."""
    if not report.committed:
        return 0, 0
    store = StateStore.open(database_urls(project).state)
    try:
        again = {
            (e.mapping, e.origin, e.position)
            for e in store.find_quarantine(QuarantineFilter(run_id=report.run_id, status=None))
        }
        resolved = [
            e.id
            for e in entries
            if e.id is not None and (e.mapping, e.origin, e.position) not in again
        ]
        superseded = [
            e.id for e in entries if e.id is not None and (e.mapping, e.origin, e.position) in again
        ]
        store.close_quarantine(resolved, status=QuarantineStatus.RESOLVED, run_id=report.run_id)
        store.close_quarantine(superseded, status=QuarantineStatus.SUPERSEDED, run_id=report.run_id)
        return len(resolved), len(superseded)
    finally:
        store.close()
