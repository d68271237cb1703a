"""What became of each record a write-back sent: delivered or refused, with the far side's
status and id. A write-back has no transaction, so this log is how anyone can tell, record by
record, what the external system received and under which idempotency key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)

from isthmus.store.convert import aware, utc
from isthmus.store.models import metadata

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("integration", String(63), nullable=False),
    Column("target", String(63), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("delivered", Boolean, nullable=False),
    Column("status", Integer),
    Column("remote_id", Text),
    Column("detail", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_deliveries_run", "run_id", "target"),
)


@dataclass(frozen=True)
class DeliveryRecord:
    run_id: int
    integration: str
    target: str
    record_key: str
    idempotency_key: str
    method: str
    path: str
    delivered: bool
    status: int | None
    remote_id: str | None
    detail: str | None
    at: dt.datetime


class DeliveriesMixin:
    engine: Engine

    def add_deliveries(self, records: Iterable[DeliveryRecord]) -> int:
        values = [
            {
                "run_id": r.run_id,
                "integration": r.integration,
                "target": r.target,
                "record_key": r.record_key,
                "idempotency_key": r.idempotency_key,
                "method": r.method,
                "path": r.path,
                "delivered": r.delivered,
                "status": r.status,
                "remote_id": r.remote_id,
                "detail": r.detail,
                "at": utc(r.at),
            }
            for r in records
        ]
        if values:
            with self.engine.begin() as connection:
                connection.execute(insert(deliveries), values)
        return len(values)

    def deliveries_of(self, run_id: int) -> list[DeliveryRecord]:
        d = deliveries.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(deliveries).where(d.run_id == run_id).order_by(d.id)
            ).all()
        return [
            DeliveryRecord(
                run_id=row.run_id,
                integration=row.integration,
                target=row.target,
                record_key=row.record_key,
                idempotency_key=row.idempotency_key,
                method=row.method,
                path=row.path,
                delivered=row.delivered,
                status=row.status,
                remote_id=row.remote_id,
                detail=row.detail,
                at=aware(row.at),
            )
            for row in rows
        ]
