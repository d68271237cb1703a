"""Send a write-back target: read the tenant's core rows, map them, deliver each one.

The external system has no transaction to join, so the promise is at least once: the
checkpoint (the cursor and key of the last row of a finished batch) is saved after each
batch, a failed run sends that batch again, and every record carries an idempotency key
made from its key and content, so the far side recognises a record it already has. A
record the far side refuses is quarantined with the HTTP status and an excerpt of the
answer; a mapping call that fails on a row quarantines it before anything is sent.

A sink that makes a target appear at once (a :class:`FinishingSink`: a file renamed into
place) delivers nothing until ``finish()``: its try's counts, deliveries, quarantine and
checkpoint are recorded only after ``finish()`` succeeded, so a failed try leaves no trace
and the next one starts from the same checkpoint.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pyarrow as pa

from isthmus.connectors.errors import DestinationError
from isthmus.connectors.jsonbody import JSON_FIELD, DecimalText, JsonText
from isthmus.connectors.writeback import (
    FinishingSink,
    Outgoing,
    RecordSink,
    RowReader,
    RowsAfter,
    SinkContext,
)
from isthmus.execution.clock import Clock
from isthmus.execution.models import RunObserver, StreamCounts
from isthmus.execution.profile import Profile
from isthmus.execution.writeback_records import (
    delivery_record,
    jsonable,
    mapping_failures,
    refused_entry,
)
from isthmus.store import QuarantineEntry, StateStore
from isthmus.store.deliveries import DeliveryRecord
from isthmus.types import DECIMAL_PRECISION, DECIMAL_SCALE, Kind
from isthmus.validation.models import CompiledIntegration
from isthmus.validation.rows import CHECK
from isthmus.validation.writeback import CompiledWriteBack

# The Arrow type of each kind of field in a record's body, as _json_ready leaves it.
BODY_TYPES: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.INTEGER: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.DECIMAL: pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    Kind.BOOLEAN: pa.bool_(),
    Kind.TIMESTAMP: pa.string(),
    Kind.DATE: pa.string(),
    Kind.JSON: pa.string(),  # the value's JSON text; its field is marked JSON_FIELD
    Kind.NULL: pa.string(),
}
# Body values that travel as marked text (see connectors.jsonbody).
MARKED_TEXT: dict[Kind, Callable[[str], str]] = {Kind.DECIMAL: DecimalText, Kind.JSON: JsonText}


@dataclass
class Sent:
    """A target's totals over every try of one run. Unlike a stream's, they add up across
    tries: what a failed try delivered stays delivered (and its quarantine stays too)."""

    counts: StreamCounts = field(default_factory=StreamCounts)
    replayed: int = 0  # delivered records the far side already had (idempotent replays)
    notes: list[str] = field(default_factory=list)  # the connector's, from every try

    def final(self, target: str) -> StreamCounts:
        self.counts.notes.extend(f"write-back {target}: {note}" for note in self.notes)
        if self.replayed:
            self.counts.notes.append(
                f"write-back {target}: {self.replayed} of the records delivered the external "
                "system had received before (it recognised their idempotency keys and did "
                "not store them again)"
            )
        return self.counts


@dataclass(frozen=True)
class WriteBackContext:
    integration: str
    tenant: str
    run_id: int
    store: StateStore
    clock: Clock
    check: Callable[[], None]  # raises when the run must stop
    profile: Profile
    observer: RunObserver
    batch_size: int
    started_at: dt.datetime  # the run's start time, which now_utc() gives
    full: bool = False  # send every row, whatever the checkpoint says


def open_sink(
    compiled: CompiledIntegration,
    target: CompiledWriteBack,
    secrets: Mapping[str, Any],
    clock: Clock,
    project_root: Path | None = None,
) -> RecordSink:
    """The integration's write-back connector, built for ``target``."""
    connector = compiled.writeback_connector
    assert connector is not None  # validation refuses a write-back without one
    return connector.factory(
        SinkContext(
            options=compiled.writeback_options,  # type: ignore[arg-type]
            connection=compiled.writeback_connection,  # type: ignore[arg-type]
            target=target.target,
            secrets=secrets,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
            project_root=project_root,
            columns=body_schema(target),
        )
    )


def body_schema(target: CompiledWriteBack) -> pa.Schema:
    """The Arrow schema of the bodies ``_outgoing`` makes for ``target``."""
    return pa.schema(
        [
            pa.field(
                name,
                BODY_TYPES[c.type.kind],
                metadata=JSON_FIELD if c.type.kind is Kind.JSON else None,
            )
            for name, c in target.fields.items()
        ]
    )


@dataclass
class _Pending:
    """A try's outcomes not recorded yet: after each batch for a sink that delivers record by
    record, after ``finish()`` for a finishing sink."""

    counts: StreamCounts = field(default_factory=StreamCounts)
    replayed: int = 0
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None

    def record(self, target: CompiledWriteBack, context: WriteBackContext, sent: Sent) -> None:
        _add_counts(sent.counts, self.counts)
        sent.replayed += self.replayed
        context.store.add_deliveries(self.deliveries)
        context.store.add_quarantine(self.quarantine)
        if self.checkpoint is not None:
            context.store.save_checkpoints(
                context.integration,
                {target.stream_name: self.checkpoint},
                run_id=context.run_id,
                at=context.clock.now(),
            )


def send_target(
    target: CompiledWriteBack,
    destination: object,
    sink: RecordSink,
    context: WriteBackContext,
    sent: Sent,
) -> None:
    """Send the rows the checkpoint has not passed yet, adding to ``sent``'s totals."""
    if not isinstance(destination, RowReader):
        raise DestinationError(
            "the core database's connector cannot read rows back, so nothing can be written back",
            hint="write-back needs the SQL core database",
        )
    incremental = target.target.read == "incremental" and not context.full
    request = _rows_request(target, context, incremental)
    order = request.order
    finishing = isinstance(sink, FinishingSink)
    facts = run_facts(context)  # once, so that every batch names the same file
    pending = _Pending()
    position = 0
    for rows in destination.read_rows(request):
        context.check()
        frame = pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        with context.profile.stage("map and check"):
            mapped = target.evaluate(frame, now=context.started_at)
        with context.profile.stage("deliver"):
            _send_batch(target, frame, mapped, sink, context, pending, position, facts)
        position += frame.height
        if incremental:
            last = frame.row(frame.height - 1, named=True)
            pending.checkpoint = {"after": [_checkpoint_value(last[name]) for name in order]}
        if not finishing:  # each record is delivered for good: record it now
            pending.record(target, context, sent)
            pending = _Pending()
        context.observer.batch_done(target.name, 0, pending.counts if finishing else sent.counts)
    if isinstance(sink, FinishingSink):
        with context.profile.stage("deliver"):
            sink.finish()
        pending.record(target, context, sent)


def _rows_request(
    target: CompiledWriteBack, context: WriteBackContext, incremental: bool
) -> RowsAfter:
    """Which rows to send: for an incremental target, those after its checkpoint."""
    cursor = target.target.cursor_field
    order = (cursor, *target.key) if incremental and cursor else tuple(target.key)
    saved = context.store.checkpoint(context.integration, target.stream_name)
    after = _typed_after(saved, target, order) if incremental else None
    return RowsAfter(target.table, context.tenant, order, after, context.batch_size)


def run_facts(context: WriteBackContext) -> dict[str, str]:
    """What a file target's path placeholders stand for."""
    return {
        "run_id": str(context.run_id),
        "date": context.clock.now().astimezone(dt.UTC).date().isoformat(),
    }


def _add_counts(total: StreamCounts, more: StreamCounts) -> None:
    total.records_read += more.records_read
    total.loaded += more.loaded
    total.inserted += more.inserted
    total.updated += more.updated
    total.rejected += more.rejected
    for (rule, name), count in more.reasons.items():
        total.add_reason(rule, name, count)


def _send_batch(
    target: CompiledWriteBack,
    rows: pl.DataFrame,
    mapped: pl.DataFrame,
    sink: RecordSink,
    context: WriteBackContext,
    pending: _Pending,
    position: int,
    facts: Mapping[str, str],
) -> None:
    """Send one batch of rows, adding its outcomes to ``pending``. Nothing is added unless
    the sink answered for the whole batch: a try that fails here sends the batch again."""
    failed = mapped.get_column(CHECK).is_not_null()
    entries = mapping_failures(target, rows, mapped, context, position)
    good = mapped.with_row_index("__row").filter(~failed)
    outgoing, keys = _outgoing(target, good, context, facts)
    deliveries = sink.deliver(outgoing) if outgoing else []
    by_index = {d.index: d for d in deliveries}
    missing = [o.index for o in outgoing if o.index not in by_index]
    if missing:
        raise DestinationError(
            f"write-back target {target.name}: the connector reported no outcome for "
            f"{len(missing)} of {len(outgoing)} records",
            hint="this is a fault of the connector; report it to the template's owner",
        )
    counts = pending.counts
    counts.records_read += rows.height
    records = pending.deliveries
    for sent, key in zip(outgoing, keys, strict=True):
        delivery = by_index[sent.index]
        row = int(good.get_column("__row")[sent.index])
        records.append(delivery_record(target, context, sent, key, delivery))
        if delivery.delivered:
            counts.loaded += 1
            if delivery.replayed:
                pending.replayed += 1
            elif delivery.status == 201:
                counts.inserted += 1
            else:
                counts.updated += 1
        else:
            entries.append(refused_entry(target, rows, row, delivery, context, position))
    counts.rejected += len(entries)
    for entry in entries:
        counts.add_reason(entry.rule, entry.field, 1)
    pending.quarantine.extend(entries)


def _outgoing(
    target: CompiledWriteBack,
    good: pl.DataFrame,
    context: WriteBackContext,
    facts: Mapping[str, str],
) -> tuple[list[Outgoing], list[str]]:
    """The requests' records, and each one's core key as text."""
    fields = list(target.fields)
    bodies = _marked(_json_ready(good.select(fields), target).to_dicts(), target)
    keys = good.select(f"__key_{k}" for k in target.key).rows()
    outgoing = []
    for index, (body, key) in enumerate(zip(bodies, keys, strict=True)):
        path = target.target.path
        for name in target.target.placeholders:
            value = facts[name] if target.path_placeholders == "run" else str(body[name])
            path = path.replace(f"{{{name}}}", quote(value, safe=""))
        outgoing.append(Outgoing(index, path, body, _idempotency_key(target, context, key, body)))
    return outgoing, ["/".join(str(part) for part in key) for key in keys]


def _marked(bodies: list[dict[str, Any]], target: CompiledWriteBack) -> list[dict[str, Any]]:
    """Decimals' digits and json values' text marked, so a JSON body writes them exactly."""
    marks = [
        (name, MARKED_TEXT[c.type.kind])
        for name, c in target.fields.items()
        if c.type.kind in MARKED_TEXT
    ]
    for body in bodies if marks else ():
        for name, mark in marks:
            if body[name] is not None:
                body[name] = mark(body[name])
    return bodies


def _json_ready(frame: pl.DataFrame, target: CompiledWriteBack) -> pl.DataFrame:
    """Timestamps as ISO 8601 UTC text and dates as YYYY-MM-DD, as JSON carries them; a
    decimal as its exact digits without trailing zeros ('12.5', '-0.000000001', '10')."""
    converted = []
    for name, compiled in target.fields.items():
        kind = compiled.type.kind
        if kind is Kind.TIMESTAMP:
            converted.append(
                pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            )
        elif kind is Kind.DATE:
            converted.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif kind is Kind.DECIMAL:
            # Polars writes every decimal with its nine places: cut the zeros, then the point.
            digits = pl.col(name).cast(pl.String).str.strip_chars_end("0")
            converted.append(digits.str.strip_suffix("."))
    return frame.with_columns(converted) if converted else frame


def _idempotency_key(
    target: CompiledWriteBack, context: WriteBackContext, key: tuple[Any, ...], body: dict[str, Any]
) -> str:
    """The same record with the same content gets the same key in every run; a change to
    any field, or another target or tenant, gets another."""
    material = json.dumps(
        [context.integration, context.tenant, target.name, target.target.method, list(key), body],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def _checkpoint_value(value: Any) -> Any:
    """A value of a checkpoint's row as JSON keeps it: a decimal as its digits (a float would
    round it), which _typed_after reads back."""
    return str(value) if isinstance(value, decimal.Decimal) else jsonable(value)


def _typed_after(
    saved: dict[str, Any] | None, target: CompiledWriteBack, order: tuple[str, ...]
) -> tuple[Any, ...] | None:
    """The checkpoint's values back in their columns' types (JSON keeps times as text)."""
    if not saved or len(saved.get("after", [])) != len(order):
        return None
    values: list[Any] = []
    for name, text in zip(order, saved["after"], strict=True):
        kind = target.table.column(name).type.kind
        if text is not None and kind is Kind.TIMESTAMP:
            values.append(dt.datetime.fromisoformat(text))
        elif text is not None and kind is Kind.DATE:
            values.append(dt.date.fromisoformat(text))
        elif text is not None and kind is Kind.DECIMAL:
            values.append(decimal.Decimal(text))
        else:
            values.append(text)
    return tuple(values)
