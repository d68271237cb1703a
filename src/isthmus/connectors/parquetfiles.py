"""Read Parquet files in bounded batches, every declared scalar as text.

Parquet columns are typed, but the engine converts declared types from text, so that a value
that does not convert is a row-level rejection with the same rules whatever the format. Each
batch is therefore turned to text in one vectorized select: numbers and booleans as JSON
Lines gives them, timestamps as ISO-8601, and an object or list a scalar field declares as
JSON text. A record's position is its 1-based row number in the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import BinaryIO

import polars as pl
import pyarrow as pa
from polars.datatypes import DataTypeClass

from isthmus.connectors.base import SourceBatch
from isthmus.connectors.errors import SourceFileError
from isthmus.types import DataType, Kind

NAIVE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.6f"


def read_parquet_batches(
    raw: BinaryIO, origin: str, fields: Mapping[str, DataType], batch_size: int, file_size: int
) -> Iterator[SourceBatch]:
    """Batches of at most ``batch_size`` rows of the Parquet file open in ``raw``."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - loaded only for Parquet files

    try:
        parquet = pq.ParquetFile(raw)
        found = _frame(parquet.schema_arrow.empty_table()).schema
        columns = text_columns(found, fields, origin)
        total, done = parquet.metadata.num_rows, 0
        for batch in parquet.iter_batches(batch_size=batch_size, columns=list(fields)):
            records = _frame(batch).select(columns).to_arrow(compat_level=pl.CompatLevel.newest())
            first, done = done, done + batch.num_rows
            # Parquet is compressed: share the file's size out by rows, so the progress
            # bar's bytes add up to the size the source announced.
            share = file_size * done // total - file_size * first // total
            yield SourceBatch(
                records=records,
                positions=pl.int_range(first + 1, done + 1, dtype=pl.Int64, eager=True).to_arrow(),
                origin=origin,
                checkpoint=None,
                bytes_read=share,
                observed_fields=frozenset(found.names()),
            )
    except (pa.ArrowException, OSError) as exc:
        raise SourceFileError(
            f"{origin} is not readable as Parquet: {exc}",
            hint="check that the file is a whole Parquet file, or set source.options.format",
        ) from None


def _frame(data: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def text_columns(found: pl.Schema, fields: Mapping[str, DataType], origin: str) -> list[pl.Expr]:
    """One expression per declared field turning the file's column into its text form; an
    error naming the file and every declared column it lacks."""
    missing: list[str] = []
    columns = [
        _as_text(pl.col(name), found.get(name), declared, name, (origin, missing)).alias(name)
        for name, declared in fields.items()
    ]
    if missing:
        raise SourceFileError(
            f"{origin} has no column {', '.join(repr(m) for m in missing)} "
            f"(its columns: {', '.join(found.names())})",
            hint="export the file with every column the stream declares, or remove the field "
            "from the stream's schema",
        )
    return columns


_Where = tuple[str, list[str]]  # the file's origin, and the missing columns found so far


def _as_text(
    value: pl.Expr, found: pl.DataType | None, declared: DataType, path: str, where: _Where
) -> pl.Expr:
    origin, missing = where
    if found is None:
        missing.append(path)
        return pl.lit(None, pl.String)
    if isinstance(found, pl.Array):
        value, found = value.arr.to_list(), pl.List(_instance(found.inner))
    if declared.kind is Kind.STRUCT:
        if not isinstance(found, pl.Struct):
            raise _shape_error(origin, path, found, "an object")
        inner = {field.name: _instance(field.dtype) for field in found.fields}
        children = [
            _as_text(value.struct.field(n), inner.get(n), t, f"{path}.{n}", where).alias(n)
            for n, t in declared.fields
        ]
        return pl.when(value.is_not_null()).then(pl.struct(children))
    if declared.kind is Kind.LIST:
        if not isinstance(found, pl.List):
            raise _shape_error(origin, path, found, "a list")
        assert declared.item is not None
        item = _instance(found.inner)
        return value.list.eval(_as_text(pl.element(), item, declared.item, path, where))
    return _scalar_text(value, found)


def _instance(dtype: DataTypeClass | pl.DataType) -> pl.DataType:
    """Polars gives some nested dtypes as classes (``pl.Int64``), not instances."""
    return dtype() if isinstance(dtype, DataTypeClass) else dtype


def _scalar_text(value: pl.Expr, found: pl.DataType) -> pl.Expr:
    if isinstance(found, pl.Struct):
        return pl.when(value.is_not_null()).then(value.struct.json_encode())
    if isinstance(found, pl.List):
        # Polars encodes structs, not lists, as JSON: wrap the list as {"v": [...]} and cut.
        wrapped = pl.struct(value.alias("v")).struct.json_encode()
        return pl.when(value.is_not_null()).then(wrapped.str.slice(5).str.head(-1))
    if isinstance(found, pl.Datetime):
        if found.time_zone is None:
            return value.dt.to_string(NAIVE_TIMESTAMP)
        return value.dt.convert_time_zone("UTC").dt.to_string(NAIVE_TIMESTAMP + "Z")
    return value.cast(pl.String)


def _shape_error(origin: str, path: str, found: pl.DataType, wanted: str) -> SourceFileError:
    return SourceFileError(
        f"{origin}: column {path!r} holds {found}, but the stream declares {wanted}",
        hint="declare the field with the column's shape, or export the file with that shape",
    )
