"""The file write-back: a target's records written as one file under the connection's root,
whole or not at all.

Records go to a temporary dot-name beside the target file (``.NAME.tmp-<random>``, which the
file source's wildcards skip); ``finish()`` renames it into place, atomically on a local file
system, and ``close()`` without ``finish()`` removes it, so a failed target leaves the previous
file as it was. A file refuses nothing: every record written is delivered.

A target's ``path`` arrives on each record with its placeholders ({run_id}, {date}) filled by
the engine; every record of a target names the same file. A target's ``method`` means
nothing to a file and is ignored; validation refuses a ``batch`` on a file target.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from isthmus.connectors.csvfiles import CsvOptions
from isthmus.connectors.errors import DestinationError
from isthmus.connectors.files import FileConnection
from isthmus.connectors.filewriters import BatchWriter, FileFormat, open_writer
from isthmus.connectors.paths import FileRoot, confined
from isthmus.connectors.writeback import Delivery, Outgoing, SinkContext


class FileSinkOptions(BaseModel):
    """Template-level options of the file write-back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: FileFormat = Field(
        description="The file's format: csv (with a header row), jsonl (one JSON object a "
        "line) or parquet (one row group per batch).",
        examples=["csv", "parquet"],
    )
    csv: CsvOptions = Field(
        default_factory=CsvOptions, description="How CSV files are written (format: csv)."
    )


class FileSink:
    """Writes one target's records to a temporary file, renamed into place by ``finish()``."""

    def __init__(self, context: SinkContext) -> None:
        assert isinstance(context.options, FileSinkOptions)
        assert isinstance(context.connection, FileConnection)
        if context.project_root is None:
            raise DestinationError(
                "the file write-back was opened without the project folder",
                hint="this is a fault of the engine; report it",
            )
        self.options = context.options
        self.columns = context.columns
        self.root = FileRoot.at(context.project_root, context.connection.root)
        self.relative: str | None = None  # the target file, relative to the root
        self.final: str | None = None  # ... and where its file system has it
        self.temporary: str | None = None
        self.handle: BinaryIO | None = None
        self.writer: BatchWriter | None = None

    def deliver(self, records: Sequence[Outgoing]) -> list[Delivery]:
        if not records:
            return []
        # The sink seam carries per-record bodies; Arrow turns them into the file's columns.
        batch = _columns([r.body for r in records], self.columns)
        self._open(records[0].path, batch.schema)
        paths = {r.path.lstrip("/") for r in records} | {self.relative}
        if len(paths) > 1:
            raise DestinationError(
                f"the file write-back got records for more than one file: "
                f"{', '.join(sorted(str(p) for p in paths))}",
                hint="this is a fault of the engine; report it",
            )
        assert self.writer is not None
        self.writer.write(batch)
        return [Delivery(r.index, True, None) for r in records]

    def finish(self) -> None:
        """Put the written file in place of the target's (nothing to do if no record came)."""
        if self.temporary is None or self.final is None:
            return
        self._close_file()
        if self.root.local:
            os.replace(self.temporary, self.final)  # atomic: readers see the old file or the new
        else:
            self.root.filesystem.mv(self.temporary, self.final)
        self.temporary = None

    def close(self) -> None:
        """Discard the temporary file of a target that did not finish."""
        try:
            self._close_file()
        finally:
            if self.temporary is not None:
                self._remove(self.temporary)
                self.temporary = None

    def _open(self, path: str, schema: pa.Schema) -> None:
        if self.relative is not None:
            return
        relative = path.lstrip("/")
        final = PurePosixPath(self._location(relative))
        self.relative, self.final = relative, str(final)
        self.temporary = str(final.parent / f".{final.name}.tmp-{secrets.token_hex(6)}")
        self.root.filesystem.makedirs(str(final.parent), exist_ok=True)
        self.handle = cast(BinaryIO, self.root.filesystem.open(self.temporary, "wb"))
        self.writer = open_writer(self.options.format, self.handle, schema, self.options.csv)

    def _location(self, relative: str) -> str:
        """Where the file system writes ``relative``, which may not leave the root."""
        if self.root.local:
            return str(confined(Path(self.root.base), relative, what="write-back path"))
        # A path without wildcards is a pattern naming itself: the same confinement applies.
        return self.root._confined_pattern(relative, what="write-back path")

    def _close_file(self) -> None:
        writer, handle = self.writer, self.handle
        self.writer = self.handle = None
        try:
            if writer is not None:
                writer.close()
        finally:
            if handle is not None:
                handle.close()

    def _remove(self, location: str) -> None:
        filesystem: Any = self.root.filesystem
        if filesystem.exists(location):
            filesystem.rm(location)


def _columns(bodies: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Bodies as a table of ``schema``. A decimal comes as its digits (jsonbody.DecimalText):
    Arrow reads them as text, and casts the text to the decimal exactly."""
    as_text = pa.schema(
        [f.with_type(pa.string()) if pa.types.is_decimal(f.type) else f for f in schema]
    )
    return pa.Table.from_pylist(bodies, schema=as_text).cast(schema)
