"""Typed tree -> Polars: one expression over the whole batch, plus where each call failed.

The frame a compiled expression runs on holds the declared source fields, already converted
to their declared types, so a field is just its column (and a nested one a struct field).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from isthmus.mapping.functions import get_function
from isthmus.mapping.models import (
    BoolOp,
    Call,
    CallInput,
    CompiledExpression,
    Conditional,
    DictLiteral,
    FieldRef,
    ListLiteral,
    Literal,
    Operation,
    RowFailure,
    Staged,
    Step,
    Typed,
)
from isthmus.mapping.operators_lowering import Fallible, lower_operation
from isthmus.types import Kind


def compile_typed(typed: Typed, text: str, prefix: str = "__step") -> CompiledExpression:
    """Compile a type-checked expression written as ``text``.

    The expression's output name is unspecified: callers alias it to the target field. The
    result carries the expression twice: whole, and staged (each fallible call computed once
    into a column named from ``prefix``, which must be unique in the frame it runs on).
    """
    whole = _Compiler(None)
    expr, _ = whole.compile(typed)
    failures = whole.failures
    if not _reads_columns(typed):  # a lone scalar would make a one-row select; give it the
        expr = _batch_length(expr)  # batch's length
        failures = [
            RowFailure(
                f.function,
                f.argument,
                _batch_length(f.condition),
                _batch_length(f.value),
                f.reason,
            )
            for f in failures
        ]
        staged = None
    else:
        stages = _Compiler(prefix)
        staged_expr, _ = stages.compile(typed)
        dtype = typed.type.to_polars()
        staged = Staged(tuple(stages.steps), staged_expr.cast(dtype), tuple(stages.failures))
    return CompiledExpression(
        text,
        typed.type,
        expr.cast(typed.type.to_polars()),
        tuple(failures),
        _fields_read(typed),
        staged,
    )


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
            case Call():
                return self._call(typed, node)
            case DictLiteral():  # the type checker lets a table through only as lookup()'s
                raise AssertionError("a dict literal outside lookup() passed the type checker")
            case _:
                return self._operation(typed, node)

    def _call(self, typed: Typed, node: Call) -> tuple[pl.Expr, int]:
        spec, binding = get_function(node.name), typed.call
        assert spec is not None
        assert binding is not None
        if not spec.null_tolerant and any(v.type.kind is Kind.NULL for v in binding.values):
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
        failures: list[Fallible] = []
        if lowered.failed is not None:
            argument = binding.values[0].node.text
            shown = values[0].cast(pl.String)
            failures.append(
                Fallible(spec.name, argument, shown, lowered.failed, lowered.failed_given)
            )
        return self._fallible(lowered.expr, failures, level, not _reads_columns(typed))

    def _operation(self, typed: Typed, node: Operation) -> tuple[pl.Expr, int]:
        compiled: list[tuple[pl.Expr, int]] = []
        spans: list[tuple[int, int]] = []  # the failures each operand added
        for operand in typed.operands:
            start = len(self.failures)
            compiled.append(self.compile(operand))
            spans.append((start, len(self.failures)))
        values = tuple(expr for expr, _ in compiled)
        for index, (start, end) in enumerate(spans):
            guard = _used_where(node, index, values)
            if guard is not None:  # a failure in a branch not taken is no failure
                self.failures[start:end] = [_only_where(f, guard) for f in self.failures[start:end]]
        level = max((lvl for _, lvl in compiled), default=0)
        lowered = lower_operation(typed, values)
        return self._fallible(lowered.expr, lowered.failures, level, not _reads_columns(typed))

    def _fallible(
        self, expr: pl.Expr, failures: Sequence[Fallible], level: int, constant: bool
    ) -> tuple[pl.Expr, int]:
        """Record where ``expr`` failed; with a prefix, compute a fallible ``expr`` once, as a
        step whose column the failures then test."""
        if constant:
            # Some Polars operations (replace_strict, is_in) turn a literal into a one-row
            # column, which does not broadcast; .first() makes a computation on constants a
            # scalar.
            for f in failures:
                self._fail(f, f.failed.first(), f.shown.first())
            return expr.first(), level
        if not failures:
            return expr, level
        if self.prefix is None or any(f.failed_given is None for f in failures):
            for f in failures:
                self._fail(f, f.failed, f.shown)
            return expr, level
        name = f"{self.prefix}{len(self.steps)}"
        self.steps.append(Step(name, expr, level + 1))
        for f in failures:
            assert f.failed_given is not None
            self._fail(f, f.failed_given(pl.col(name)), f.shown)
        return pl.col(name), level + 1

    def _fail(self, failure: Fallible, condition: pl.Expr, shown: pl.Expr) -> None:
        self.failures.append(
            RowFailure(failure.function, failure.argument, condition, shown, failure.reason)
        )


def _used_where(node: Operation, index: int, values: tuple[pl.Expr, ...]) -> pl.Expr | None:
    """The rows where operand ``index`` of ``node`` is used (None: all): a conditional takes
    one branch, and ``and``/``or`` need their right side only where the left does not decide
    the result, as in Python."""
    if isinstance(node, Conditional) and index != 1:
        taken = values[1].cast(pl.Boolean).fill_null(False)  # a null condition takes else
        return taken if index == 0 else ~taken
    if isinstance(node, BoolOp) and index == 1:
        left = values[0].cast(pl.Boolean)
        return left.fill_null(True) if node.op == "and" else ~left.fill_null(False)
    return None


def _only_where(failure: RowFailure, used: pl.Expr) -> RowFailure:
    condition = failure.condition & used
    return RowFailure(failure.function, failure.argument, condition, failure.value, failure.reason)


def _fields_read(typed: Typed) -> frozenset[str]:
    """The top-level source fields an expression reads."""
    if isinstance(typed.node, FieldRef):
        return frozenset({typed.node.path[0]})
    return frozenset().union(*(_fields_read(operand) for operand in typed.operands))


def _reads_columns(typed: Typed) -> bool:
    """Whether the expression reads any column: a source field, or a call's run context (such
    as the run's start time), so that it is not a constant."""
    if isinstance(typed.node, FieldRef):
        return True
    if isinstance(typed.node, Call):
        spec = get_function(typed.node.name)
        if spec is not None and spec.context_column is not None:
            return True
    return any(_reads_columns(operand) for operand in typed.operands)
