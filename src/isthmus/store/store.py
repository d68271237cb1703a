"""The state store: runs, stream counts, quarantine, checkpoints and leases.

Every method is one short transaction, so the scheduler, the web app and runs can share one
SQLite file (WAL mode, a busy timeout). The store never reads the clock: callers pass times in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, and_, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import SQLAlchemyError

from isthmus.store.errors import LeaseHeldError, LeaseLostError, StoreUnavailableError
from isthmus.store.models import (
    QuarantineEntry,
    ReasonGroup,
    RunRecord,
    RunStatus,
    StreamRecord,
    StreamStatus,
    checkpoints,
    leases,
    quarantine,
    runs,
    stream_runs,
)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StateStore:
    """Access to the state store at ``url``; :meth:`open` migrates it to the latest schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> StateStore:
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            store = cls(engine)
            store.migrate()
        except ImportError as exc:
            raise StoreUnavailableError(
                f"cannot open the state store at {_safe_url(url)}: its database driver "
                f"({exc.name}) is not installed",
                hint="install the driver (for PostgreSQL: pip install 'isthmus[postgres]') or "
                "use a sqlite:/// URL",
            ) from exc
        except (SQLAlchemyError, OSError) as exc:
            detail = getattr(exc, "orig", None) or exc
            raise StoreUnavailableError(
                f"cannot open the state store at {_safe_url(url)}: {type(exc).__name__}: "
                f"{str(detail).splitlines()[0]}",
                hint="check state.database in isthmus.yaml and that the database is reachable",
            ) from exc
        return store

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    # --- runs ----------------------------------------------------------------------------

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
                    status=RunStatus.RUNNING.value,
                    committed=False,
                    owner=owner,
                    started_at=_utc(started_at),
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
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=status.value,
                    committed=committed,
                    finished_at=_utc(finished_at),
                    duration_s=duration_s,
                    error=error,
                    error_class=error_class,
                    hint=hint,
                )
            )
            connection.execute(delete(stream_runs).where(stream_runs.c.run_id == run_id))
            if streams:
                connection.execute(
                    insert(stream_runs), [{**_stream_values(s), "run_id": run_id} for s in streams]
                )

    def get_run(self, run_id: int) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                return None
            return _run_record(row, self._streams(connection, [run_id]).get(run_id, ()))

    def list_runs(self, *, integration: str | None = None, limit: int = 20) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if integration is not None:
            query = query.where(runs.c.integration == integration)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            streams = self._streams(connection, [r.id for r in rows])
            return [_run_record(r, streams.get(r.id, ())) for r in rows]

    @staticmethod
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
            grouped.setdefault(row.run_id, []).append(
                StreamRecord(
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
                )
            )
        return {run_id: tuple(records) for run_id, records in grouped.items()}

    # --- quarantine ----------------------------------------------------------------------

    def add_quarantine(self, entries: Iterable[QuarantineEntry]) -> int:
        values = [_quarantine_values(e) for e in entries]
        if values:
            with self.engine.begin() as connection:
                connection.execute(insert(quarantine), values)
        return len(values)

    def quarantine_groups(self, run_id: int, *, examples: int = 3) -> list[ReasonGroup]:
        """The run's rejections grouped by rule and field, largest group first."""
        with self.engine.connect() as connection:
            counts = connection.execute(
                select(quarantine.c.rule, quarantine.c.field, func.count().label("n"))
                .where(quarantine.c.run_id == run_id)
                .group_by(quarantine.c.rule, quarantine.c.field)
                .order_by(func.count().desc(), quarantine.c.rule, quarantine.c.field)
            ).all()
            groups = []
            for rule, field_name, count in counts:
                field_match = (
                    quarantine.c.field.is_(None)
                    if field_name is None
                    else quarantine.c.field == field_name
                )
                rows = connection.execute(
                    select(quarantine)
                    .where(
                        and_(quarantine.c.run_id == run_id, quarantine.c.rule == rule, field_match)
                    )
                    .order_by(quarantine.c.id)
                    .limit(examples)
                ).all()
                groups.append(
                    ReasonGroup(
                        rule, field_name, int(count), tuple(_quarantine_entry(r) for r in rows)
                    )
                )
            return groups

    def quarantine_entries(self, run_id: int) -> list[QuarantineEntry]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(quarantine).where(quarantine.c.run_id == run_id).order_by(quarantine.c.id)
            ).all()
            return [_quarantine_entry(r) for r in rows]

    # --- checkpoints ---------------------------------------------------------------------

    def checkpoint(self, integration: str, mapping: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            token = connection.execute(
                select(checkpoints.c.token).where(
                    and_(checkpoints.c.integration == integration, checkpoints.c.mapping == mapping)
                )
            ).scalar()
        return None if token is None else dict(json.loads(token))

    def save_checkpoints(
        self, integration: str, tokens: dict[str, dict[str, Any]], *, run_id: int, at: dt.datetime
    ) -> None:
        with self.engine.begin() as connection:
            for mapping, token in tokens.items():
                key = and_(
                    checkpoints.c.integration == integration, checkpoints.c.mapping == mapping
                )
                connection.execute(delete(checkpoints).where(key))
                connection.execute(
                    insert(checkpoints).values(
                        integration=integration,
                        mapping=mapping,
                        token=json.dumps(token, sort_keys=True),
                        run_id=run_id,
                        updated_at=_utc(at),
                    )
                )

    # --- leases --------------------------------------------------------------------------

    def acquire_lease(
        self, integration: str, *, run_id: int, owner: str, now: dt.datetime, ttl: dt.timedelta
    ) -> None:
        """Take the integration's lease, or raise LeaseHeldError naming the holder's run."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(leases).where(
                    and_(leases.c.integration == integration, leases.c.expires_at < _utc(now))
                )
            )
            holder = connection.execute(
                select(leases).where(leases.c.integration == integration)
            ).first()
            if holder is None:
                connection.execute(
                    insert(leases).values(
                        integration=integration,
                        run_id=run_id,
                        owner=owner,
                        acquired_at=_utc(now),
                        expires_at=_utc(now + ttl),
                    )
                )
                return
        until = _aware(holder.expires_at)
        raise LeaseHeldError(
            f"integration {integration!r} is already running: run {holder.run_id} "
            f"(owner {holder.owner}) holds its lease until {until:%H:%M:%S} UTC",
            holder_run_id=int(holder.run_id),
            hint=f"wait for run {holder.run_id} to finish; a lease whose owner died expires "
            "on its own",
        )

    def renew_lease(
        self, integration: str, *, run_id: int, now: dt.datetime, ttl: dt.timedelta
    ) -> None:
        """Extend the lease; raise LeaseLostError if it expired and another run took it."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(leases)
                .where(and_(leases.c.integration == integration, leases.c.run_id == run_id))
                .values(expires_at=_utc(now + ttl))
            )
            if result.rowcount == 1:
                return
            holder = connection.execute(
                select(leases).where(leases.c.integration == integration)
            ).first()
        taken = f"run {holder.run_id} holds it now" if holder else "nobody holds it now"
        raise LeaseLostError(
            f"run {run_id} lost its lease on integration {integration!r} ({taken}); it must "
            "not commit",
            hint="the run was slower than its lease; it is rolled back and can be run again",
        )

    def release_lease(self, integration: str, *, run_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(leases).where(
                    and_(leases.c.integration == integration, leases.c.run_id == run_id)
                )
            )


def _utc(value: dt.datetime) -> dt.datetime:
    """Every time is stored as UTC: SQLite keeps no offset, so one must not be needed."""
    return value.astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes, PostgreSQL ones in the session's zone: UTC both."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def _stream_values(record: StreamRecord) -> dict[str, Any]:
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
    }


def _run_record(row: Row[Any], streams: tuple[StreamRecord, ...]) -> RunRecord:
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
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at) if row.finished_at else None,
        duration_s=row.duration_s,
        error=row.error,
        error_class=row.error_class,
        hint=row.hint,
        streams=streams,
    )


def _quarantine_values(entry: QuarantineEntry) -> dict[str, Any]:
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
        "created_at": _utc(entry.created_at),
    }


def _quarantine_entry(row: Row[Any]) -> QuarantineEntry:
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
        created_at=_aware(row.created_at),
    )
