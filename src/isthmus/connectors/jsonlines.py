"""Parse a block of JSON Lines into a frame, isolating the lines that are not records.

The whole block is parsed in one vectorized call. Only when that fails is the block split in
halves, recursively, until each bad line stands alone: a block with k bad lines costs about
k·log(n) extra parses instead of a Python loop over every line.
"""

from __future__ import annotations

import io
import json

import polars as pl

from isthmus.connectors.base import MalformedRecord

RAW_LIMIT = 64 * 1024  # characters of a malformed line kept for diagnosis
# Records of each batch whose keys are compared with the declared schema: inferring the keys
# of every record would parse each batch twice; a sample finds a field that most records
# gained or lost, which is what a changed export looks like.
DRIFT_SAMPLE = 100


def observed_fields(lines: list[bytes]) -> frozenset[str] | None:
    """The top-level keys of the records in ``lines`` (None if none of them parses)."""
    try:
        return frozenset(
            pl.read_ndjson(io.BytesIO(b"".join(lines)), infer_schema_length=None).columns
        )
    except (pl.exceptions.PolarsError, ValueError):
        keys: set[str] = set()
        parsed = False
        for line in lines:
            try:
                value = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(value, dict):
                parsed = True
                keys.update(value)
        return frozenset(keys) if parsed else None


def parse_jsonl_block(
    lines: list[bytes], first_line: int, origin: str, dtype: pl.Struct
) -> tuple[pl.DataFrame, list[int], list[MalformedRecord]]:
    """Records of ``lines`` as a frame of ``dtype``'s fields, their 1-based line numbers, and
    the lines that are not JSON objects of that shape."""
    numbers = list(range(first_line, first_line + len(lines)))
    frame = _try_parse(lines, dtype)
    if frame is not None:
        if frame.height == len(lines):
            return frame, numbers, []
        kept = [i for i, line in enumerate(lines) if line.strip()]
        if frame.height == len(kept):
            return frame, [numbers[i] for i in kept], []
    frames: list[pl.DataFrame] = []
    positions: list[int] = []
    malformed: list[MalformedRecord] = []
    _bisect(lines, numbers, origin, dtype, (frames, positions, malformed))
    empty = pl.DataFrame(schema=dict(dtype.to_schema()))
    return (pl.concat(frames) if frames else empty), positions, malformed


def _try_parse(lines: list[bytes], dtype: pl.Struct) -> pl.DataFrame | None:
    try:
        return pl.read_ndjson(io.BytesIO(b"".join(lines)), schema=dict(dtype.to_schema()))
    except (pl.exceptions.PolarsError, ValueError):
        return None


_Sink = tuple[list[pl.DataFrame], list[int], list[MalformedRecord]]


def _bisect(
    lines: list[bytes], numbers: list[int], origin: str, dtype: pl.Struct, sink: _Sink
) -> None:
    frames, positions, malformed = sink
    kept = [(line, n) for line, n in zip(lines, numbers, strict=True) if line.strip()]
    if not kept:
        return
    block = [line for line, _ in kept]
    frame = _try_parse(block, dtype)
    if frame is not None and frame.height == len(block):
        frames.append(frame)
        positions.extend(n for _, n in kept)
        return
    if len(block) == 1:
        malformed.append(_malformed(block[0], kept[0][1], origin, dtype))
        return
    middle = len(block) // 2
    _bisect(block[:middle], [n for _, n in kept[:middle]], origin, dtype, sink)
    _bisect(block[middle:], [n for _, n in kept[middle:]], origin, dtype, sink)


def _malformed(line: bytes, number: int, origin: str, dtype: pl.Struct) -> MalformedRecord:
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    return MalformedRecord(origin, number, text[:RAW_LIMIT], _reason(line, dtype))


def _reason(line: bytes, dtype: pl.Struct) -> str:
    """Why one line is not a record, in words a user can act on."""
    text = line.rstrip(b"\r\n")
    try:
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start + 1} of the line)"
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text):
            return f"not valid JSON: the line ends before the record does ({exc.msg})"
        return f"not valid JSON: {exc.msg} (character {exc.pos + 1})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    for name, field_type in dtype.to_schema().items():
        found = value.get(name)
        if isinstance(field_type, pl.Struct) and found is not None and not isinstance(found, dict):
            return f"field {name!r} should be an object, found {type(found).__name__}"
        if isinstance(field_type, pl.List) and found is not None and not isinstance(found, list):
            return f"field {name!r} should be a list, found {type(found).__name__}"
    return "the record does not fit the stream's declared schema"
