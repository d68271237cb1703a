"""Rows of a SQL result as the engine's batches, and cursor values as checkpoint data.

Sources hand every scalar to the engine as text, which then converts it to the declared type
and rejects the rows whose value does not convert. Scalar columns are converted a column at
a time by Arrow (a typed column of the driver's values, cast to text). A column Arrow cannot
type, because its values differ in type (SQLite keeps whatever was stored), falls back to
text per value; the engine then rejects what does not convert. A stream that declares nested
fields (JSON columns) takes the JSON Lines parser the REST source uses, which isolates a
value of the wrong shape as a malformed record.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from isthmus.connectors.base import Checkpoint, PendingBatch, SourceBatch
from isthmus.connectors.rest.batches import pending_batch
from isthmus.types import DataType, Kind


def columns_batch(
    columns: Sequence[Sequence[Any]],
    count: int,
    fields: Mapping[str, DataType],
    first_position: int,
    origin: str,
    observed: frozenset[str],
) -> SourceBatch | PendingBatch:
    """``count`` rows, given as columns in the order of ``fields`` (extra columns after them
    are left out), as one batch numbered from ``first_position``."""
    declared = columns[: len(fields)]
    if not all(t.is_scalar for t in fields.values()):
        rows = zip(*declared, strict=True) if count else iter(())
        readers = [_json_value if t.kind is Kind.JSON else _json_safe for t in fields.values()]
        records = [
            {name: read(value) for name, read, value in zip(fields, readers, row, strict=True)}
            for row in rows
        ]
        return pending_batch(records, first_position, origin, fields, 0)
    arrays = {name: text_column(values) for name, values in zip(fields, declared, strict=True)}
    # Through Polars, so the strings are of the kind the other sources hand over.
    frame = pl.from_arrow(pa.table(arrays))
    assert isinstance(frame, pl.DataFrame)
    records = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    return SourceBatch(
        records=records,
        positions=pa.array(range(first_position, first_position + count), pa.int64()),
        origin=origin,
        checkpoint=None,
        bytes_read=records.nbytes,
        observed_fields=observed,
    )


def text_column(values: Sequence[Any]) -> pa.Array:
    """A column of the driver's values as text: ISO dates and times, true/false, numbers as
    written, JSON for objects and lists, hexadecimal for bytes."""
    try:
        typed = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        typed = None
    if typed is not None:
        if pa.types.is_timestamp(typed.type) and typed.type.tz is not None:
            typed = pc.cast(typed, pa.timestamp(typed.type.unit, "UTC"))
        if pa.types.is_decimal128(typed.type):
            # Arrow writes small decimals with an exponent ('-1E-9'); Polars writes digits.
            return pl.Series(typed).cast(pl.String).to_arrow()
        if _castable_to_text(typed.type):
            return pc.cast(typed, pa.string())
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _castable_to_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_time(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _json_value(text: Any) -> Any:
    """A json field's text (see read_statement) as the value it encodes, for a record that
    travels as JSON. Text that is not JSON can travel only as a JSON string: it arrives as
    that string (a stream of scalar fields only rejects it instead)."""
    if not isinstance(text, str):
        return _json_safe(text)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_safe(value: Any) -> Any:
    """A value as JSON holds it: nested values kept, a JSON document stored as text parsed."""
    if value is None or isinstance(value, bool | int | float | dict | list):
        return value
    if isinstance(value, str):
        if value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    return _text(value)


# --- cursors ------------------------------------------------------------------------------

_DECODERS: dict[str, Callable[[str], Any]] = {
    "timestamp": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
}


def last_cursor(values: Sequence[Any], current: Any) -> Any:
    """The last value that is not null: the greatest, since rows come ordered by the cursor."""
    for value in reversed(values):
        if value is not None:
            return value
    return current


def cursor_checkpoint(value: Any) -> Checkpoint | None:
    """``{"cursor": value}`` in JSON terms; a value JSON has no type for is written as ISO
    text (or a decimal's digits) with its ``cursor_type``, so it is bound back as it was."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return {"cursor": value}
    if isinstance(value, dt.datetime):
        return {"cursor": value.isoformat(), "cursor_type": "timestamp"}
    if isinstance(value, dt.date):
        return {"cursor": value.isoformat(), "cursor_type": "date"}
    if isinstance(value, dt.time):
        return {"cursor": value.isoformat(), "cursor_type": "time"}
    if isinstance(value, decimal.Decimal):
        return {"cursor": str(value), "cursor_type": "decimal"}
    if isinstance(value, uuid.UUID):
        return {"cursor": str(value), "cursor_type": "uuid"}
    return {"cursor": _text(value)}


def checkpoint_cursor(checkpoint: Checkpoint | None) -> Any:
    """The cursor value a checkpoint holds, as the driver handed it over."""
    if not checkpoint or checkpoint.get("cursor") is None:
        return None
    decode = _DECODERS.get(str(checkpoint.get("cursor_type")))
    return checkpoint["cursor"] if decode is None else decode(checkpoint["cursor"])
