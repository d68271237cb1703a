"""The data of the mapping language: the parsed IR, the type-checked tree and compiled results.

Every IR node keeps ``col``, its 0-based character offset in the expression text (first line),
and ``text``, the source it was parsed from, so diagnostics and row failures can point at it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from isthmus.types import BOOLEAN, FLOAT, INTEGER, NULL, STRING, DataType

Expression = str | bool | int | float
"""A YAML mapping value: a string is parsed as an expression; a bool, int or float is a constant."""

Constant = str | int | float | bool | None
"""The value of a literal in an expression."""

Table = tuple[tuple[Constant, Constant], ...]
"""A lookup table as written: (key, value) pairs in order."""


def constant_type(value: Constant) -> DataType:
    """The static type of a constant."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    return FLOAT if isinstance(value, float) else STRING


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A source field: ``Email`` is ("Email",), ``Account.Id`` is ("Account", "Id")."""

    path: tuple[str, ...]
    offsets: tuple[int, ...]  # where each path segment starts, for pointing at a bad one
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class Literal:
    value: Constant
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[Literal, ...]
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class DictLiteral:
    entries: tuple[tuple[Literal, Literal], ...]
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """Arithmetic: ``op`` is one of ``+ - * /``; ``op_col`` is where the operator is."""

    op: str
    left: Node
    right: Node
    col: int
    text: str
    op_col: int


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """A sign on an expression that is not a number constant: ``op`` is ``-`` or ``+``."""

    op: str
    operand: Node
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class Compare:
    """One comparison (``op`` one of ``== != < <= > >=``); chains are refused by the parser."""

    op: str
    left: Node
    right: Node
    col: int
    text: str
    op_col: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``left and right`` or ``left or right``; ``a and b and c`` nests to the left."""

    op: str
    left: Node
    right: Node
    col: int
    text: str
    op_col: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class Conditional:
    """``body if test else orelse``."""

    body: Node
    test: Node
    orelse: Node
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class Membership:
    """``value in container`` (``negated`` for ``not in``); the container is a list."""

    negated: bool
    value: Node
    container: Node
    col: int
    text: str
    op_col: int


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str
    value: Node
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    keywords: tuple[Keyword, ...]
    col: int
    text: str


Node = (
    FieldRef
    | Literal
    | ListLiteral
    | DictLiteral
    | BinaryOp
    | UnaryOp
    | Compare
    | BoolOp
    | Not
    | Conditional
    | Membership
    | Call
)
Operation = BinaryOp | UnaryOp | Compare | BoolOp | Not | Conditional | Membership
"""The nodes of operators, typed and lowered by :mod:`isthmus.mapping.operators`."""


@dataclass(frozen=True, slots=True)
class Typed:
    """A node with its static type; ``operands`` are the typed value inputs it computes from."""

    node: Node
    type: DataType
    operands: tuple[Typed, ...] = ()
    call: Binding | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    """A call's arguments matched to the function's parameters, constants read out."""

    function: str
    values: tuple[Typed, ...]  # value arguments in order, variadic ones expanded
    options: Mapping[str, Constant] = field(default_factory=dict)  # defaults filled in
    option_nodes: Mapping[str, Node] = field(default_factory=dict)  # those written out
    table: Table | None = None
    table_node: DictLiteral | None = None


@dataclass(frozen=True, slots=True)
class RowFailure:
    """A call or operator that can fail per row: where ``condition`` holds it yielded null."""

    function: str  # e.g. "to_float", or an operator: "/"
    argument: str  # source text of the failing argument, e.g. "trim(LeadScore)"
    condition: pl.Expr  # Boolean: true on exactly the rows where this call failed
    value: pl.Expr  # String: the offending input value as text
    reason: str = ""  # why, for an operator: "division by zero in Amount / Count"

    def describe(self) -> str:
        """The row's reason as a quarantine shows it."""
        return self.reason or f"{self.function}() cannot use the value of {self.argument}"


@dataclass(frozen=True, slots=True)
class Step:
    """A call that can fail, computed once into column ``name`` before the expression that
    uses it; steps of a higher ``level`` read columns of lower ones."""

    name: str
    expr: pl.Expr
    level: int


@dataclass(frozen=True, slots=True)
class Staged:
    """The expression in stages: ``steps`` first (by level), then ``expr`` and ``failures``,
    which read the steps' columns instead of computing those calls again."""

    steps: tuple[Step, ...]
    expr: pl.Expr
    failures: tuple[RowFailure, ...]


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    text: str  # the expression as written (str(value) for constants)
    type: DataType  # static result type (NULL for a bare None literal)
    expr: pl.Expr  # evaluates to the value, with dtype type.to_polars()
    failures: tuple[RowFailure, ...]  # in evaluation order, inner calls first
    source_fields: frozenset[str]  # top-level source fields it reads
    staged: Staged | None = None  # the same, computing each fallible call once


@dataclass(frozen=True, slots=True)
class CallInput:
    """What a function's compiler gets: its compiled value arguments and its constants."""

    values: tuple[pl.Expr, ...]
    types: tuple[DataType, ...]
    options: Mapping[str, Constant]
    table: Table | None
    result: DataType


@dataclass(frozen=True, slots=True)
class Lowered:
    """A compiled call: its value, and for a call that can fail, the rows where it did.

    ``failed_given`` says the same as ``failed`` from the call's result once it is computed
    (a column), so an engine can compute an expensive call once and test it after.
    """

    expr: pl.Expr
    failed: pl.Expr | None = None
    failed_given: Callable[[pl.Expr], pl.Expr] | None = None
