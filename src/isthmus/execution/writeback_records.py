"""The records a write-back leaves in the state store: a quarantine entry for each row it
could not map or the far side refused, and a delivery record for each row it sent."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import TYPE_CHECKING, Any

import polars as pl

from isthmus.connectors.writeback import Delivery, Outgoing
from isthmus.store import QuarantineEntry
from isthmus.store.deliveries import DeliveryRecord
from isthmus.validation.rows import CHECK, VALUE
from isthmus.validation.writeback import CompiledWriteBack

if TYPE_CHECKING:
    from isthmus.execution.writeback import WriteBackContext

REFUSED = "refused"  # the quarantine rule of a record the far side would not take


def mapping_failures(
    target: CompiledWriteBack,
    rows: pl.DataFrame,
    mapped: pl.DataFrame,
    context: WriteBackContext,
    position: int,
) -> list[QuarantineEntry]:
    calls = target.failed_calls()
    failed = mapped.with_row_index("__row").filter(pl.col(CHECK).is_not_null())
    entries = []
    for row, check, value in failed.select("__row", CHECK, VALUE).iter_rows():
        call = calls[check]
        entries.append(
            quarantine_entry(
                target, rows, row, context, position, call.function, call.field, value, call.message
            )
        )
    return entries


def refused_entry(
    target: CompiledWriteBack,
    rows: pl.DataFrame,
    row: int,
    delivery: Delivery,
    context: WriteBackContext,
    position: int,
) -> QuarantineEntry:
    status = str(delivery.status) if delivery.status is not None else None
    message = f"the external system refused the record (HTTP {status})"
    if delivery.detail:
        message += f": {delivery.detail}"
    return quarantine_entry(target, rows, row, context, position, REFUSED, None, status, message)


def quarantine_entry(
    target: CompiledWriteBack,
    rows: pl.DataFrame,
    row: int,
    context: WriteBackContext,
    position: int,
    rule: str,
    field: str | None,
    value: str | None,
    message: str,
) -> QuarantineEntry:
    record = rows.row(row, named=True)
    return QuarantineEntry(
        run_id=context.run_id,
        integration=context.integration,
        tenant=context.tenant,
        mapping=target.name,
        stream=target.stream_name,
        entity=target.entity.entity,
        origin=f"core table {target.table.name}",
        position=position + row + 1,
        record_id="/".join(str(record[k]) for k in target.key),
        rule=rule,
        field=field,
        value=value,
        message=message,
        record=json.dumps(record, default=jsonable, ensure_ascii=False),
        created_at=context.clock.now(),
    )


def delivery_record(
    target: CompiledWriteBack,
    context: WriteBackContext,
    sent: Outgoing,
    key: str,
    delivery: Delivery,
) -> DeliveryRecord:
    return DeliveryRecord(
        run_id=context.run_id,
        integration=context.integration,
        target=target.name,
        record_key=key,
        idempotency_key=sent.idempotency_key,
        method=target.target.method,
        path=sent.path,
        delivered=delivery.delivered,
        status=delivery.status,
        remote_id=delivery.remote_id,
        detail=delivery.detail,
        at=context.clock.now(),
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):  # its exact digits, as the body sends them
        return str(value)
    return value
