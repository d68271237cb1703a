"""Records of JSON pages as the engine's batches, and the greatest cursor value among them.

A page's records are written back as JSON Lines and parsed with the declared schema by the
same vectorized reader as the JSON Lines source: every scalar becomes text (a number or a
boolean its JSON text, an object where text is declared its JSON text), nested objects become
structs of text, and a record that does not fit the declared shapes at all (text where an
object or a list is declared) is isolated as a malformed record with its reason, so one odd
record never fails the batch. Re-encoding costs microseconds per record, far below the
network time of the page it came with; the parse itself runs on the engine's mapping threads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import polars as pl

from isthmus.connectors.base import PendingBatch, SourceBatch
from isthmus.connectors.jsonlines import parse_jsonl_bytes
from isthmus.connectors.jsontext import json_paths
from isthmus.types import DataType

DRIFT_SAMPLE = 100  # records of each batch whose keys are compared with the declared schema

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def pending_batch(
    records: list[Any],
    first_position: int,
    origin: str,
    fields: Mapping[str, DataType],
    bytes_read: int,
) -> PendingBatch:
    """A batch of ``records`` numbered from ``first_position``, parsed when the engine asks."""
    block = "\n".join(_encode(r) for r in records).encode("utf-8")
    observed = observed_fields(records[:DRIFT_SAMPLE])
    return PendingBatch(
        partial(_parse, block, len(records), first_position, origin, fields, bytes_read, observed)
    )


def _parse(
    block: bytes,
    count: int,
    first_position: int,
    origin: str,
    fields: Mapping[str, DataType],
    bytes_read: int,
    observed: frozenset[str] | None,
) -> SourceBatch:
    dtype = pl.Struct({name: t.to_text_polars() for name, t in fields.items()})
    if count == 0:
        frame = pl.DataFrame(schema=dict(dtype.to_schema()))
        positions = pl.Series([], dtype=pl.Int64).to_arrow()
        malformed: list[Any] = []
    else:
        frame, positions, malformed = parse_jsonl_bytes(
            block, count, first_position, origin, dtype, json_paths(fields)
        )
    return SourceBatch(
        records=frame.to_arrow(compat_level=pl.CompatLevel.newest()),
        positions=positions,
        origin=origin,
        checkpoint=None,
        malformed=tuple(malformed),
        bytes_read=bytes_read,
        observed_fields=observed,
    )


def observed_fields(records: Iterable[Any]) -> frozenset[str] | None:
    keys: set[str] = set()
    seen = False
    for record in records:
        if isinstance(record, dict):
            seen = True
            keys.update(record)
    return frozenset(keys) if seen else None


# --- cursors ------------------------------------------------------------------------------


def greatest_cursor(records: Iterable[Any], field: str, current: Any) -> Any:
    """The greatest value of ``field`` among ``records`` and ``current``, as written.

    Values are compared as instants when they read as ISO-8601 timestamps (a value without a
    zone is UTC), as numbers when they are numbers, else as text; a value that is none of
    the kind the others are (a spoiled date among dates) is left out.
    """
    candidates = [r.get(field) for r in records if isinstance(r, dict)]
    values = [v for v in (*candidates, current) if v is not None and v != ""]
    if not values:
        return None
    instants = [(instant, v) for v in values if (instant := _instant(v)) is not None]
    if instants:
        return max(instants, key=lambda pair: pair[0])[1]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers:
        return max(numbers)
    return max(str(v) for v in values)


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
