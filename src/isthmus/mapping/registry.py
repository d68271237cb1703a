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
        return any(assignable(found, wanted) for wanted in self.accepts)

    def describe(self) -> str:
        if self.kind is ParamKind.TABLE:
            return "a dict literal {key: value, ...}"
        if not self.accepts:
            return "any scalar constant" if self.constant else "any scalar"
        nullable = (
            " or None" if self.constant and not self.required and self.default is None else ""
        )
        return " or ".join(str(t) for t in self.accepts) + nullable

    def __str__(self) -> str:
        text = f"{'*' if self.variadic else ''}{self.name}: {self.describe()}"
        return text if self.required else f"{text} = {self.default!r}"


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
