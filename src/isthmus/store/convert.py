"""Rows of the state store as records, and records as row values. Times are UTC throughout."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.engine import Row

from isthmus.store.models import (
    AttemptRecord,
    QuarantineEntry,
    RunRecord,
    RunStatus,
    ScheduleState,
    StreamRecord,
    StreamStatus,
)


def utc(value: dt.datetime) -> dt.datetime:
    """Every time is stored as UTC: SQLite keeps no offset, so none may be needed."""
    return value.astimezone(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes, PostgreSQL ones in the session's zone: UTC both."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def maybe_aware(value: dt.datetime | None) -> dt.datetime | None:
    return aware(value) if value is not None else None


def safe_url(url: str) -> str:
    """A database URL with its credentials hidden."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def stream_values(record: StreamRecord) -> dict[str, Any]:
    return {
        "position": record.position,
        "mapping": record.mapping,
        "stream": record.stream,
        "entity": record.entity,
        "status": record.status.value,
        "records_read": record.records_read,
        "loaded": record.loaded,
        "inserted": record.inserted,
        "updated": record.updated,
        "rejected": record.rejected,
        "skipped": record.skipped,
        "duration_s": record.duration_s,
        "error": record.error,
        "deleted": record.deleted,
        "drift": json.dumps(record.drift, sort_keys=True) if record.drift else None,
    }


def stream_record(row: Row[Any]) -> StreamRecord:
    return StreamRecord(
        position=row.position,
        mapping=row.mapping,
        stream=row.stream,
        entity=row.entity,
        status=StreamStatus(row.status),
        records_read=row.records_read,
        loaded=row.loaded,
        inserted=row.inserted,
        updated=row.updated,
        rejected=row.rejected,
        skipped=row.skipped,
        duration_s=row.duration_s,
        error=row.error,
        deleted=row.deleted,
        drift=json.loads(row.drift) if row.drift else None,
    )


def attempt_record(row: Row[Any]) -> AttemptRecord:
    return AttemptRecord(
        attempt=row.attempt,
        scope=row.scope,
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
        error=row.error,
        error_class=row.error_class,
        wait_s=row.wait_s,
    )


def run_record(
    row: Row[Any], streams: tuple[StreamRecord, ...], attempts: tuple[AttemptRecord, ...] = ()
) -> RunRecord:
    return RunRecord(
        id=row.id,
        integration=row.integration,
        tenant=row.tenant,
        template=row.template,
        template_version=row.template_version,
        config_hash=row.config_hash,
        trigger=row.trigger,
        status=RunStatus(row.status),
        committed=bool(row.committed),
        owner=row.owner,
        started_at=aware(row.started_at),
        finished_at=maybe_aware(row.finished_at),
        duration_s=row.duration_s,
        error=row.error,
        error_class=row.error_class,
        hint=row.hint,
        streams=streams,
        note=row.note,
        cancel_requested=bool(row.cancel_requested),
        attempts=attempts,
    )


def quarantine_values(entry: QuarantineEntry) -> dict[str, Any]:
    return {
        "run_id": entry.run_id,
        "integration": entry.integration,
        "tenant": entry.tenant,
        "mapping": entry.mapping,
        "stream": entry.stream,
        "entity": entry.entity,
        "origin": entry.origin,
        "position": entry.position,
        "record_id": entry.record_id,
        "rule": entry.rule,
        "field": entry.field,
        "value": entry.value,
        "message": entry.message,
        "record": entry.record,
        "created_at": utc(entry.created_at),
        "status": entry.status,
        "resolved_run_id": entry.resolved_run_id,
    }


def quarantine_entry(row: Row[Any]) -> QuarantineEntry:
    return QuarantineEntry(
        id=row.id,
        run_id=row.run_id,
        integration=row.integration,
        tenant=row.tenant,
        mapping=row.mapping,
        stream=row.stream,
        entity=row.entity,
        origin=row.origin,
        position=row.position,
        record_id=row.record_id,
        rule=row.rule,
        field=row.field,
        value=row.value,
        message=row.message,
        record=row.record,
        created_at=aware(row.created_at),
        status=row.status,
        resolved_run_id=row.resolved_run_id,
    )


def schedule_state(row: Row[Any]) -> ScheduleState:
    return ScheduleState(
        integration=row.integration,
        paused=bool(row.paused),
        paused_reason=row.paused_reason,
        paused_at=maybe_aware(row.paused_at),
        next_run_at=maybe_aware(row.next_run_at),
        last_run_id=row.last_run_id,
        consecutive_failures=row.consecutive_failures,
    )
