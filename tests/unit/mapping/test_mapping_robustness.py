"""Robustness properties: no text makes the parser or compiler raise, and any expression
that compiles runs on any batch with its declared dtype (a type-checked mapping never fails a
whole batch at run time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.diagnostics import Location
from isthmus.mapping import FUNCTIONS, compile_expression
from isthmus.mapping.parser import parse
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, struct_of

LOC = Location(Path("templates/robust.yaml"), 3, 7)
texts = st.text(st.characters(exclude_categories=("Cs", "Cn")), max_size=12)
int62s = st.integers(-(2**62), 2**62)


_WORDS = "Email Account Id lower lookup concat parse_timestamp default tz lambda if None True"
_TOKENS = st.sampled_from(_WORDS.split(" ") + list(".(),+-{}:[]=*é\\\"' \n") + ["'x'", "1.5", "**"])
_SCHEMA = {
    "Email": STRING,
    "Id": INTEGER,
    "Account": struct_of({"Id": STRING, "Score": FLOAT}),
}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsing_arbitrary_text_returns_a_node_or_a_diagnostic_and_never_raises(text: str):
    node, diagnostics = parse(text, LOC)
    assert (node is None) == bool(diagnostics)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=25).map("".join))
def test_compiling_token_soup_returns_a_result_or_diagnostics_and_never_raises(text: str):
    compiled, diagnostics = compile_expression(text, _SCHEMA, LOC)
    assert (compiled is None) == bool(diagnostics)
    assert all(d.code and d.message for d in diagnostics)


_LEAVES = ["s", "i", "f", "b", "None", "''", "'2023-04-05'", "'é'", "0", "-3", "1.5", "True"]
_KEYWORDS = [
    "fmt='%Y-%m-%d'",
    "fmt=None",
    "tz='Asia/Tokyo'",
    "default='x'",
    "default=2",
    "ignore_case=True",
    "{'a': 1, 'B': 2.5}",
    "{'é': 'x'}",
    "{1: True}",
]


def _calls(args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, inner, extra: f"{name}({', '.join([*inner, *extra])})",
        st.sampled_from(sorted(FUNCTIONS)),
        st.lists(args, min_size=1, max_size=3),
        st.lists(st.sampled_from(_KEYWORDS), max_size=2, unique=True),
    )


expressions = st.recursive(
    st.sampled_from(_LEAVES),
    lambda inner: _calls(inner) | st.builds("{} + {}".format, inner, inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    expressions,
    st.lists(st.none() | st.tuples(texts, int62s, st.floats(), st.booleans()), max_size=16),
)
def test_an_expression_that_compiles_runs_on_any_batch_with_its_declared_dtype(
    text: str, rows: list[Any]
):
    schema = {"s": STRING, "i": INTEGER, "f": FLOAT, "b": BOOLEAN}
    result, diagnostics = compile_expression(text, schema, LOC)
    if result is None:
        assert diagnostics
        return
    records = [row or (None, None, None, None) for row in rows]
    frame = pl.DataFrame(
        {
            name: pl.Series([r[k] for r in records], dtype=t.to_polars())
            for k, (name, t) in enumerate(schema.items())
        }
    )
    out = frame.select(
        result.expr.alias("value"),
        *[f.condition.alias(f"c{k}") for k, f in enumerate(result.failures)],
        *[f.value.alias(f"v{k}") for k, f in enumerate(result.failures)],
    )
    assert out.height == frame.height
    assert out.schema["value"] == result.type.to_polars()
    for k in range(len(result.failures)):
        assert out.schema[f"c{k}"] == pl.Boolean
        assert out[f"c{k}"].null_count() == 0
        assert out.schema[f"v{k}"] == pl.String
