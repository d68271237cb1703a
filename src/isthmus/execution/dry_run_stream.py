"""Sample one stream: read up to N records from the real source, map and check them as a run
would, count what it would load, reject and skip, and write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace

import polars as pl

from isthmus.connectors.base import PendingBatch, SourceBatch, TableSpec, resolved
from isthmus.connectors.sampling_core import ReadOnlyCore
from isthmus.execution.dry_run_checks import CursorSkips, WouldLoad, check_references
from isthmus.execution.dry_run_models import ReasonSample
from isthmus.execution.writes import table_rows
from isthmus.observability.masking import mask_value
from isthmus.validation.models import CompiledMapping
from isthmus.validation.rows import CHECK, RECORD_ID, ROW, VALUE, RowPlan


@dataclass(frozen=True)
class SampleContext:
    """What every batch of a sampled stream needs."""

    tenant: str
    tables: dict[str, TableSpec]
    core: ReadOnlyCore | None
    loaded: WouldLoad
    referenced: set[str]  # fields of this stream's entity that later streams reference
    started: dt.datetime  # the dry run's start: what now_utc() gives, as in a run
    rows_shown: int


@dataclass
class Tally:
    """Running totals of a sampled stream: read = loaded + rejected + skipped."""

    read: int = 0
    loaded: int = 0
    rejected: int = 0
    skipped: int = 0
    more: bool = False
    reasons: dict[tuple[str, str | None], ReasonSample] = field(default_factory=dict)
    rows: list[dict[str, str | None]] = field(default_factory=list)

    def reason(self, sample: ReasonSample) -> None:
        key = (sample.rule, sample.field)
        known = self.reasons.get(key)
        self.reasons[key] = (
            sample if known is None else replace(known, count=known.count + sample.count)
        )


def sample_batches(
    items: Iterator[SourceBatch | PendingBatch],
    mapping: CompiledMapping,
    context: SampleContext,
    limit: int,
) -> Tally:
    """Read batches until ``limit`` records; the source's read is closed at the end."""
    tally = Tally()
    plan = RowPlan(mapping)
    skips = CursorSkips(mapping, context.core, context.tenant)
    masked = _masked_fields(mapping)
    try:
        for item in items:
            batch = resolved(item)
            size = batch.records.num_rows + len(batch.malformed)
            if tally.read >= limit:
                if size:  # an empty batch may close a read: nothing more there
                    tally.more = True
                    break
                continue
            cut = size > limit - tally.read
            if cut:
                batch = first_records(batch, limit - tally.read)
            _sample_batch(batch, plan, skips, context, masked, tally)
            if cut:
                tally.more = True
                break
    finally:
        if isinstance(items, Generator):
            items.close()  # a file's read closes its file, an API's read stops paging
    return tally


def _sample_batch(
    batch: SourceBatch,
    plan: RowPlan,
    skips: CursorSkips,
    context: SampleContext,
    masked: frozenset[str],
    tally: Tally,
) -> None:
    mapping = plan.mapping
    text = pl.from_arrow(batch.records)
    assert isinstance(text, pl.DataFrame)
    frame = evaluate(plan, text, context.started)
    if mapping.references and context.core is not None:
        frame = check_references(
            frame, plan, context.core, context.tables, context.tenant, context.loaded
        )
    good = table_rows(frame.filter(pl.col(CHECK).is_null()), mapping, context.tenant)
    applied = skips.applied(good)
    context.loaded.add(mapping.entity.entity, applied, context.referenced)
    rejected = frame.filter(pl.col(CHECK).is_not_null())
    tally.read += text.height + len(batch.malformed)
    tally.loaded += applied.height
    tally.skipped += good.height - applied.height
    tally.rejected += rejected.height + len(batch.malformed)
    _reasons(rejected, batch, plan, masked, tally)
    for record in batch.malformed:
        at = f"{record.origin}:{record.position}"
        tally.reason(ReasonSample("malformed", None, 1, record.reason, None, at, None))
    wanted = context.rows_shown - len(tally.rows)
    if wanted > 0:
        tally.rows.extend(_shown_rows(good.head(wanted), mapping))


def evaluate(plan: RowPlan, text: pl.DataFrame, started: dt.datetime) -> pl.DataFrame:
    """The batch mapped and checked, as a run started at ``started`` maps it."""
    return plan.evaluate(text, now=started)


def first_records(batch: SourceBatch, keep: int) -> SourceBatch:
    """The first ``keep`` records of a batch, good and malformed ones in source order
    (positions grow within a batch, so the good ones kept are a prefix)."""
    positions = pl.Series(batch.positions, dtype=pl.Int64)
    order = pl.concat([positions, pl.Series([m.position for m in batch.malformed], dtype=pl.Int64)])
    last = order.sort().item(keep - 1) if keep > 0 else -1
    kept = int((positions <= last).sum())
    return replace(
        batch,
        records=batch.records.slice(0, kept),
        positions=batch.positions.slice(0, kept),
        malformed=tuple(m for m in batch.malformed if m.position <= last),
    )


def _reasons(
    rejected: pl.DataFrame,
    batch: SourceBatch,
    plan: RowPlan,
    masked: frozenset[str],
    tally: Tally,
) -> None:
    if rejected.is_empty():
        return
    groups = rejected.group_by(CHECK, maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col(VALUE).first(),
        pl.col(ROW).first(),
        pl.col(RECORD_ID).first(),
    )
    positions = pl.Series(batch.positions, dtype=pl.Int64)
    for check, count, value, row, record_id in groups.iter_rows():
        reason = plan.reasons[check]
        shown = mask_value(value) if reason.field in masked else value
        at = f"{batch.origin}:{positions[row]}"
        tally.reason(
            ReasonSample(reason.rule, reason.field, count, reason.message, shown, at, record_id)
        )


def _masked_fields(mapping: CompiledMapping) -> frozenset[str]:
    """Core fields marked ``pii`` and the source fields that feed them."""
    core = {name for name, spec in mapping.entity.fields.items() if spec.pii}
    return frozenset(core) | mapping.pii_source_fields


def _shown_rows(rows: pl.DataFrame, mapping: CompiledMapping) -> list[dict[str, str | None]]:
    masked = _masked_fields(mapping)
    text = rows.select(pl.all().cast(pl.String))
    return [
        {name: mask_value(value) if name in masked else value for name, value in row.items()}
        for row in text.iter_rows(named=True)
    ]
