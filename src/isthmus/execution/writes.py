"""Turn a batch's good rows into what the destination writes, vectorized.

For upserts the last row of a key wins, as if rows were applied one by one in source order.
With a cursor field, a row is applied only if its cursor is at least the newest already
applied for its key (in the destination or earlier in the stream); older rows are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from isthmus.connectors.base import TableSpec, Transaction, WriteMode
from isthmus.validation.models import CompiledMapping

CURRENT = "__isthmus_current"


@dataclass(frozen=True)
class PreparedRows:
    rows: pa.Table  # one row per key (upsert, replace) or every row (append)
    skipped: int  # rows not applied because a newer version exists


def table_rows(good: pl.DataFrame, mapping: CompiledMapping, tenant: str) -> pl.DataFrame:
    """The good rows with every column of the core table, in its types, tenant filled in."""
    table = mapping.table
    return good.select(
        [
            pl.lit(tenant, pl.String).alias(c.name)
            if c.name == table.tenant_key
            else pl.col(c.name).cast(c.type.to_polars()).alias(c.name)
            for c in table.columns
        ]
    )


def prepare_ahead(
    rows: pl.DataFrame, mapping: CompiledMapping, mode: WriteMode
) -> PreparedRows | None:
    """The rows to write when that does not depend on the destination's rows (no cursor
    field), so it can be done before the transaction gets to the batch; else None."""
    if mode is WriteMode.APPEND:
        return PreparedRows(_arrow(rows), 0)
    if mapping.mapping.cursor_field is None:
        return PreparedRows(_last_per_key(rows, mapping.table), 0)
    return None


def prepare(
    rows: pl.DataFrame,
    mapping: CompiledMapping,
    tenant: str,
    transaction: Transaction,
    mode: WriteMode,
) -> PreparedRows:
    ahead = prepare_ahead(rows, mapping, mode)
    if ahead is not None:
        return ahead
    table = mapping.table
    cursor = mapping.mapping.cursor_field
    assert cursor is not None
    current = pl.from_arrow(
        transaction.lookup(table, tenant, rows.select(table.row_key).unique().to_arrow(), [cursor])
    )
    assert isinstance(current, pl.DataFrame)
    applied = rows_to_apply(rows, table, cursor, current)
    return PreparedRows(_last_per_key(applied, table), rows.height - applied.height)


def rows_to_apply(
    rows: pl.DataFrame, table: TableSpec, cursor: str, current: pl.DataFrame
) -> pl.DataFrame:
    """The rows an upsert applies: a row older than its key's ``current`` cursor (one row per
    key, the destination's) or than an earlier row of the batch is skipped."""
    key = table.row_key
    joined = rows.join(
        current.rename({cursor: CURRENT}),
        on=key,
        how="left",
        maintain_order="left",
        nulls_equal=True,
    )
    earlier = pl.col(cursor).cum_max().shift(1).over(key)
    newest = pl.max_horizontal(pl.col(CURRENT), earlier)
    keep = newest.is_null() | (pl.col(cursor) >= newest)
    return joined.filter(keep.fill_null(False)).drop(CURRENT)


def _last_per_key(rows: pl.DataFrame, table: TableSpec) -> pa.Table:
    # The tenant key holds one value in a batch: the rest of the key tells rows apart.
    key = table.row_key or list(table.primary_key)
    last = pl.col(key[0]) if len(key) == 1 else pl.struct(key)
    return _arrow(rows.filter(last.is_last_distinct()))


def _arrow(rows: pl.DataFrame) -> pa.Table:
    # Arrow's string views, which Polars holds: no copy, and both ADBC drivers take them.
    return rows.to_arrow(compat_level=pl.CompatLevel.newest())
