"""The engine computes each fallible call once, as a step column (CompiledExpression.staged):
for the new functions, the staged expression gives the same values and failures as the whole
one."""

from __future__ import annotations

import polars as pl
import pytest
from support_functions import compiled

from isthmus.types import STRING

TEXTS = ['{"a": 1}', "1.5", "2", "2024-01-02", "bad", None, "-9223372036854775808", ""]


@pytest.mark.parametrize(
    "text",
    [
        "json_get(parse_json(x), 'a')",
        "to_int(to_decimal(x))",
        "abs(to_int(x))",
        "round(to_decimal(x), 1)",
        "to_string(to_date(x))",
        "format_timestamp(to_date(x))",
        "default(to_int(x), 0)",
        "hash(to_decimal(x))",
        "mask(to_string(parse_date(x, '%Y-%m-%d')), 2)",
    ],
)
def test_staged_and_whole_expressions_agree(text: str):
    result = compiled(text, {"x": STRING})
    assert result.staged is not None
    assert result.staged.steps  # at least one fallible call became a step
    frame = pl.DataFrame({"x": pl.Series(TEXTS, dtype=pl.String)})
    whole = frame.select(
        result.expr.alias("v"), *[f.condition.alias(f"c{k}") for k, f in enumerate(result.failures)]
    )
    lazy = frame.lazy()
    for level in sorted({step.level for step in result.staged.steps}):
        lazy = lazy.with_columns(
            step.expr.alias(step.name) for step in result.staged.steps if step.level == level
        )
    staged = lazy.select(
        result.staged.expr.alias("v"),
        *[f.condition.alias(f"c{k}") for k, f in enumerate(result.staged.failures)],
    ).collect()
    assert staged.equals(whole)
