"""The file source: JSON Lines, CSV and Parquet files under the connection's root (a folder
of the project, or a URL of an fsspec file system), read in batches.

Records are read with every scalar as text (see ``DataType.to_text_polars``); the engine
converts declared types and rejects the rows whose values do not convert. A line that is not
valid JSON, or a CSV row with the wrong number of fields, becomes a malformed record and is
quarantined; the rest of its batch is read normally.

The checkpoint names every file read with its size and modification time; the stream's
``incremental`` option decides which files a later read takes again and in what order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Literal, cast

import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from isthmus.connectors.base import (
    MalformedRecord,
    PendingBatch,
    SourceBatch,
    SourceContext,
    StreamRequest,
    with_checkpoint,
)
from isthmus.connectors.csvfiles import CsvOptions, read_csv_batches
from isthmus.connectors.errors import SourceFileError
from isthmus.connectors.jsonlines import (
    DRIFT_SAMPLE,
    Readable,
    head,
    line_blocks,
    observed_fields,
    parse_jsonl_bytes,
)
from isthmus.connectors.jsontext import JsonPath, json_paths
from isthmus.connectors.parquetfiles import read_parquet_batches
from isthmus.connectors.paths import FileRoot, FoundFile, check_protocol
from isthmus.types import DataType

FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class FileOptions(BaseModel):
    """Template-level options of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["auto", "jsonl", "csv", "parquet"] = Field(
        "auto",
        description="File format; auto reads it from the extension (.jsonl, .ndjson, .csv, "
        ".parquet).",
    )
    csv: CsvOptions = Field(default_factory=CsvOptions, description="How CSV files are written.")


class FileConnection(BaseModel):
    """Integration-level connection of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(
        description="The folder holding the tenant's files: relative to the project folder, a "
        "file:// URL of a folder inside it, or a URL of another fsspec file system (s3://, "
        "gcs://, ...) whose package is installed.",
        examples=["data/acme", "file:///srv/project/data/acme", "s3://exports/acme"],
    )

    @field_validator("root")
    @classmethod
    def _usable_protocol(cls, value: str) -> str:
        return check_protocol(value)


class FileStream(BaseModel):
    """Stream-level options of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="File name or glob pattern, relative to the connection's root; ** matches "
        "any depth of folders, and a wildcard skips names starting with a dot.",
        examples=["contacts.jsonl", "exports/*.csv", "exports/**/*.parquet"],
    )
    incremental: Literal["changed", "name", "mtime"] = Field(
        "changed",
        description="Which files a read with a checkpoint takes again. changed: a file whose "
        "size or modification time changed, files in name order; name: only files never read, "
        "in name order; mtime: a file whose modification time changed, oldest first (ties by "
        "name).",
    )


class FileSource:
    """Reads one stream's files; remembers each file read in the checkpoint."""

    def __init__(self, context: SourceContext) -> None:
        assert isinstance(context.options, FileOptions)
        assert isinstance(context.connection, FileConnection)
        self.options = context.options
        self.root = FileRoot.at(context.project_root, context.connection.root)

    def files(self, request: StreamRequest) -> list[FoundFile]:
        """The stream's files in the order its incremental mode reads them."""
        stream = _stream(request)
        found = self.root.find(stream.path, what=f"stream {request.name} path")
        if not found:
            raise SourceFileError(
                f"stream {request.name}: no file matches {stream.path!r} in {self.root}",
                hint="check the stream's path and the connection's root, or put the export there",
            )
        return sorted(found, key=READ_ORDER[stream.incremental])

    def size_hint(self, request: StreamRequest) -> int | None:
        return sum(found.size for found in self._pending(request))

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        done: dict[str, dict[str, int]] = dict((request.checkpoint or {}).get("files", {}))
        for found in self._pending(request):
            # Hold one batch back: only the file's last batch carries the checkpoint that
            # marks the file as read.
            previous: SourceBatch | PendingBatch | None = None
            for batch in self._read_file(found, request):
                if previous is not None:
                    yield previous
                previous = batch
            done[found.origin] = _fingerprint(found)
            last = previous or _empty_batch(found.origin, request.fields)
            yield with_checkpoint(last, {"files": dict(done)})

    def _pending(self, request: StreamRequest) -> list[FoundFile]:
        """Files to read: all of them, or on an incremental read those the mode takes again."""
        seen: dict[str, dict[str, int]] = (request.checkpoint or {}).get("files", {})
        unchanged = ALREADY_READ[_stream(request).incremental]
        return [
            found
            for found in self.files(request)
            if found.origin not in seen or not unchanged(seen[found.origin], found)
        ]

    def _read_file(
        self, found: FoundFile, request: StreamRequest
    ) -> Iterator[SourceBatch | PendingBatch]:
        file_format = self._format(found.origin)
        with self.root.open(found) as handle:
            if file_format == "csv":
                yield from read_csv_batches(
                    handle, found.origin, request.fields, self.options.csv, request.batch_size
                )
            elif file_format == "parquet":
                yield from read_parquet_batches(
                    handle, found.origin, request.fields, request.batch_size, found.size
                )
            else:
                yield from _read_jsonl(handle, found.origin, request.fields, request.batch_size)

    def _format(self, origin: str) -> str:
        if self.options.format != "auto":
            return self.options.format
        path = PurePosixPath(origin)
        detected = FORMATS_BY_SUFFIX.get(path.suffix.lower())
        if detected is None:
            raise SourceFileError(
                f"cannot tell the format of {path.name} from its extension",
                hint="name it .jsonl, .csv or .parquet, or set source.options.format",
            )
        return detected

    def close(self) -> None:
        """Files are opened per read; nothing stays open."""


def _stream(request: StreamRequest) -> FileStream:
    assert isinstance(request.options, FileStream)
    return request.options


def _fingerprint(found: FoundFile) -> dict[str, int]:
    return {"size": found.size, "mtime_ns": found.mtime_ns}


READ_ORDER: dict[str, Callable[[FoundFile], Any]] = {
    "changed": lambda found: found.origin,
    "name": lambda found: found.origin,
    "mtime": lambda found: (found.mtime_ns, found.origin),
}
# Whether a file the checkpoint recorded (first argument) counts as read already.
ALREADY_READ: dict[str, Callable[[dict[str, int], FoundFile], bool]] = {
    "changed": lambda recorded, found: recorded == _fingerprint(found),
    "name": lambda recorded, found: True,
    "mtime": lambda recorded, found: recorded.get("mtime_ns") == found.mtime_ns,
}


def _empty_batch(origin: str, fields: Mapping[str, DataType]) -> SourceBatch:
    schema = {name: t.to_text_polars() for name, t in fields.items()}
    records = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.newest())
    return SourceBatch(records, pa.array([], pa.int64()), origin, None)


def _read_jsonl(
    handle: BinaryIO, origin: str, fields: Mapping[str, DataType], batch_size: int
) -> Iterator[PendingBatch]:
    """Blocks of lines, read here in order and parsed later by the engine's mapping threads."""
    dtype = pl.Struct({name: t.to_text_polars() for name, t in fields.items()})
    first_line = 1
    # typing's BinaryIO declares no readinto, which every file fsspec opens has.
    for block, lines in line_blocks(cast(Readable, handle), batch_size):
        yield PendingBatch(
            partial(_parse_jsonl, block, lines, first_line, origin, (dtype, json_paths(fields)))
        )
        first_line += lines


def _parse_jsonl(
    block: bytes,
    lines: int,
    first_line: int,
    origin: str,
    shape: tuple[pl.Struct, tuple[JsonPath, ...]],
) -> SourceBatch:
    dtype, json_fields = shape
    frame, positions, malformed = parse_jsonl_bytes(
        block, lines, first_line, origin, dtype, json_fields
    )
    return SourceBatch(
        records=frame.to_arrow(compat_level=pl.CompatLevel.newest()),
        positions=positions,
        origin=origin,
        checkpoint=None,
        malformed=tuple(malformed),
        bytes_read=len(block),
        observed_fields=observed_fields(head(block, DRIFT_SAMPLE)),
    )


__all__ = ["FileConnection", "FileOptions", "FileSource", "FileStream", "MalformedRecord"]
