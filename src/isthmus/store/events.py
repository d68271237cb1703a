"""Inbound webhook events in the state store: each stored once, read back in order.

A delivery is one short transaction. Storing an event once rests on the unique index on
(integration, stream, event_id), not on a look before the insert: of two deliveries of one
event racing each other, the second insert fails and finds the first one's row.

A run pages through a stream's events by sequence id and keeps the last id it read as its
checkpoint, so ids must become visible in the order they are handed out, or a run could
read id 11, checkpoint it, and never see id 10 committing a moment later. SQLite writes one
transaction at a time, so its ids commit in order. On PostgreSQL, deliveries to one stream
take a transaction-scoped advisory lock before inserting, so within a stream no id commits
before a smaller one (deliveries to other streams are not held up).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from isthmus.store.convert import aware, utc
from isthmus.store.errors import EventNotStoredError
from isthmus.store.models import EventReceipt, WebhookEvent, webhook_events


class EventsMixin:
    engine: Engine

    def add_event(
        self,
        *,
        tenant: str,
        integration: str,
        stream: str,
        event_id: str,
        body: str,
        received_at: dt.datetime,
    ) -> EventReceipt:
        """Store one delivery; a second delivery of the same event id writes nothing and
        gets the first one's sequence id back, marked as a duplicate. Raises
        EventNotStoredError when the database cannot take the write now."""
        values = {
            "tenant": tenant,
            "integration": integration,
            "stream": stream,
            "event_id": event_id,
            "received_at": utc(received_at),
            "body": body,
            "body_bytes": len(body.encode("utf-8")),
        }
        try:
            with self.engine.begin() as connection:
                _serialize_stream(connection, integration, stream)
                result = connection.execute(insert(webhook_events).values(values))
                key = result.inserted_primary_key
                assert key is not None
                return EventReceipt(int(key[0]), duplicate=False)
        except IntegrityError:
            seq = self._event_seq(integration, stream, event_id)
            if seq is None:  # not the unique index: some other constraint failed
                raise
            return EventReceipt(seq, duplicate=True)
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            raise EventNotStoredError(
                f"event {event_id!r} of integration {integration!r} stream {stream!r} was not "
                f"stored: {type(exc).__name__}: {str(detail).splitlines()[0]}",
                hint="the state store is busy or unreachable; the sender should deliver again",
            ) from exc

    def events_after(
        self, integration: str, stream: str, after_seq: int, limit: int
    ) -> list[WebhookEvent]:
        """Up to ``limit`` events of a stream with a sequence id above ``after_seq``, in
        sequence order."""
        e = webhook_events.c
        query = (
            select(webhook_events)
            .where(and_(e.integration == integration, e.stream == stream, e.id > after_seq))
            .order_by(e.id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_event(row) for row in connection.execute(query).all()]

    def last_event_seq(self, integration: str, stream: str) -> int:
        """The sequence id of a stream's newest event; 0 when it has none."""
        e = webhook_events.c
        with self.engine.connect() as connection:
            newest = connection.execute(
                select(func.max(e.id)).where(and_(e.integration == integration, e.stream == stream))
            ).scalar()
        return int(newest or 0)

    def purge_events(self, *, older_than: dt.datetime, integration: str | None = None) -> int:
        """Delete events received before ``older_than`` (of one integration, or all); how
        many were deleted. A run's checkpoint is a sequence id, so it stays valid."""
        condition = webhook_events.c.received_at < utc(older_than)
        if integration is not None:
            condition = and_(condition, webhook_events.c.integration == integration)
        with self.engine.begin() as connection:
            return int(connection.execute(delete(webhook_events).where(condition)).rowcount)

    def _event_seq(self, integration: str, stream: str, event_id: str) -> int | None:
        e = webhook_events.c
        with self.engine.connect() as connection:
            seq = connection.execute(
                select(e.id).where(
                    and_(e.integration == integration, e.stream == stream, e.event_id == event_id)
                )
            ).scalar()
        return None if seq is None else int(seq)


def _serialize_stream(connection: Connection, integration: str, stream: str) -> None:
    """On PostgreSQL, hold the stream's advisory lock until this transaction ends."""
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"webhook-events/{integration}/{stream}".encode(), digest_size=8)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    connection.execute(select(func.pg_advisory_xact_lock(key)))


def _event(row: Any) -> WebhookEvent:
    return WebhookEvent(
        seq=row.id,
        tenant=row.tenant,
        integration=row.integration,
        stream=row.stream,
        event_id=row.event_id,
        received_at=aware(row.received_at),
        body=row.body,
        body_bytes=row.body_bytes,
    )
