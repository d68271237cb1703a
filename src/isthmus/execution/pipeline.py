"""Run one stream: extract → map → validate → load, one bounded batch at a time.

Each batch is mapped and validated as whole columns; good rows go to the destination inside
the stream's transaction, rejected rows to the quarantine with their reason. When the stream
ends, the destination finishes it (replace swap, delete propagation) and stores the
checkpoint in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from isthmus.connectors.base import (
    Checkpoint,
    DeletePolicy,
    MalformedRecord,
    Source,
    SourceBatch,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
)
from isthmus.execution.clock import Clock
from isthmus.execution.drift import DriftTracker
from isthmus.execution.failpoints import failpoint
from isthmus.execution.models import RunObserver, StreamCounts
from isthmus.execution.prefetch import Prefetched
from isthmus.execution.profile import Profile
from isthmus.execution.writes import prepare, table_rows
from isthmus.store import QuarantineEntry, StateStore
from isthmus.validation.models import CompiledMapping
from isthmus.validation.rows import CHECK, RECORD_ID, ROW, VALUE, RowPlan, reject_missing_references

# Mapped batches that may wait for the load: enough to keep both cores busy, few enough
# that memory stays a small multiple of one batch.
PREFETCH_DEPTH = 2


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
    check: Callable[[], None]  # raises when the run must stop (cancel, timeout, lease)
    profile: Profile
    drift_policy: str = "warn"


@dataclass(frozen=True)
class StreamPlan:
    """How this run writes one stream; a replay or a --full run differs from the template."""

    mapping: CompiledMapping
    mode: WriteMode
    deletes: str  # none | soft | hard
    save_checkpoint: bool = True
    check_threshold: bool = True  # a replay's records were all rejected once: no threshold


@dataclass
class StreamResult:
    counts: StreamCounts
    checkpoint: Checkpoint | None


def run_stream(
    plan: StreamPlan,
    source: Source,
    request: StreamRequest,
    transaction: Transaction,
    context: StreamContext,
) -> StreamResult:
    mapping = plan.mapping
    rows = RowPlan(mapping)
    result = StreamResult(StreamCounts(), None)
    drift = DriftTracker(mapping.stream_name, mapping.source_fields, context.drift_policy)
    propagate = plan.deletes != "none"
    context.observer.stream_started(mapping.name, source.size_hint(request))
    batches = Prefetched(
        source.read(request),
        lambda batch: _mapped(batch, rows),
        depth=PREFETCH_DEPTH,
        profile=context.profile,
    )
    for batch, (text, frame) in batches:
        context.check()
        failpoint("batch-read")
        drift.observe(batch.observed_fields)
        unidentified = _process(batch, text, frame, rows, plan, transaction, context, result)
        if propagate and unidentified:
            propagate = False
            result.counts.notes.append(
                f"stream {mapping.stream_name}: deletes were not propagated, because "
                f"{unidentified} records had no key to tell them apart"
            )
        if batch.checkpoint is not None:
            result.checkpoint = batch.checkpoint
        context.observer.batch_done(mapping.name, batch.bytes_read, result.counts)
        failpoint("batch-written")
    _finish(plan, transaction, context, result, propagate)
    result.counts.drift = drift.finish()
    return result


def _mapped(batch: SourceBatch, rows: RowPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The batch as text, and mapped and checked (done ahead, in the prefetch thread)."""
    text = pl.from_arrow(batch.records)
    assert isinstance(text, pl.DataFrame)
    return text, rows.evaluate(text)


def _finish(
    plan: StreamPlan,
    transaction: Transaction,
    context: StreamContext,
    result: StreamResult,
    propagate: bool,
) -> None:
    mapping = plan.mapping
    deletes = (
        DeletePolicy(plan.deletes, mapping.mapping.deleted_field, context.clock.now())
        if propagate
        else None
    )
    with context.profile.stage("load"):
        finished = transaction.finish(mapping.table, plan.mode, context.tenant, deletes)
    result.counts.deleted += finished.deleted
    if plan.mode is WriteMode.REPLACE:
        result.counts.inserted = finished.inserted
        result.counts.updated = result.counts.loaded - finished.inserted
    if plan.save_checkpoint and result.checkpoint is not None:
        transaction.save_checkpoint(
            context.integration, mapping.name, result.checkpoint, context.run_id
        )


def _process(
    batch: SourceBatch,
    text: pl.DataFrame,
    frame: pl.DataFrame,
    plan_rows: RowPlan,
    plan: StreamPlan,
    transaction: Transaction,
    context: StreamContext,
    result: StreamResult,
) -> int:
    """Check references and write one mapped batch; the number of records it could not
    identify."""
    profile = context.profile
    with profile.stage("check references"):
        frame = _check_references(frame, plan_rows, transaction, context)
    good = frame.filter(pl.col(CHECK).is_null())
    rejected = frame.filter(pl.col(CHECK).is_not_null())
    counts = result.counts
    unidentified = len(batch.malformed)
    with profile.stage("load"):
        if plan.deletes != "none":
            unidentified += _mark_seen(frame, plan, transaction, context)
        if good.height:
            rows = table_rows(good, plan.mapping, context.tenant)
            prepared = prepare(rows, plan.mapping, context.tenant, transaction, plan.mode)
            written = transaction.write(
                plan.mapping.table, prepared.rows, plan.mode, context.tenant
            )
            applied = good.height - prepared.skipped
            counts.inserted += written.inserted
            counts.updated += applied - written.inserted
            counts.skipped += prepared.skipped
            counts.loaded += applied
    counts.records_read += text.height + len(batch.malformed)
    counts.rejected += rejected.height + len(batch.malformed)
    with profile.stage("quarantine"):
        entries = _quarantine_entries(rejected, text, batch, plan_rows, context)
        entries += [_malformed_entry(m, plan.mapping, context) for m in batch.malformed]
        for entry in entries:
            counts.add_reason(entry.rule, entry.field, 1)
        context.store.add_quarantine(entries)
    return unidentified


def _mark_seen(
    frame: pl.DataFrame, plan: StreamPlan, transaction: Transaction, context: StreamContext
) -> int:
    """Tell the destination every key this full read met, loaded or rejected; the number
    of rows whose key could not be read (which makes deleting unsafe)."""
    key = plan.mapping.table.row_key
    keys = frame.select(key)
    missing = keys.filter(pl.any_horizontal(pl.all().is_null())).height
    known = keys.drop_nulls().unique()
    transaction.mark_seen(plan.mapping.table, context.tenant, known.to_arrow())
    return missing


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
