"""The registry's shapes: a function's typed signature, how it types and compiles a call.

:mod:`isthmus.mapping.functions` fills the registry; this module only defines it, so the
binding and type-checking code can depend on the shapes without importing every function.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from isthmus.mapping.models import Binding, CallInput, Constant, Lowered
from isthmus.types import DataType, Kind, assignable

BAD_ARGUMENTS = "bad-arguments"
TYPE_MISMATCH = "type-mismatch"
# The column of run context holding the run's start time (UTC, microseconds), which
# now_utc() reads: the engine adds it to every batch it maps.
NOW_COLUMN = "__isthmus_now"
# What a parameter taking a list of any scalar items accepts (join, length, first, last).
ANY_LIST = DataType(Kind.LIST)


class ParamKind(StrEnum):
    VALUE = "value"  # any expression, passed by position
    TABLE = "table"  # a dict literal of constants, passed by position
    OPTION = "option"  # a constant, by position or keyword
    KEYWORD = "keyword"  # a constant, by keyword only


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    kind: ParamKind
    accepts: tuple[DataType, ...]  # the types it takes (a null fits any); () for any scalar
    doc: str
    required: bool = True
    default: Constant = None
    variadic: bool = False  # VALUE only: one or more arguments

    @property
    def constant(self) -> bool:
        return self.kind in (ParamKind.OPTION, ParamKind.KEYWORD)

    def takes(self, found: DataType) -> bool:
        if not self.accepts:
            return found.is_scalar or found.kind is Kind.NULL
        return any(_fits(found, wanted) for wanted in self.accepts)

    def describe(self) -> str:
        if self.kind is ParamKind.TABLE:
            return "a dict literal {key: value, ...}"
        if not self.accepts:
            return "any scalar constant" if self.constant else "any scalar"
        nullable = (
            " or None" if self.constant and not self.required and self.default is None else ""
        )
        return " or ".join(type_name(t) for t in self.accepts) + nullable

    def __str__(self) -> str:
        text = f"{'*' if self.variadic else ''}{self.name}: {self.describe()}"
        return text if self.required else f"{text} = {self.default!r}"


def type_name(data_type: DataType) -> str:
    """How signatures and messages write a type: ``list[T]`` for a list of any scalar."""
    return "list[T]" if data_type == ANY_LIST else str(data_type)


def _fits(found: DataType, wanted: DataType) -> bool:
    if wanted == ANY_LIST:
        item = found.item
        return found.kind is Kind.NULL or (
            found.kind is Kind.LIST
            and item is not None
            and (item.is_scalar or item.kind is Kind.NULL)
        )
    return assignable(found, wanted)


ResultRule = Callable[[Binding], DataType]  # raises ArgumentError for a call it cannot type
Compiler = Callable[[CallInput], Lowered]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    params: tuple[Parameter, ...]
    returns: str  # the result type, as the docs show it
    result: ResultRule
    compile: Compiler
    doc: str  # one line
    can_fail: bool  # whether a row can fail (yield null plus a RowFailure)
    converts_to: DataType | None = None  # a conversion conversion_hint may propose
    # A column of run context the call reads instead of a source field (now_utc() reads the
    # run's start time), which the engine adds to every batch it maps.
    context_column: str | None = None
    # Whether a null argument is read rather than making the result null, as in SQL: concat
    # reads it as empty text, coalesce and default skip it, is_null answers it.
    null_tolerant: bool = False

    @property
    def signature(self) -> str:
        keyword_only = [p for p in self.params if p.kind is ParamKind.KEYWORD]
        positional = [str(p) for p in self.params if p.kind is not ParamKind.KEYWORD]
        marker = ["*"] if keyword_only and not any(p.variadic for p in self.params) else []
        parts = [*positional, *marker, *(str(p) for p in keyword_only)]
        return f"{self.name}({', '.join(parts)}) -> {self.returns}"


FUNCTIONS: dict[str, FunctionSpec] = {}


def register(spec: FunctionSpec) -> FunctionSpec:
    FUNCTIONS[spec.name] = spec
    return spec


def get_function(name: str) -> FunctionSpec | None:
    """The registered function of that name, or None."""
    return FUNCTIONS.get(name)


def similar_functions(name: str) -> list[str]:
    return difflib.get_close_matches(name, list(FUNCTIONS), n=3, cutoff=0.6)


def conversion_hint(text: str, found: DataType, wanted: DataType) -> str | None:
    """A fix for assigning an expression of type ``found`` to a field of type ``wanted``.

    ``conversion_hint("LeadScore", STRING, FLOAT) == "to_float(LeadScore)"``; None when no
    registered conversion takes ``found`` to ``wanted``, or none is needed.
    """
    if assignable(found, wanted):
        return None
    candidates = [
        spec
        for spec in FUNCTIONS.values()
        if spec.converts_to is not None
        and assignable(spec.converts_to, wanted)
        and spec.params[0].takes(found)
    ]
    candidates.sort(key=lambda spec: spec.converts_to != wanted)  # an exact result first
    return f"{candidates[0].name}({text})" if candidates else None


# Shorthands the function modules register with.


def returns(result: DataType) -> ResultRule:
    """A result rule for a function whose result type does not depend on its arguments."""
    return lambda _binding: result


def value(*accepts: DataType, name: str = "value", doc: str = "the input") -> Parameter:
    """A value argument, passed by position."""
    return Parameter(name, ParamKind.VALUE, accepts, doc)


def option(
    name: str,
    accepts: tuple[DataType, ...],
    doc: str,
    default: Constant = None,
    *,
    required: bool = False,
) -> Parameter:
    """A constant argument, by position or keyword; optional unless ``required``."""
    return Parameter(name, ParamKind.OPTION, accepts, doc, required=required, default=default)


def first_type(binding: Binding) -> DataType:
    """The result rule of a function whose result has its first argument's type."""
    return binding.values[0].type
