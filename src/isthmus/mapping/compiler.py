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
    Staged,
    Step,
    Typed,
)
from isthmus.types import Kind


def compile_typed(typed: Typed, text: str, prefix: str = "__step") -> CompiledExpression:
    """Compile a type-checked expression written as ``text``.

    The expression's output name is unspecified: callers alias it to the target field. The
    result carries the expression twice: whole, and staged (each fallible call computed once
    into a column named from ``prefix``, which must be unique in the frame it runs on).
    """
    whole = _Compiler(None)
    expr, _ = whole.compile(typed)
    fields = _fields_read(typed)
    failures = whole.failures
    if not fields:  # a lone scalar would make a one-row select; give it the batch's length
        expr = _batch_length(expr)
        failures = [
            RowFailure(f.function, f.argument, _batch_length(f.condition), _batch_length(f.value))
            for f in failures
        ]
        staged = None
    else:
        stages = _Compiler(prefix)
        staged_expr, _ = stages.compile(typed)
        dtype = typed.type.to_polars()
        staged = Staged(tuple(stages.steps), staged_expr.cast(dtype), tuple(stages.failures))
    return CompiledExpression(
        text, typed.type, expr.cast(typed.type.to_polars()), tuple(failures), fields, staged
    )


# Functions whose result is not null just because an argument is (DESIGN.md: concat() reads
# null as empty text, coalesce() skips nulls).
NULL_TOLERANT = frozenset({"concat", "coalesce"})


def _batch_length(scalar: pl.Expr) -> pl.Expr:
    return pl.repeat(scalar, pl.len())


class _Compiler:
    """Compiles one expression; with a ``prefix``, fallible calls become steps (columns)."""

    def __init__(self, prefix: str | None) -> None:
        self.prefix = prefix
        self.steps: list[Step] = []
        self.failures: list[RowFailure] = []

    def compile(self, typed: Typed) -> tuple[pl.Expr, int]:
        """The expression of ``typed`` and the highest step level it reads (0: none)."""
        node = typed.node
        match node:
            case FieldRef():
                expr = pl.col(node.path[0])
                for name in node.path[1:]:
                    expr = expr.struct.field(name)
                return expr, 0
            case Literal():
                return pl.lit(node.value, dtype=typed.type.to_polars()), 0
            case ListLiteral():
                items = [item.value for item in node.items]
                return pl.lit(items, dtype=typed.type.to_polars()), 0
            case BinaryAdd():
                (left, a), (right, b) = (self.compile(operand) for operand in typed.operands)
                return _add(typed, left, right), max(a, b)
            case Call():
                return self._call(typed, node)
            case DictLiteral():  # the type checker lets a table through only as lookup()'s
                raise AssertionError("a dict literal outside lookup() passed the type checker")

    def _call(self, typed: Typed, node: Call) -> tuple[pl.Expr, int]:
        spec, binding = get_function(node.name), typed.call
        assert spec is not None
        assert binding is not None
        if spec.name not in NULL_TOLERANT and any(v.type.kind is Kind.NULL for v in binding.values):
            # f(None) is null, as in SQL; lowering it would apply text functions to a null dtype.
            return pl.lit(None, dtype=typed.type.to_polars()), 0
        compiled = [self.compile(value) for value in binding.values]
        values = tuple(expr for expr, _ in compiled)
        level = max((lvl for _, lvl in compiled), default=0)
        lowered = spec.compile(
            CallInput(
                values,
                tuple(v.type for v in binding.values),
                binding.options,
                binding.table,
                typed.type,
            )
        )
        constant = not _fields_read(typed)
        if lowered.failed is None:
            # Some Polars operations (replace_strict, is_in) turn a literal into a one-row
            # column, which does not broadcast; .first() makes a call on constants a scalar.
            return (lowered.expr.first() if constant else lowered.expr), level
        argument = binding.values[0].node.text
        shown = values[0].cast(pl.String)
        if constant:
            self.failures.append(
                RowFailure(spec.name, argument, lowered.failed.first(), shown.first())
            )
            return lowered.expr.first(), level
        if self.prefix is None or lowered.failed_given is None:
            self.failures.append(RowFailure(spec.name, argument, lowered.failed, shown))
            return lowered.expr, level
        name = f"{self.prefix}{len(self.steps)}"
        self.steps.append(Step(name, lowered.expr, level + 1))
        failed = lowered.failed_given(pl.col(name))
        self.failures.append(RowFailure(spec.name, argument, failed, shown))
        return pl.col(name), level + 1


def _add(typed: Typed, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    dtype = typed.type.to_polars()
    if typed.type.kind is Kind.NULL:
        return pl.lit(None)
    if typed.type.kind is Kind.STRING:
        return pl.concat_str([left.cast(dtype), right.cast(dtype)])  # null if either is
    return left.cast(dtype) + right.cast(dtype)


def _fields_read(typed: Typed) -> frozenset[str]:
    if isinstance(typed.node, FieldRef):
        return frozenset({typed.node.path[0]})
    return frozenset().union(*(_fields_read(operand) for operand in typed.operands))
