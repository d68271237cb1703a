"""Read JSON Lines in blocks of whole lines and parse each block into a frame, isolating the
lines that are not records.

A file is read in large chunks cut at newlines, and a whole block is parsed in one vectorized
call: no Python work per line. Only when that fails is the block split into lines and then
in halves, recursively, until each bad line stands alone: a block with k bad lines costs
about k·log(n) extra parses instead of a Python loop over every line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Protocol

import polars as pl
import pyarrow as pa

from isthmus.connectors.base import MalformedRecord
from isthmus.connectors.jsontext import JsonPath, with_json_strings

RAW_LIMIT = 64 * 1024  # characters of a malformed line kept for diagnosis
# Records of each batch whose keys are compared with the declared schema: inferring the keys
# of every record would parse each batch twice; a sample finds a field that most records
# gained or lost, which is what a changed export looks like.
DRIFT_SAMPLE = 100
FIRST_GUESS_LINE_BYTES = 256  # until the first block tells how long lines are
MIN_READ_BYTES = 64 * 1024
MAX_BLOCK_BYTES = 64 * 1024 * 1024  # a block of long lines holds fewer than batch_size
FEW_LINES = 64  # below this many lines a block's end is found line by line
BOM = b"\xef\xbb\xbf"


class Readable(Protocol):
    """A binary file that reads into a buffer it is given, as every reader fsspec opens does."""

    def read(self, size: int = -1, /) -> bytes: ...
    def readinto(self, buffer: memoryview, /) -> int: ...


def line_blocks(handle: Readable, batch_size: int) -> Iterator[tuple[bytes, int]]:
    """The file in blocks of whole lines with their number of lines: at most ``batch_size``
    lines each (fewer when the lines are long); the last line may lack its newline. A
    leading BOM is dropped."""
    line_bytes = FIRST_GUESS_LINE_BYTES
    opening = handle.read(len(BOM))
    pending: bytes | bytearray = b"" if opening == BOM else opening
    eof = False
    want = 0
    while True:
        # Aim a little short of batch_size lines: the block then ends at its last newline,
        # found without counting lines one by one.
        aim = line_bytes * batch_size * 31 // 32
        want = max(want, min(MAX_BLOCK_BYTES, max(MIN_READ_BYTES, aim)))
        if not eof and len(pending) < want:
            pending, eof = _read_on(handle, pending, want)
        cut, lines = _whole_lines(pending, batch_size, eof)
        if cut is None:
            want = 2 * len(pending)  # one line longer than the block: read on
            continue
        if cut == 0:
            return
        # Copied out of the buffer, which goes with it: nothing but the block and the start
        # of the next one stays in memory while the block is parsed on another thread.
        with memoryview(pending) as view:
            block, pending = bytes(view[:cut]), bytes(view[cut:])
        want = 0
        line_bytes = max(1, len(block) // lines)
        yield block, lines


def _read_on(handle: Readable, pending: bytes | bytearray, size: int) -> tuple[bytearray, bool]:
    """``pending`` and then the file's next bytes, ``size`` in all if the file has as many,
    read straight into one buffer rather than read and then added on (a copy of every byte
    fewer); and whether the file has ended."""
    buffer = bytearray(size)
    start = len(pending)
    buffer[:start] = pending
    with memoryview(buffer) as view:
        got = handle.readinto(view[start:])
    del buffer[start + got :]
    return buffer, got == 0


def _whole_lines(data: bytes | bytearray, limit: int, eof: bool) -> tuple[int | None, int]:
    """Where the block taken from ``data`` ends, and its number of lines: at most ``limit``
    lines, all whole unless at the end of the file. None when not even one line is whole."""
    if limit <= FEW_LINES:
        end, lines = 0, 0
        while lines < limit:
            found = data.find(b"\n", end)
            if found < 0:
                break
            end, lines = found + 1, lines + 1
        if lines == limit or not eof:
            return (end if lines else None), lines
        return len(data), lines + (1 if len(data) > end else 0)
    newlines = data.count(b"\n")
    if newlines >= limit:
        return len(data) - len(data.split(b"\n", limit)[-1]), limit
    if eof:
        return len(data), newlines + (1 if data and not data.endswith(b"\n") else 0)
    if newlines == 0:
        return None, 0
    return data.rfind(b"\n") + 1, newlines


def head(block: bytes, lines: int) -> bytes:
    """The first ``lines`` lines of ``block``."""
    end = 0
    for _ in range(lines):
        found = block.find(b"\n", end)
        if found < 0:
            return block
        end = found + 1
    return block[:end]


def parse_jsonl_bytes(
    block: bytes,
    count: int,
    first_line: int,
    origin: str,
    dtype: pl.Struct,
    json_fields: tuple[JsonPath, ...] = (),
) -> tuple[pl.DataFrame, pa.Array, list[MalformedRecord]]:
    """Records of a block of ``count`` lines as a frame of ``dtype``'s fields, their 1-based
    line numbers, and the lines that are not JSON objects of that shape. The fields at
    ``json_fields`` (``jsontext.json_paths``) hold the JSON text of their values."""
    shape = (dtype, json_fields)
    frame = _try_parse(block, shape)
    if frame is not None and frame.height == count:
        numbers = pl.int_range(first_line, first_line + count, dtype=pl.Int64, eager=True)
        return frame, numbers.to_arrow(), []
    frame, positions, malformed = parse_jsonl_block(
        io.BytesIO(block).readlines(), first_line, origin, dtype, json_fields
    )
    return frame, pa.array(positions, pa.int64()), malformed


def observed_fields(sample: bytes) -> frozenset[str] | None:
    """The top-level keys of the records in ``sample`` (None if none of them parses)."""
    try:
        return frozenset(pl.read_ndjson(io.BytesIO(sample), infer_schema_length=None).columns)
    except (pl.exceptions.PolarsError, ValueError):
        keys: set[str] = set()
        parsed = False
        for line in sample.split(b"\n"):
            try:
                value = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(value, dict):
                parsed = True
                keys.update(value)
        return frozenset(keys) if parsed else None


def parse_jsonl_block(
    lines: list[bytes],
    first_line: int,
    origin: str,
    dtype: pl.Struct,
    json_fields: tuple[JsonPath, ...] = (),
) -> tuple[pl.DataFrame, list[int], list[MalformedRecord]]:
    """Records of ``lines`` as a frame of ``dtype``'s fields, their 1-based line numbers, and
    the lines that are not JSON objects of that shape."""
    numbers = list(range(first_line, first_line + len(lines)))
    shape = (dtype, json_fields)
    frame = _try_parse(b"".join(lines), shape)
    if frame is not None:
        if frame.height == len(lines):
            return frame, numbers, []
        kept = [i for i, line in enumerate(lines) if line.strip()]
        if frame.height == len(kept):
            return frame, [numbers[i] for i in kept], []
    frames: list[pl.DataFrame] = []
    positions: list[int] = []
    malformed: list[MalformedRecord] = []
    _bisect(lines, numbers, origin, shape, (frames, positions, malformed))
    empty = pl.DataFrame(schema=dict(dtype.to_schema()))
    return (pl.concat(frames) if frames else empty), positions, malformed


_Shape = tuple[pl.Struct, tuple[JsonPath, ...]]  # the records' dtype, and their json fields


def _try_parse(data: bytes, shape: _Shape) -> pl.DataFrame | None:
    dtype, json_fields = shape
    try:
        frame = pl.read_ndjson(io.BytesIO(data), schema=dict(dtype.to_schema()))
        return with_json_strings(data, frame, json_fields)
    except (pl.exceptions.PolarsError, ValueError):
        return None


_Sink = tuple[list[pl.DataFrame], list[int], list[MalformedRecord]]


def _bisect(
    lines: list[bytes], numbers: list[int], origin: str, shape: _Shape, sink: _Sink
) -> None:
    frames, positions, malformed = sink
    kept = [(line, n) for line, n in zip(lines, numbers, strict=True) if line.strip()]
    if not kept:
        return
    block = [line for line, _ in kept]
    frame = _try_parse(b"".join(block), shape)
    if frame is not None and frame.height == len(block):
        frames.append(frame)
        positions.extend(n for _, n in kept)
        return
    if len(block) == 1:
        malformed.append(_malformed(block[0], kept[0][1], origin, shape[0]))
        return
    middle = len(block) // 2
    _bisect(block[:middle], [n for _, n in kept[:middle]], origin, shape, sink)
    _bisect(block[middle:], [n for _, n in kept[middle:]], origin, shape, sink)


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
