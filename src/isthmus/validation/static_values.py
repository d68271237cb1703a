"""The values of a mapping expression that are known before any record is read.

A literal, a call on literals (``concat('a', 'b')``), the values of a ``lookup()`` table and
its default, the constant candidates of ``coalesce()`` and the constant branches of
``x if condition else y``: each is a value some rows will get,
so validation can check it against the core field's constraints once, statically. Static
values are computed by the expression's own compiled Polars code on one row, so they are
exactly what a run would produce.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from isthmus.diagnostics import Location
from isthmus.mapping.compiler import compile_typed
from isthmus.mapping.custom import is_custom_function, on_registry_change
from isthmus.mapping.models import Call, Conditional, Expression, FieldRef, Literal, Node, Typed
from isthmus.mapping.parser import parse_value
from isthmus.mapping.registry import get_function
from isthmus.mapping.typecheck import check
from isthmus.types import DataType

# Calls whose result is one of their value arguments: each argument's values are theirs.
PICKS_AN_ARGUMENT = frozenset({"coalesce", "default"})
_ONE_ROW = pl.DataFrame({"__row": [0]})


@dataclass(frozen=True, slots=True)
class Outcome:
    """A value the expression gives some rows, and the part of the expression that gives it."""

    value: object
    node: Node
    source: str  # how a message names it: "the constant", "the lookup() value", ...

    def describe(self) -> str:
        return f"{self.source} {shown(self.value)}"


def typed_expression(
    value: Expression, schema: Mapping[str, DataType], location: Location
) -> Typed | None:
    """The type-checked tree of a mapping value, or None if it does not check."""
    return _typed(value, tuple(schema.items()), location)


# Compiling already parsed and checked the expression; this repeats it for the tree, which
# the compiled form does not keep. Cached like compile_expression: templates repeat.
@lru_cache(maxsize=8192)
def _typed(
    value: Expression, schema_items: tuple[tuple[str, DataType], ...], location: Location
) -> Typed | None:
    node, problems = parse_value(value, location)
    if node is None or problems:
        return None
    text = value if isinstance(value, str) else str(value)
    typed, _ = check(node, dict(schema_items), location, text)
    return typed


# A typed call holds what the registry said of its function when it was checked.
on_registry_change(_typed.cache_clear)


def outcomes(typed: Typed) -> list[Outcome]:
    """The values known statically that ``typed`` gives some rows (nulls left out)."""
    return [outcome for outcome in _outcomes(typed) if outcome.value is not None]


def _outcomes(typed: Typed) -> Iterator[Outcome]:
    node = typed.node
    if is_static(typed):
        value = static_value(typed)
        yield Outcome(value, node, "the constant" if isinstance(node, Literal) else "the value")
        return
    if isinstance(node, Conditional):  # each branch gives some rows its values
        for operand in typed.operands:
            if operand.node is node.body or operand.node is node.orelse:
                yield from _outcomes(operand)
        return
    if not isinstance(node, Call) or typed.call is None:
        return
    binding = typed.call
    if node.name == "lookup" and binding.table_node is not None:
        for _, written in binding.table_node.entries:
            yield Outcome(written.value, written, "the lookup() value")
        default = binding.option_nodes.get("default")
        if isinstance(default, Literal):
            yield Outcome(default.value, default, "the lookup() default")
    elif node.name in PICKS_AN_ARGUMENT:
        for value in binding.values:
            yield from _outcomes(value)


def is_static(typed: Typed) -> bool:
    """Whether ``typed`` reads no source field and no run context: one value for every row
    that validation can compute."""
    node = typed.node
    if isinstance(node, FieldRef):
        return False
    if isinstance(node, Call):
        spec = get_function(node.name)
        # A custom function is the project's own code: validation never runs it.
        if spec is None or spec.context_column is not None or is_custom_function(node.name):
            return False
    return all(is_static(operand) for operand in typed.operands)


def static_value(typed: Typed) -> object:
    """The one value of a static expression (None when it is null or fails)."""
    node = typed.node
    if isinstance(node, Literal):
        return node.value
    compiled = compile_typed(typed, node.text)
    try:
        return _ONE_ROW.select(compiled.expr.alias("value")).item()
    except (pl.exceptions.PolarsError, ValueError):  # not one value alone: not static after all
        return None


def shown(value: object, limit: int = 60) -> str:
    """A value as messages show it: text quoted, and cut short past ``limit`` characters."""
    if not isinstance(value, str):
        return str(value)
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}…' ({len(value)} characters)"
