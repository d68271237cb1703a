"""Core-model constraints as vectorized row checks over mapped columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from isthmus.config.models import CoreField
from isthmus.types import Kind


@dataclass(frozen=True)
class Check:
    """One reason a row can be rejected.

    ``failed`` is True on the rows it rejects and ``value`` gives the offending value as text;
    both are expressions over the frame the check runs on. ``message`` never holds a value, so
    it can be shown and logged without masking.
    """

    rule: str
    field: str | None
    message: str
    failed: pl.Expr
    value: pl.Expr


def field_checks(name: str, spec: CoreField, *, required: bool) -> Iterator[Check]:
    """The checks a core field's constraints impose, in a fixed order."""
    column = pl.col(name)
    text = column.cast(pl.String)
    kind = spec.data_type.kind
    if required:
        empty = column.is_null()
        # A missing value is null, or empty text: shown as it is. Only text is worth reading,
        # and not formatting every row of a timestamp column saves real time per batch.
        missing = pl.lit(None, pl.String)
        if kind is Kind.STRING:
            empty = empty | (column.str.len_chars() == 0)
            missing = column
        yield Check("required", name, "is required but has no value", empty, missing)
    if spec.enum is not None:
        allowed = ", ".join(str(v) for v in spec.enum)
        yield Check(
            "enum",
            name,
            f"is not one of: {allowed}",
            column.is_not_null() & ~column.is_in(list(spec.enum)),
            text,
        )
    if spec.pattern is not None:
        yield Check(
            "pattern",
            name,
            f"does not match the pattern {spec.pattern}",
            column.is_not_null() & ~column.str.contains(spec.pattern),
            text,
        )
    if spec.min is not None:
        yield Check("min", name, f"is below the minimum {spec.min:g}", column < spec.min, text)
    if spec.max is not None:
        yield Check("max", name, f"is above the maximum {spec.max:g}", column > spec.max, text)
    if spec.max_length is not None:
        yield Check(
            "max_length",
            name,
            f"is longer than {spec.max_length} characters",
            column.str.len_chars() > spec.max_length,
            text,
        )
