"""The file source: JSON Lines and CSV files under a folder of the project, read in batches.

Records are read with every scalar as text (see ``DataType.to_text_polars``); the engine
converts declared types and rejects the rows whose values do not convert. A line that is not
valid JSON, or a CSV row with the wrong number of fields, becomes a malformed record and is
quarantined; the rest of its batch is read normally.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from isthmus.connectors.base import (
    Checkpoint,
    MalformedRecord,
    PendingBatch,
    SourceBatch,
    SourceContext,
    StreamRequest,
)
from isthmus.connectors.csvfiles import CsvOptions, read_csv_batches
from isthmus.connectors.errors import SourceFileError
from isthmus.connectors.jsonlines import (
    DRIFT_SAMPLE,
    head,
    line_blocks,
    observed_fields,
    parse_jsonl_bytes,
)
from isthmus.connectors.paths import confined
from isthmus.types import DataType

FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


class FileOptions(BaseModel):
    """Template-level options of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["auto", "jsonl", "csv"] = Field(
        "auto", description="File format; auto reads it from the extension (.jsonl, .ndjson, .csv)."
    )
    csv: CsvOptions = Field(default_factory=CsvOptions, description="How CSV files are written.")


class FileConnection(BaseModel):
    """Integration-level connection of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(
        description="The folder holding the tenant's files, relative to the project folder.",
        examples=["data/acme"],
    )


class FileStream(BaseModel):
    """Stream-level options of the file source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="File name or glob pattern, relative to the connection's root.",
        examples=["contacts.jsonl", "exports/*.csv"],
    )


class FileSource:
    """Reads one stream's files; remembers each file read in the checkpoint."""

    def __init__(self, context: SourceContext) -> None:
        assert isinstance(context.options, FileOptions)
        assert isinstance(context.connection, FileConnection)
        self.options = context.options
        self.root = confined(context.project_root, context.connection.root, what="connection root")

    def files(self, request: StreamRequest) -> list[Path]:
        stream = request.options
        assert isinstance(stream, FileStream)
        confined(self.root, stream.path, what=f"stream {request.name} path")
        matches = sorted(Path(p) for p in glob.glob(str(self.root / stream.path)))
        files = [
            confined(self.root, str(p.relative_to(self.root)), what="file")
            for p in matches
            if p.is_file()
        ]
        if not files:
            raise SourceFileError(
                f"stream {request.name}: no file matches {stream.path!r} in {self.root}",
                hint="check the stream's path and the connection's root, or put the export there",
            )
        return files

    def size_hint(self, request: StreamRequest) -> int | None:
        return sum(p.stat().st_size for p in self._pending(request))

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        done: dict[str, dict[str, int]] = dict((request.checkpoint or {}).get("files", {}))
        for path in self._pending(request):
            origin = str(path.relative_to(self.root))
            stat = path.stat()
            fingerprint = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            # Hold one batch back: only the file's last batch carries the checkpoint that
            # marks the file as read.
            previous: SourceBatch | PendingBatch | None = None
            for batch in self._read_file(path, origin, request):
                if previous is not None:
                    yield previous
                previous = batch
            done[origin] = fingerprint
            last = previous or _empty_batch(origin, request.fields)
            yield _with_checkpoint(last, {"files": dict(done)})

    def _pending(self, request: StreamRequest) -> list[Path]:
        """Files to read: all of them, or on an incremental read those not read before."""
        seen = (request.checkpoint or {}).get("files", {})
        pending = []
        for path in self.files(request):
            stat = path.stat()
            previous = seen.get(str(path.relative_to(self.root)))
            if previous != {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
                pending.append(path)
        return pending

    def _read_file(
        self, path: Path, origin: str, request: StreamRequest
    ) -> Iterator[SourceBatch | PendingBatch]:
        file_format = self._format(path)
        if file_format == "csv":
            yield from read_csv_batches(
                path, origin, request.fields, self.options.csv, request.batch_size
            )
        else:
            yield from _read_jsonl(path, origin, request.fields, request.batch_size)

    def _format(self, path: Path) -> str:
        if self.options.format != "auto":
            return self.options.format
        detected = FORMATS_BY_SUFFIX.get(path.suffix.lower())
        if detected is None:
            raise SourceFileError(
                f"cannot tell the format of {path.name} from its extension",
                hint="name it .jsonl or .csv, or set source.options.format",
            )
        return detected

    def close(self) -> None:
        """Files are opened per read; nothing stays open."""


def _with_checkpoint(
    batch: SourceBatch | PendingBatch, checkpoint: Checkpoint | None
) -> SourceBatch | PendingBatch:
    if isinstance(batch, PendingBatch):
        parse = batch.parse
        return PendingBatch(lambda: replace(parse(), checkpoint=checkpoint))
    return replace(batch, checkpoint=checkpoint)


def _empty_batch(origin: str, fields: Mapping[str, DataType]) -> SourceBatch:
    schema = {name: t.to_text_polars() for name, t in fields.items()}
    records = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.newest())
    return SourceBatch(records, pa.array([], pa.int64()), origin, None)


def _read_jsonl(
    path: Path, origin: str, fields: Mapping[str, DataType], batch_size: int
) -> Iterator[PendingBatch]:
    """Blocks of lines, read here in order and parsed later by the engine's mapping threads."""
    dtype = pl.Struct({name: t.to_text_polars() for name, t in fields.items()})
    first_line = 1
    with path.open("rb") as handle:
        for block, lines in line_blocks(handle, batch_size):
            yield PendingBatch(partial(_parse_jsonl, block, lines, first_line, origin, dtype))
            first_line += lines


def _parse_jsonl(
    block: bytes, lines: int, first_line: int, origin: str, dtype: pl.Struct
) -> SourceBatch:
    frame, positions, malformed = parse_jsonl_bytes(block, lines, first_line, origin, dtype)
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
