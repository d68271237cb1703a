"""Run one stream: extract → map → validate → load, one bounded batch at a time.

Each batch is mapped and validated as whole columns; good rows go to the destination inside
the stream's transaction, rejected rows to the quarantine with their reason. When the stream
ends, the destination finishes it (replace swap, delete propagation) and stores the
checkpoint in the same transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from isthmus.connectors.base import (
    Checkpoint,
    DeletePolicy,
    MalformedRecord,
    PendingBatch,
    Source,
    SourceBatch,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
    resolved,
)
from isthmus.execution.clock import Clock
from isthmus.execution.drift import DriftTracker
from isthmus.execution.failpoints import failpoint
from isthmus.execution.models import RunObserver, StreamCounts
from isthmus.execution.prefetch import Prefetched
from isthmus.execution.profile import Profile
from isthmus.execution.quarantine_writer import QuarantineWriter
from isthmus.execution.writes import PreparedRows, prepare, prepare_ahead, table_rows
from isthmus.store import QuarantineEntry, StateStore
from isthmus.validation.models import CompiledMapping, Reference
from isthmus.validation.rows import CHECK, RECORD_ID, ROW, VALUE, RowPlan, check_references

# Batches read ahead of the load: enough to keep the mapping busy, few enough that memory
# stays a small multiple of one batch.
PREFETCH_DEPTH = 2
# Threads that parse and map batches. Polars already spreads one batch over every core, so on
# two cores a second mapping thread gains little and doubles the memory of batches in work;
# with more cores it keeps the loader fed.
MAPPING_THREADS = 2 if (os.cpu_count() or 1) > 2 else 1


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
    started_at: datetime  # the run's start time, which now_utc() gives
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


@dataclass(frozen=True)
class CheckedBatch:
    """A batch split into the rows to load and the entries to quarantine."""

    good: int
    # The good rows as written, when that did not need the destination; else all of them
    # with every column of the core table, for the loader to prepare.
    rows: PreparedRows | pl.DataFrame
    rejected: int
    entries: list[QuarantineEntry]


@dataclass(frozen=True)
class MappedBatch:
    """What the loader needs of a mapped batch. Once split, a batch holds no more than that
    while it waits for the load: the records and the mapped frame go as soon as they are
    used."""

    batch: SourceBatch  # without its records once they are checked
    records: int
    checked: CheckedBatch | None  # None while reference checks (in the destination) remain
    frame: pl.DataFrame | None  # for reference checks, or the keys, for delete propagation
    text: pl.DataFrame | None  # for reference checks: the records as read


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
        lambda item: _evaluated(item, rows, context.started_at),
        lambda mapped: _split(mapped, rows, plan, transaction, context),
        depth=PREFETCH_DEPTH,
        workers=MAPPING_THREADS,
        profile=context.profile,
    )
    with QuarantineWriter(context.store, context.profile) as quarantine:
        for mapped in batches:
            batch = mapped.batch
            context.check()
            failpoint("batch-read")
            drift.observe(batch.observed_fields)
            unidentified = _process(
                batch, mapped, rows, plan, transaction, context, result, quarantine
            )
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
            del mapped, batch  # written: not to be held while the next batch comes
    _finish(plan, transaction, context, result, propagate)
    result.counts.drift = drift.finish()
    return result


def _evaluated(item: SourceBatch | PendingBatch, rows: RowPlan, now: datetime) -> MappedBatch:
    """The batch parsed, mapped and checked, the heavy part: always done ahead, on a
    prefetch thread."""
    batch = resolved(item)
    text = pl.from_arrow(batch.records)
    assert isinstance(text, pl.DataFrame)
    frame = rows.evaluate(text, now=now)
    return MappedBatch(batch, text.height, None, frame, text)


def _split(
    mapped: MappedBatch,
    rows: RowPlan,
    plan: StreamPlan,
    transaction: Transaction,
    context: StreamContext,
) -> MappedBatch:
    """The evaluated batch split into rows to load and entries to quarantine, the good rows
    prepared: on the prefetch thread, or on the loader's if it is idle waiting for the
    batch. References are checked later, in the destination, on the loader's thread."""
    if rows.mapping.references:
        return mapped
    assert mapped.frame is not None
    assert mapped.text is not None
    batch, frame = mapped.batch, mapped.frame
    checked = _checked(batch, mapped.text, frame, rows, plan, transaction, context)
    keys = frame.select(plan.mapping.table.row_key) if plan.deletes != "none" else None
    return MappedBatch(_without_records(batch), mapped.records, checked, keys, None)


def _without_records(batch: SourceBatch) -> SourceBatch:
    return replace(batch, records=batch.records.slice(0, 0), positions=batch.positions[:0])


def _checked(
    batch: SourceBatch,
    text: pl.DataFrame,
    frame: pl.DataFrame,
    rows: RowPlan,
    plan: StreamPlan,
    transaction: Transaction,
    context: StreamContext,
) -> CheckedBatch:
    good = table_rows(frame.filter(pl.col(CHECK).is_null()), plan.mapping, context.tenant)
    rejected = frame.filter(pl.col(CHECK).is_not_null())
    entries = _quarantine_entries(rejected, text, batch, rows, context)
    entries += [_malformed_entry(m, plan.mapping, context) for m in batch.malformed]
    prepared = prepare_ahead(good, plan.mapping, plan.mode)
    if prepared is None:
        return CheckedBatch(good.height, good, rejected.height, entries)
    encoded = transaction.encode(plan.mapping.table, prepared.rows)
    return CheckedBatch(
        good.height, PreparedRows(encoded, prepared.skipped), rejected.height, entries
    )


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
    mapped: MappedBatch,
    plan_rows: RowPlan,
    plan: StreamPlan,
    transaction: Transaction,
    context: StreamContext,
    result: StreamResult,
    quarantine: QuarantineWriter,
) -> int:
    """Write one mapped batch (checking its references first, if it has any) and hand its
    rejected records to the quarantine; the number of records it could not identify."""
    profile = context.profile
    checked = mapped.checked
    if checked is None:
        assert mapped.frame is not None
        assert mapped.text is not None
        with profile.stage("check references"):
            frame = _check_references(mapped.frame, plan_rows, transaction, context)
            checked = _checked(batch, mapped.text, frame, plan_rows, plan, transaction, context)
    counts = result.counts
    unidentified = len(batch.malformed)
    with profile.stage("load"):
        if plan.deletes != "none":
            assert mapped.frame is not None
            unidentified += _mark_seen(mapped.frame, plan, transaction, context)
        if checked.good:
            prepared = (
                checked.rows
                if isinstance(checked.rows, PreparedRows)
                else prepare(checked.rows, plan.mapping, context.tenant, transaction, plan.mode)
            )
            written = transaction.write(
                plan.mapping.table, prepared.rows, plan.mode, context.tenant
            )
            applied = checked.good - prepared.skipped
            counts.inserted += written.inserted
            counts.updated += applied - written.inserted
            counts.skipped += prepared.skipped
            counts.loaded += applied
    counts.records_read += mapped.records + len(batch.malformed)
    counts.rejected += checked.rejected + len(batch.malformed)
    for entry in checked.entries:
        counts.add_reason(entry.rule, entry.field, 1)
    quarantine.add(checked.entries)
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
    def existing(reference: Reference, candidates: pl.Series) -> pl.Series:
        table = context.tables[reference.entity]
        return pl.Series(
            transaction.existing(
                table, reference.target_field, context.tenant, candidates.to_arrow()
            )
        )

    return check_references(frame, plan, existing)


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
