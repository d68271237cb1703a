"""Operators as Polars expressions over whole batches, with SQL's nulls.

Any arithmetic or comparison with a null is null; ``and``/``or`` are Kleene's three-valued
logic (Polars' ``&``/``|``). A row an operator cannot compute gives null and a
:class:`Fallible` saying where: a division by zero, an integer result beyond 64 bits
(integers are computed in 128 bits and checked), or a decimal result beyond decimal(38, 9)
(operands that would overflow are set aside before Polars sees them, since Polars raises for
the whole batch). Float arithmetic is IEEE 754: it may give inf or NaN, never a failure, except
division by zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from isthmus.mapping.models import (
    BinaryOp,
    BoolOp,
    Compare,
    Conditional,
    Literal,
    Membership,
    Not,
    Typed,
    UnaryOp,
)
from isthmus.mapping.operators import arithmetic_result
from isthmus.types import DECIMAL, DECIMAL_PRECISION, DECIMAL_SCALE, DataType, Kind

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = DECIMAL.to_polars()
_DECIMAL_MAX = pl.lit(  # the largest decimal(38, 9): 29 nines, the point, 9 nines
    Decimal("9" * (DECIMAL_PRECISION - DECIMAL_SCALE) + "." + "9" * DECIMAL_SCALE), _DECIMAL
)


@dataclass(frozen=True, slots=True)
class Fallible:
    """Rows where an operator (or call) gave null because it could not compute them."""

    function: str  # the operator, e.g. "/"
    argument: str  # source text of the operand (or the operation) at fault
    shown: pl.Expr  # String: the offending value as text
    failed: pl.Expr  # Boolean: the rows that failed
    failed_given: Callable[[pl.Expr], pl.Expr] | None  # the same, from the computed result
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LoweredOperation:
    expr: pl.Expr
    failures: tuple[Fallible, ...] = ()


def lower_operation(typed: Typed, values: tuple[pl.Expr, ...]) -> LoweredOperation:
    """The Polars expression of an operator node; ``values`` are its compiled operands."""
    node, result = typed.node, typed.type
    if result.kind is Kind.NULL:
        return LoweredOperation(pl.lit(None))
    match node:
        case BinaryOp():
            return _arithmetic(typed, node, *values)
        case UnaryOp():
            return _sign(typed, node, values[0])
        case Compare():
            left, right = _common(typed.operands, values)
            return LoweredOperation(_COMPARE[node.op](left, right))
        case BoolOp():
            left, right = (value.cast(pl.Boolean) for value in values)
            return LoweredOperation(left & right if node.op == "and" else left | right)
        case Not():
            return LoweredOperation(~values[0].cast(pl.Boolean))
        case Conditional():
            body, test, orelse = values
            dtype = result.to_polars()
            chosen = pl.when(test.cast(pl.Boolean)).then(body.cast(dtype))
            return LoweredOperation(chosen.otherwise(orelse.cast(dtype)))
        case Membership():
            found = _membership(typed, *values)
            return LoweredOperation(~found if node.negated else found)
    raise AssertionError(f"not an operator: {node!r}")


_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _common(operands: tuple[Typed, ...], values: tuple[pl.Expr, ...]) -> tuple[pl.Expr, ...]:
    """The operands cast to one dtype: numbers to the wider kind (an integer compared with a
    float is converted to float, as SQL does), anything else to its own type."""
    types = [operand.type for operand in operands]
    concrete = [t for t in types if t.kind is not Kind.NULL]
    if not concrete:
        return values
    target: DataType = concrete[0]
    if all(t.is_numeric for t in concrete):
        target = arithmetic_result("+", concrete) or target
    return tuple(value.cast(target.to_polars()) for value in values)


def _membership(typed: Typed, value: pl.Expr, container: pl.Expr) -> pl.Expr:
    value_type, list_type = typed.operands[0].type, typed.operands[1].type
    if value_type.kind is Kind.NULL:
        return pl.lit(None, pl.Boolean)
    item = list_type.item
    assert item is not None
    target = value_type
    if value_type.is_numeric and item.is_numeric:
        target = arithmetic_result("+", [value_type, item]) or value_type
    # a null in the list matches nothing; a null value or a null list gives null
    return value.cast(target.to_polars()).is_in(container.cast(pl.List(target.to_polars())))


def _sign(typed: Typed, node: UnaryOp, value: pl.Expr) -> LoweredOperation:
    dtype = typed.type.to_polars()
    if node.op == "+":
        return LoweredOperation(value.cast(dtype))
    if typed.type.kind is not Kind.INTEGER:
        return LoweredOperation(-value.cast(dtype))  # float and decimal(38, 9) are symmetric
    # 0 - x in 128 bits (Polars does not negate Int128), so -(-2**63) is out of range, not wrapped
    negated = (pl.lit(0, pl.Int128) - value.cast(pl.Int128)).cast(pl.Int64, strict=False)
    overflow = Fallible(
        "-",
        node.operand.text,
        value.cast(pl.String),
        (value == INT64_MIN).fill_null(False),
        lambda result: value.is_not_null() & result.is_null(),
        f"{node.text} overflows 64-bit integers",
    )
    return LoweredOperation(negated, (overflow,))


def _arithmetic(typed: Typed, node: BinaryOp, left: pl.Expr, right: pl.Expr) -> LoweredOperation:
    kind = typed.type.kind
    if kind is Kind.STRING:
        return LoweredOperation(pl.concat_str([left.cast(pl.String), right.cast(pl.String)]))
    if node.op == "/":
        return _divide(typed, node, left, right)
    if kind is Kind.FLOAT:
        return LoweredOperation(_APPLY[node.op](left.cast(pl.Float64), right.cast(pl.Float64)))
    both = left.is_not_null() & right.is_not_null()
    shown = pl.concat_str([left.cast(pl.String), pl.lit(f" {node.op} "), right.cast(pl.String)])
    if kind is Kind.INTEGER:
        wide = _APPLY[node.op](left.cast(pl.Int128), right.cast(pl.Int128))
        result = wide.cast(pl.Int64, strict=False)  # null where beyond 64 bits
        failed = both & result.is_null()
        reason = f"{node.text} overflows 64-bit integers"
    else:
        a, b = left.cast(_DECIMAL), right.cast(_DECIMAL)
        failed = both & _decimal_overflows(node.op, a, b).fill_null(False)
        result = pl.when(~failed).then(
            _APPLY[node.op](_unless(failed, a, 0), _unless(failed, b, 0)).cast(_DECIMAL)
        )
        reason = f"{node.text} overflows decimal({DECIMAL_PRECISION}, {DECIMAL_SCALE})"
    overflow = Fallible(node.op, node.text, shown, failed, lambda r: both & r.is_null(), reason)
    return LoweredOperation(result, (overflow,))


_APPLY: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _unless(failed: pl.Expr, value: pl.Expr, stand_in: int) -> pl.Expr:
    """``value``, with a harmless stand-in on the rows that are going to fail."""
    return pl.when(failed).then(pl.lit(stand_in).cast(_DECIMAL)).otherwise(value)


def _decimal_overflows(op: str, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Whether ``a op b`` would leave decimal(38, 9), tested without leaving it."""
    if op == "-":
        op, b = "+", -b
    if op == "+":  # only same signs can overflow; MAX - b and -MAX - b stay in range
        positive = pl.when(b > 0).then(b).otherwise(pl.lit(0).cast(_DECIMAL))
        negative = pl.when(b < 0).then(b).otherwise(pl.lit(0).cast(_DECIMAL))
        return ((b > 0) & (a > _DECIMAL_MAX - positive)) | (
            (b < 0) & (a < -_DECIMAL_MAX - negative)
        )
    # |a * b| > MAX only if |b| >= 1 and |a| > MAX / |b|; |a / b| > MAX only if |b| < 1 and
    # |a| > MAX * |b|. Both bounds are in range but rounded to 9 places, so a value equal to
    # the rounded bound counts as too large: no row Polars would refuse slips through.
    if op == "*":
        divisor = pl.when(b.abs() >= 1).then(b.abs()).otherwise(pl.lit(1).cast(_DECIMAL))
        return (b.abs() >= 1) & (a.abs() >= _DECIMAL_MAX / divisor)
    factor = pl.when(b.abs() < 1).then(b.abs()).otherwise(pl.lit(1).cast(_DECIMAL))
    return (b.abs() < 1) & (b != 0) & (a.abs() >= _DECIMAL_MAX * factor)


def _divide(typed: Typed, node: BinaryOp, left: pl.Expr, right: pl.Expr) -> LoweredOperation:
    zero = left.is_not_null() & (right == 0).fill_null(False)
    by_zero = Fallible(
        "/",
        node.right.text,
        right.cast(pl.String),
        zero,
        lambda _result: zero,
        _zero_reason(node),
    )
    if typed.type.kind is Kind.FLOAT:
        quotient = left.cast(pl.Float64) / right.cast(pl.Float64)
        return LoweredOperation(pl.when(~zero).then(quotient), (by_zero,))
    a, b = left.cast(_DECIMAL), right.cast(_DECIMAL)
    both = left.is_not_null() & right.is_not_null()
    over = both & _decimal_overflows("/", a, b).fill_null(False)
    unusable = zero | over
    quotient = _unless(unusable, a, 0) / _unless(unusable, b, 1)
    overflow = Fallible(
        "/",
        node.text,
        pl.concat_str([left.cast(pl.String), pl.lit(" / "), right.cast(pl.String)]),
        over,
        lambda _result: over,
        f"{node.text} overflows decimal({DECIMAL_PRECISION}, {DECIMAL_SCALE})",
    )
    return LoweredOperation(pl.when(~unusable).then(quotient.cast(_DECIMAL)), (by_zero, overflow))


def _zero_reason(node: BinaryOp) -> str:
    said = "" if isinstance(node.right, Literal) else f": {node.right.text} is 0"
    return f"division by zero in {node.text}{said}"
