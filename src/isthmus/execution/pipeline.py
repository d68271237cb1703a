"""Run one stream: extract → map → validate → load, one bounded batch at a time.

Each batch is mapped and validated as whole columns; good rows go to the destination
inside the run's transaction, rejected rows to the quarantine with their reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from isthmus.connectors.base import (
    Checkpoint,
    MalformedRecord,
    Source,
    SourceBatch,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
)
from isthmus.execution.clock import Clock
from isthmus.execution.models import RunObserver, StreamCounts
from isthmus.store import QuarantineEntry, StateStore
from isthmus.validation.models import CompiledMapping
from isthmus.validation.rows import CHECK, RECORD_ID, ROW, VALUE, RowPlan, reject_missing_references


@dataclass(frozen=True)
class StreamContext:
    """What every batch of a stream needs to know about the run around it."""

    integration: str
    tenant: str
    run_id: int
    tables: dict[str, TableSpec]
    store: StateStore
    clock: Clock
    observer: RunObserver
    on_batch: Callable[[], None]


@dataclass(frozen=True)
class StreamResult:
    counts: StreamCounts
    checkpoint: Checkpoint | None


def run_stream(
    mapping: CompiledMapping,
    source: Source,
    request: StreamRequest,
    transaction: Transaction,
    context: StreamContext,
) -> StreamResult:
    plan = RowPlan(mapping)
    counts = StreamCounts()
    checkpoint: Checkpoint | None = None
    context.observer.stream_started(mapping.name, source.size_hint(request))
    for batch in source.read(request):
        _process(batch, plan, transaction, context, counts)
        if batch.checkpoint is not None:
            checkpoint = batch.checkpoint
        context.observer.batch_done(mapping.name, batch.bytes_read, counts)
        context.on_batch()
    return StreamResult(counts, checkpoint)


def _process(
    batch: SourceBatch,
    plan: RowPlan,
    transaction: Transaction,
    context: StreamContext,
    counts: StreamCounts,
) -> None:
    text = pl.from_arrow(batch.records)
    assert isinstance(text, pl.DataFrame)
    frame = plan.evaluate(text)
    frame = _check_references(frame, plan, transaction, context)
    good = frame.filter(pl.col(CHECK).is_null())
    rejected = frame.filter(pl.col(CHECK).is_not_null())
    mapping = plan.mapping
    if good.height:
        rows = _rows_for_table(good, mapping, context.tenant)
        result = transaction.write(mapping.table, rows, mapping.write_mode, context.tenant)
        counts.inserted += result.inserted
        counts.updated += good.height - result.inserted
    counts.records_read += text.height + len(batch.malformed)
    counts.loaded += good.height
    counts.rejected += rejected.height + len(batch.malformed)
    entries = _quarantine_entries(rejected, text, batch, plan, context)
    entries += [_malformed_entry(m, mapping, context) for m in batch.malformed]
    for entry in entries:
        counts.add_reason(entry.rule, entry.field, 1)
    context.store.add_quarantine(entries)


def _check_references(
    frame: pl.DataFrame, plan: RowPlan, transaction: Transaction, context: StreamContext
) -> pl.DataFrame:
    mapping = plan.mapping
    for reference in mapping.references:
        open_rows = frame.filter(pl.col(CHECK).is_null())
        candidates = open_rows.get_column(reference.field).drop_nulls().unique()
        if candidates.is_empty():
            continue
        table = context.tables[reference.entity]
        found = pl.Series(
            transaction.existing(
                table, reference.target_field, context.tenant, candidates.to_arrow()
            )
        )
        if reference.entity == mapping.entity.entity:
            # A row may reference another row of the same batch.
            found = pl.concat([found, open_rows.get_column(reference.target_field)])
        frame = reject_missing_references(
            frame, reference, found, plan.reference_reasons[reference.field]
        )
    return frame


def _rows_for_table(good: pl.DataFrame, mapping: CompiledMapping, tenant: str) -> pa.Table:
    table = mapping.table
    columns = [
        pl.lit(tenant, pl.String).alias(c.name)
        if c.name == table.tenant_key
        else pl.col(c.name).cast(c.type.to_polars()).alias(c.name)
        for c in table.columns
    ]
    rows = good.select(columns)
    if mapping.write_mode is not WriteMode.APPEND:
        # The last record of a key in the batch wins, as it would row by row.
        rows = rows.unique(subset=list(table.primary_key), keep="last", maintain_order=True)
    return rows.to_arrow()


def _quarantine_entries(
    rejected: pl.DataFrame,
    text: pl.DataFrame,
    batch: SourceBatch,
    plan: RowPlan,
    context: StreamContext,
) -> list[QuarantineEntry]:
    if rejected.is_empty():
        return []
    indices = rejected.get_column(ROW)
    records = text[indices].select(pl.struct(pl.all()).struct.json_encode().alias("record"))
    positions = pl.Series(batch.positions).gather(indices)
    now = context.clock.now()
    mapping = plan.mapping
    entries = []
    for (check, value, record_id), record, position in zip(
        rejected.select(CHECK, VALUE, RECORD_ID).iter_rows(),
        records.get_column("record"),
        positions,
        strict=True,
    ):
        reason = plan.reasons[check]
        entries.append(
            QuarantineEntry(
                run_id=context.run_id,
                integration=context.integration,
                tenant=context.tenant,
                mapping=mapping.name,
                stream=mapping.stream_name,
                entity=mapping.entity.entity,
                origin=batch.origin,
                position=int(position),
                record_id=record_id,
                rule=reason.rule,
                field=reason.field,
                value=value,
                message=reason.message,
                record=record,
                created_at=now,
            )
        )
    return entries


def _malformed_entry(
    record: MalformedRecord, mapping: CompiledMapping, context: StreamContext
) -> QuarantineEntry:
    return QuarantineEntry(
        run_id=context.run_id,
        integration=context.integration,
        tenant=context.tenant,
        mapping=mapping.name,
        stream=mapping.stream_name,
        entity=mapping.entity.entity,
        origin=record.origin,
        position=record.position,
        record_id=None,
        rule="malformed",
        field=None,
        value=None,
        message=record.reason,
        record=record.raw,
        created_at=context.clock.now(),
    )
