"""Typed tree -> Polars: one expression over the whole batch, plus where each call failed.

The frame a compiled expression runs on holds the declared source fields, already converted
to their declared types, so a field is just its column (and a nested one a struct field).
"""

from __future__ import annotations

import polars as pl

from isthmus.mapping.functions import get_function
from isthmus.mapping.models import (
    BinaryAdd,
    Call,
    CallInput,
    CompiledExpression,
    DictLiteral,
    FieldRef,
    ListLiteral,
    Literal,
    RowFailure,
    Typed,
)
from isthmus.types import Kind


def compile_typed(typed: Typed, text: str) -> CompiledExpression:
    """Compile a type-checked expression written as ``text``.

    The expression's output name is unspecified: callers alias it to the target field.
    """
    failures: list[RowFailure] = []
    expr = _compile(typed, failures)
    fields = _fields_read(typed)
    if not fields:  # a lone scalar would make a one-row select; give it the batch's length
        expr = _batch_length(expr)
        failures = [
            RowFailure(f.function, f.argument, _batch_length(f.condition), _batch_length(f.value))
            for f in failures
        ]
    return CompiledExpression(
        text, typed.type, expr.cast(typed.type.to_polars()), tuple(failures), fields
    )


# Functions whose result is not null just because an argument is (DESIGN.md: concat() reads
# null as empty text, coalesce() skips nulls).
NULL_TOLERANT = frozenset({"concat", "coalesce"})


def _batch_length(scalar: pl.Expr) -> pl.Expr:
    return pl.repeat(scalar, pl.len())


def _compile(typed: Typed, failures: list[RowFailure]) -> pl.Expr:
    """The expression of ``typed``; failing calls append to ``failures``, inner calls first."""
    node = typed.node
    match node:
        case FieldRef():
            expr = pl.col(node.path[0])
            for name in node.path[1:]:
                expr = expr.struct.field(name)
            return expr
        case Literal():
            return pl.lit(node.value, dtype=typed.type.to_polars())
        case ListLiteral():
            return pl.lit([item.value for item in node.items], dtype=typed.type.to_polars())
        case BinaryAdd():
            left, right = (_compile(operand, failures) for operand in typed.operands)
            return _add(typed, left, right)
        case Call():
            return _call(typed, node, failures)
        case DictLiteral():  # the type checker lets a table through only as lookup()'s argument
            raise AssertionError("a dict literal outside lookup() passed the type checker")


def _add(typed: Typed, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    dtype = typed.type.to_polars()
    if typed.type.kind is Kind.NULL:
        return pl.lit(None)
    if typed.type.kind is Kind.STRING:
        return pl.concat_str([left.cast(dtype), right.cast(dtype)])  # null if either is
    return left.cast(dtype) + right.cast(dtype)


def _call(typed: Typed, node: Call, failures: list[RowFailure]) -> pl.Expr:
    spec, binding = get_function(node.name), typed.call
    assert spec is not None
    assert binding is not None
    if spec.name not in NULL_TOLERANT and any(v.type.kind is Kind.NULL for v in binding.values):
        # f(None) is null, as in SQL; lowering it would apply text functions to a null dtype.
        return pl.lit(None, dtype=typed.type.to_polars())
    values = tuple(_compile(value, failures) for value in binding.values)
    lowered = spec.compile(
        CallInput(
            values,
            tuple(value.type for value in binding.values),
            binding.options,
            binding.table,
            typed.type,
        )
    )
    constant = not _fields_read(typed)
    if lowered.failed is not None:
        argument = binding.values[0]
        condition, value = lowered.failed, values[0].cast(pl.String)
        if constant:
            condition, value = condition.first(), value.first()
        failures.append(RowFailure(spec.name, argument.node.text, condition, value))
    # Some Polars operations (replace_strict, is_in) turn a literal into a one-row column,
    # which does not broadcast; .first() makes a call on constants a scalar again.
    return lowered.expr.first() if constant else lowered.expr


def _fields_read(typed: Typed) -> frozenset[str]:
    if isinstance(typed.node, FieldRef):
        return frozenset({typed.node.path[0]})
    return frozenset().union(*(_fields_read(operand) for operand in typed.operands))
