"""Runs, their streams and their attempts in the state store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import Connection

from isthmus.store.convert import (
    attempt_record,
    run_record,
    stream_record,
    stream_values,
    utc,
)
from isthmus.store.models import (
    AttemptRecord,
    RunRecord,
    RunStatus,
    StreamRecord,
    run_attempts,
    runs,
    stream_runs,
)


class RunsMixin:
    engine: Engine

    def create_run(
        self,
        *,
        integration: str,
        tenant: str,
        template: str,
        template_version: str,
        config_hash: str,
        trigger: str,
        owner: str,
        started_at: dt.datetime,
        status: RunStatus = RunStatus.RUNNING,
        note: str | None = None,
    ) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(runs).values(
                    integration=integration,
                    tenant=tenant,
                    template=template,
                    template_version=template_version,
                    config_hash=config_hash,
                    trigger=trigger,
                    status=status.value,
                    committed=False,
                    owner=owner,
                    started_at=utc(started_at),
                    heartbeat_at=utc(started_at),
                    note=note,
                    cancel_requested=False,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        committed: bool,
        finished_at: dt.datetime,
        duration_s: float,
        streams: Sequence[StreamRecord],
        error: str | None = None,
        error_class: str | None = None,
        hint: str | None = None,
        note: str | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            values = {
                "status": status.value,
                "committed": committed,
                "finished_at": utc(finished_at),
                "duration_s": duration_s,
                "error": error,
                "error_class": error_class,
                "hint": hint,
            }
            if note is not None:
                values["note"] = note
            connection.execute(update(runs).where(runs.c.id == run_id).values(**values))
            connection.execute(delete(stream_runs).where(stream_runs.c.run_id == run_id))
            if streams:
                connection.execute(
                    insert(stream_runs), [{**stream_values(s), "run_id": run_id} for s in streams]
                )

    def record_attempt(self, run_id: int, attempt: AttemptRecord) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(run_attempts).values(
                    run_id=run_id,
                    attempt=attempt.attempt,
                    scope=attempt.scope,
                    started_at=utc(attempt.started_at),
                    finished_at=utc(attempt.finished_at),
                    error=attempt.error,
                    error_class=attempt.error_class,
                    wait_s=attempt.wait_s,
                )
            )

    def heartbeat(self, run_id: int, at: dt.datetime) -> bool:
        """Record that the run is alive; True when someone asked to cancel it."""
        with self.engine.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == run_id).values(heartbeat_at=utc(at)))
            wanted = connection.execute(
                select(runs.c.cancel_requested).where(runs.c.id == run_id)
            ).scalar()
        return bool(wanted)

    def request_cancel(self, run_id: int) -> RunRecord | None:
        """Ask a running run to stop at its next batch boundary; the run as it stands."""
        with self.engine.begin() as connection:
            connection.execute(
                update(runs)
                .where((runs.c.id == run_id) & (runs.c.status == RunStatus.RUNNING.value))
                .values(cancel_requested=True)
            )
        return self.get_run(run_id)

    def abandon_run(self, run_id: int, *, at: dt.datetime, note: str) -> None:
        """Mark a run whose process died while it still said it was running."""
        with self.engine.begin() as connection:
            connection.execute(
                update(runs)
                .where((runs.c.id == run_id) & (runs.c.status == RunStatus.RUNNING.value))
                .values(
                    status=RunStatus.ABANDONED.value,
                    finished_at=utc(at),
                    note=note,
                    error="the process running it stopped without finishing",
                    error_class="internal",
                )
            )

    def note_committed(self, run_id: int, *, streams: list[str]) -> None:
        """An abandoned run whose data the destination shows it committed before it died."""
        with self.engine.begin() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
            if row is None or row.status != RunStatus.ABANDONED.value or row.committed:
                return
            note = (f"{row.note}; " if row.note else "") + (
                f"it committed its data before it stopped (checkpoints of "
                f"{', '.join(sorted(streams))} are from this run)"
            )
            connection.execute(
                update(runs).where(runs.c.id == run_id).values(committed=True, note=note)
            )

    def get_run(self, run_id: int) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                return None
            return run_record(
                row, _streams(connection, [run_id]).get(run_id, ()), _attempts(connection, run_id)
            )

    def list_runs(self, *, integration: str | None = None, limit: int = 20) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if integration is not None:
            query = query.where(runs.c.integration == integration)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            streams = _streams(connection, [r.id for r in rows])
            return [run_record(r, streams.get(r.id, ())) for r in rows]


def _streams(connection: Connection, run_ids: list[int]) -> dict[int, tuple[StreamRecord, ...]]:
    if not run_ids:
        return {}
    rows = connection.execute(
        select(stream_runs)
        .where(stream_runs.c.run_id.in_(run_ids))
        .order_by(stream_runs.c.run_id, stream_runs.c.position)
    ).all()
    grouped: dict[int, list[StreamRecord]] = {}
    for row in rows:
        grouped.setdefault(row.run_id, []).append(stream_record(row))
    return {run_id: tuple(records) for run_id, records in grouped.items()}


def _attempts(connection: Connection, run_id: int) -> tuple[AttemptRecord, ...]:
    rows = connection.execute(
        select(run_attempts).where(run_attempts.c.run_id == run_id).order_by(run_attempts.c.id)
    ).all()
    return tuple(attempt_record(r) for r in rows)
