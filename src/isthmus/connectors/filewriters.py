"""Writers of the file write-back: one Arrow batch at a time into an open binary file, as
CSV (header first), JSON Lines or Parquet (one row group per batch)."""

from __future__ import annotations

import codecs
import json
from typing import BinaryIO, Literal, Protocol

import polars as pl
import pyarrow as pa

from isthmus.connectors.csvfiles import CsvOptions
from isthmus.connectors.jsonbody import JSON_FIELD
from isthmus.connectors.jsontext import json_value

FileFormat = Literal["csv", "jsonl", "parquet"]


class BatchWriter(Protocol):
    def write(self, batch: pa.Table) -> None: ...

    def close(self) -> None:
        """Write what the format needs at the end (Parquet's footer); the file stays open."""


def open_writer(
    file_format: FileFormat, handle: BinaryIO, schema: pa.Schema, csv: CsvOptions
) -> BatchWriter:
    if file_format == "csv":
        return CsvWriter(handle, csv)
    if file_format == "jsonl":
        return JsonLinesWriter(handle)
    return ParquetWriter(handle, schema)


class CsvWriter:
    def __init__(self, handle: BinaryIO, options: CsvOptions) -> None:
        self.handle = handle
        self.options = options
        # Incremental, so that utf-8-sig puts its byte-order mark once, not once per batch.
        self.encoder = codecs.getincrementalencoder(options.encoding)()
        self.header = True

    def write(self, batch: pa.Table) -> None:
        text = _frame(batch).write_csv(
            None,
            separator=self.options.delimiter,
            quote_char=self.options.quote,
            include_header=self.header,
        )
        self.header = False
        self.handle.write(self.encoder.encode(text))

    def close(self) -> None:
        self.handle.write(self.encoder.encode("", final=True))


class JsonLinesWriter:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def write(self, batch: pa.Table) -> None:
        exact = [
            f.name for f in batch.schema if f.metadata == JSON_FIELD or pa.types.is_decimal(f.type)
        ]
        if not exact:
            self.handle.write(_frame(batch).write_ndjson(None).encode("utf-8"))
            return
        # Polars writes a decimal and a json value as quoted strings: build each line from
        # the JSON text of its values instead, with json values embedded and decimals as
        # exact numbers.
        parts: list[pl.Expr] = []
        for index, field in enumerate(batch.schema):
            parts.append(pl.lit(("{" if index == 0 else ",") + json.dumps(field.name) + ":"))
            parts.append(_value_json(field).fill_null("null"))
        parts.append(pl.lit("}\n"))
        lines = _frame(batch).select(pl.concat_str(parts).alias("line"))
        self.handle.write("".join(lines["line"]).encode("utf-8"))

    def close(self) -> None:
        pass


class ParquetWriter:
    def __init__(self, handle: BinaryIO, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415 - loaded only when a Parquet file is written

        self.writer = pq.ParquetWriter(handle, schema)

    def write(self, batch: pa.Table) -> None:
        # One row group per batch: the batch size bounds a reader's memory as the writer's.
        self.writer.write_table(batch, row_group_size=max(batch.num_rows, 1))

    def close(self) -> None:
        self.writer.close()


def _frame(batch: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _value_json(field: pa.Field) -> pl.Expr:
    """The JSON text of a column's values (null where a value is null)."""
    column = pl.col(field.name)
    if field.metadata == JSON_FIELD:
        return column
    if pa.types.is_decimal(field.type):
        return column.cast(pl.String).str.strip_chars_end("0").str.strip_suffix(".")
    return json_value(column)
