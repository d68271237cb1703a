"""Sampling files: the raw fields of the first records of the files a read would take.

JSON Lines: the keys of each record, nested objects followed where the schema declares them.
CSV: the header, and which columns held a value. Parquet: the file's schema, flattened to
dotted paths, and which columns held a value in the first rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

import pyarrow as pa

from isthmus.connectors.base import StreamRequest
from isthmus.connectors.files import (
    ALREADY_READ,
    FORMATS_BY_SUFFIX,
    FileOptions,
    FileSource,
    FileStream,
)
from isthmus.connectors.jsonlines import BOM
from isthmus.connectors.paths import FoundFile
from isthmus.connectors.sampling import FieldWalk, ObservedFields


class FileSampler:
    """Samples the files a :class:`FileSource` would read, in the order it reads them."""

    def __init__(self, source: FileSource) -> None:
        self.source = source
        self.options: FileOptions = source.options

    def observe(self, request: StreamRequest, limit: int) -> ObservedFields:
        walk = FieldWalk(request.fields)
        taken = 0
        read: list[str] = []
        for found in self._pending(request):
            if taken >= limit:
                break
            with self.source.root.open(found) as handle:
                taken += self._sample(found, handle, walk, limit - taken)
            read.append(PurePosixPath(found.origin).name)
        walk.records = taken
        files = ", ".join(read) if read else "no file (none is new since the checkpoint)"
        return walk.result(f"the first {taken} records of {files}")

    def _pending(self, request: StreamRequest) -> list[FoundFile]:
        """The files the source would read, as its checkpoint and incremental mode say."""
        stream = request.options
        assert isinstance(stream, FileStream)
        seen: dict[str, dict[str, int]] = (request.checkpoint or {}).get("files", {})
        unchanged = ALREADY_READ[stream.incremental]
        return [
            found
            for found in self.source.files(request)
            if found.origin not in seen or not unchanged(seen[found.origin], found)
        ]

    def _sample(self, found: FoundFile, handle: BinaryIO, walk: FieldWalk, limit: int) -> int:
        kind: str = self.options.format
        if kind == "auto":
            kind = FORMATS_BY_SUFFIX.get(PurePosixPath(found.origin).suffix.lower(), "jsonl")
        if kind == "csv":
            return _sample_csv(handle, walk, limit, self.options)
        if kind == "parquet":
            return _sample_parquet(handle, walk, limit)
        return _sample_jsonl(handle, walk, limit)


def _sample_jsonl(handle: BinaryIO, walk: FieldWalk, limit: int) -> int:
    """Records (lines that are not blank) taken; a line that does not parse still counts,
    as the run counts it (malformed), but shows no fields."""
    taken = 0
    for line in _lines(handle):
        if taken >= limit:
            break
        if not line.strip():
            continue
        taken += 1
        try:
            walk.record(json.loads(line))
        except (ValueError, UnicodeDecodeError):
            continue
    return taken


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    first = True
    for line in handle:
        yield line.removeprefix(BOM) if first else line
        first = False


def _sample_csv(handle: BinaryIO, walk: FieldWalk, limit: int, options: FileOptions) -> int:
    settings = options.csv
    utf8 = codecs.lookup(settings.encoding).name == "utf-8"
    encoding = "utf-8-sig" if utf8 else settings.encoding
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=settings.delimiter, quotechar=settings.quote)
    header = [name.strip() for name in next(reader, [])]
    filled = [False] * len(header)
    taken = 0
    try:
        for row in reader:
            if taken >= limit:
                break
            taken += 1
            if len(row) == len(header):
                filled = [was or bool(value) for was, value in zip(filled, row, strict=True)]
    except csv.Error:
        pass  # the run reports the broken row; the header and the rows before it still tell
    finally:
        text.detach()  # the file is the root's to close
    walk.paths(header, filled)
    return taken


def _sample_parquet(handle: BinaryIO, walk: FieldWalk, limit: int) -> int:
    import pyarrow.parquet as pq  # noqa: PLC0415 - loaded only for Parquet files

    parquet = pq.ParquetFile(handle)
    batches: list[pa.RecordBatch] = []
    taken = 0
    for batch in parquet.iter_batches(batch_size=limit):
        batches.append(batch.slice(0, limit - taken))
        taken += min(batch.num_rows, limit - taken)
        if taken >= limit:
            break
    table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    while any(pa.types.is_struct(column.type) for column in table.columns):
        table = table.flatten()  # Account -> Account.Id, Account.Name
    names = table.column_names
    walk.paths(names, [column.null_count < len(column) for column in table.columns])
    return taken
