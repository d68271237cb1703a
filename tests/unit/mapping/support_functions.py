"""Running mapping expressions on small frames, for the function library's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from isthmus.diagnostics import Location
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.mapping.registry import NOW_COLUMN
from isthmus.types import TIMESTAMP, DataType

LOC = Location(Path("templates/functions.yaml"), 7, 11)


def compiled(text: str, schema: dict[str, DataType]) -> CompiledExpression:
    result, diagnostics = compile_expression(text, schema, LOC)
    assert diagnostics == [], [str(d) for d in diagnostics]
    assert result is not None
    return result


def frame_of(columns: dict[str, tuple[DataType, list[Any]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            name: pl.Series(name, values, dtype=dtype.to_polars())
            for name, (dtype, values) in columns.items()
        }
    )


@dataclass(frozen=True)
class Failure:
    """One row failure as the pipeline reports it."""

    row: int
    function: str
    argument: str
    value: str | None


def evaluate(
    text: str, columns: dict[str, tuple[DataType, list[Any]]], *, now: datetime | None = None
) -> tuple[list[Any], list[Failure]]:
    """The expression's values over the columns, and every row failure, in row order."""
    result = compiled(text, {name: dtype for name, (dtype, _) in columns.items()})
    frame = frame_of(columns)
    if now is not None:
        frame = frame.with_columns(pl.lit(now, dtype=TIMESTAMP.to_polars()).alias(NOW_COLUMN))
    out = frame.select(
        result.expr.alias("value"),
        *[f.condition.alias(f"c{k}") for k, f in enumerate(result.failures)],
        *[f.value.alias(f"v{k}") for k, f in enumerate(result.failures)],
    )
    assert out.schema["value"] == result.type.to_polars()
    failures = [
        Failure(row, f.function, f.argument, out[f"v{k}"][row])
        for row in range(out.height)
        for k, f in enumerate(result.failures)
        if out[f"c{k}"][row]
    ]
    return out["value"].to_list(), failures


def run(text: str, dtype: DataType, values: list[Any]) -> tuple[list[Any], list[Failure]]:
    """Evaluate ``text`` over one column ``x``."""
    return evaluate(text, {"x": (dtype, values)})


def values_of(text: str, dtype: DataType, values: list[Any]) -> list[Any]:
    """The values of ``text`` over a column ``x``, which must not fail on any row."""
    got, failures = run(text, dtype, values)
    assert failures == []
    return got


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    col: int  # 0-based offset in the expression text
    hint: str | None


def problems(text: str, schema: dict[str, DataType]) -> list[Problem]:
    """The diagnostics of an expression that does not compile."""
    result, diagnostics = compile_expression(text, schema, LOC)
    assert result is None
    found = []
    for d in diagnostics:
        assert d.location is not None
        assert d.location.line == LOC.line
        found.append(Problem(d.code, d.message, d.location.column - LOC.column, d.hint))
    return found


def problem(text: str, schema: dict[str, DataType]) -> Problem:
    """The one diagnostic of an expression that does not compile."""
    found = problems(text, schema)
    assert len(found) == 1, found
    return found[0]
