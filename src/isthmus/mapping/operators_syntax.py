"""Reading operators out of Python's syntax tree: which ones the language has, where each
operator character is, and what to write instead of one it does not have.

The parser calls these with itself as the :class:`Reader`, so offsets are counted the same
way (characters of the first line, not UTF-8 bytes) everywhere.
"""

from __future__ import annotations

import ast
from typing import Protocol

from isthmus.mapping.errors import ExpressionSyntaxError
from isthmus.mapping.models import (
    BinaryOp,
    BoolOp,
    Compare,
    Literal,
    Membership,
    Node,
    Not,
    UnaryOp,
)

ARITHMETIC: dict[type[ast.AST], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
COMPARISONS: dict[type[ast.AST], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_BITS = "for booleans use 'and', 'or' and 'not'"
# Operators outside the language, with what to write instead.
REFUSED: dict[type[ast.AST], tuple[str, str]] = {
    ast.FloorDiv: ("//", "divide with '/'; there is no floor division"),
    ast.Mod: ("%", "there is no remainder operator"),
    ast.Pow: ("**", "multiply the value by itself with '*'"),
    ast.MatMult: ("@", "use '*' to multiply numbers"),
    ast.BitOr: ("|", _BITS),
    ast.BitAnd: ("&", _BITS),
    ast.BitXor: ("^", _BITS),
    ast.LShift: ("<<", "multiply with '*' instead of shifting"),
    ast.RShift: (">>", "divide with '/' instead of shifting"),
    ast.Invert: ("~", _BITS),
}
_NOT_A_LIST = {ast.Tuple: "a tuple", ast.Set: "a set literal"}


class Reader(Protocol):
    """What these functions need of the parser."""

    body: str  # the expression text without its leading indentation
    indent: int  # how many characters of indentation were removed
    first_line: bytes  # the body's first line in UTF-8, as ast's offsets count it

    def node(self, node: ast.expr, depth: int) -> Node: ...

    def col(self, node: ast.expr) -> int: ...

    def text(self, node: ast.AST) -> str: ...

    def literal(self, node: ast.Constant | ast.UnaryOp) -> Literal: ...


def operator_col(reader: Reader, left: ast.expr) -> int:
    """Where an operator is: the first character after its left operand and brackets."""
    if left.end_lineno != 1 or left.end_col_offset is None:
        return reader.indent
    end = len(reader.first_line[: left.end_col_offset].decode("utf-8", "replace"))
    while end < len(reader.body) and reader.body[end] in " \t)":
        end += 1
    return reader.indent + end


def refused(op: ast.AST, col: int) -> ExpressionSyntaxError:
    symbol, hint = REFUSED.get(type(op), (type(op).__name__, "use a registered function"))
    return ExpressionSyntaxError(
        f"the operator '{symbol}' is not supported in a mapping expression", col, hint=hint
    )


def binary(reader: Reader, node: ast.BinOp, depth: int) -> BinaryOp:
    symbol = ARITHMETIC.get(type(node.op))
    op_col = operator_col(reader, node.left)
    if symbol is None:
        raise refused(node.op, op_col)
    return BinaryOp(
        symbol,
        reader.node(node.left, depth + 1),
        reader.node(node.right, depth + 1),
        reader.col(node),
        reader.text(node),
        op_col,
    )


def unary(reader: Reader, node: ast.UnaryOp, depth: int) -> Node:
    if isinstance(node.op, ast.Not):
        return Not(reader.node(node.operand, depth + 1), reader.col(node), reader.text(node))
    if not isinstance(node.op, ast.USub | ast.UAdd):
        raise refused(node.op, reader.col(node))
    inner: ast.expr = node.operand
    while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub | ast.UAdd):
        inner = inner.operand  # a loop, not recursion: "- - - ... 1" can be long
    if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
        return reader.literal(node)  # a signed number is a constant, e.g. -1 as a table key
    symbol = "-" if isinstance(node.op, ast.USub) else "+"
    operand = reader.node(node.operand, depth + 1)
    return UnaryOp(symbol, operand, reader.col(node), reader.text(node))


def compare(reader: Reader, node: ast.Compare, depth: int) -> Node:
    if len(node.ops) > 1:
        raise chained(reader, node)
    op, right = node.ops[0], node.comparators[0]
    op_col = operator_col(reader, node.left)
    if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Tuple | ast.Set):
        items = reader.text(right).strip("(){} \t")
        raise ExpressionSyntaxError(
            f"'in' takes a list in square brackets, not {_NOT_A_LIST[type(right)]}",
            reader.col(right),
            hint=f"write {reader.text(node.left)} {_symbol(op)} [{items}]",
        )
    symbol = COMPARISONS.get(type(op))
    if isinstance(op, ast.Is | ast.IsNot):
        written = "!=" if isinstance(op, ast.IsNot) else "=="
        test = f"{'not ' if written == '!=' else ''}is_null({reader.text(node.left)})"
        raise ExpressionSyntaxError(
            f"the operator '{_symbol(op)}' is not supported in a mapping expression",
            op_col,
            hint=f"compare values with '{written}', or test for a missing value with {test}",
        )
    if symbol is None and not isinstance(op, ast.In | ast.NotIn):
        raise refused(op, op_col)
    left = reader.node(node.left, depth + 1)
    other = reader.node(right, depth + 1)
    col, text = reader.col(node), reader.text(node)
    if symbol is None:
        return Membership(isinstance(op, ast.NotIn), left, other, col, text, op_col)
    return Compare(symbol, left, other, col, text, op_col)


def _symbol(op: ast.cmpop) -> str:
    if isinstance(op, ast.In | ast.NotIn):
        return "in" if isinstance(op, ast.In) else "not in"
    if isinstance(op, ast.Is | ast.IsNot):
        return "is" if isinstance(op, ast.Is) else "is not"
    return COMPARISONS.get(type(op), "?")


def chained(reader: Reader, node: ast.Compare) -> ExpressionSyntaxError:
    """``a < b < c`` means ``a < b and b < c`` in Python; the language asks for it written so."""
    operands = [reader.text(operand) for operand in (node.left, *node.comparators)]
    pairs = [f"{operands[i]} {_symbol(op)} {operands[i + 1]}" for i, op in enumerate(node.ops)]
    return ExpressionSyntaxError(
        "chained comparisons like a < b < c are not supported",
        operator_col(reader, node.comparators[0]),
        hint=f"write {' and '.join(pairs)}",
    )


def bool_op(reader: Reader, node: ast.BoolOp, depth: int) -> Node:
    """``a and b and c`` as ``(a and b) and c``, each part keeping its own text."""
    symbol = "and" if isinstance(node.op, ast.And) else "or"
    first = node.values[0]
    result = reader.node(first, depth + 1)
    for previous, value in zip(node.values, node.values[1:], strict=False):
        right = reader.node(value, depth + 1)
        last = value is node.values[-1]
        text = reader.text(node) if last else _span(reader, first, value) or reader.text(node)
        op_col = operator_col(reader, previous)
        result = BoolOp(symbol, result, right, reader.col(node), text, op_col)
    return result


def _span(reader: Reader, first: ast.expr, last: ast.expr) -> str:
    """The source text from the start of ``first`` to the end of ``last``."""
    whole = ast.expr(
        lineno=first.lineno,
        col_offset=first.col_offset,
        end_lineno=last.end_lineno,
        end_col_offset=last.end_col_offset,
    )
    return ast.get_source_segment(reader.body, whole) or ""
