"""IR -> typed tree: resolve fields against the source schema, bind and check every call.

Problems are collected, not raised, so one pass reports every bad field and call of an
expression. A node whose inputs have problems gets no type, and nothing above it is checked
against a guess.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping.binding import Slot, match, read_constants
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.functions import conversion_hint, get_function, similar_functions
from isthmus.mapping.models import (
    Binding,
    Call,
    DictLiteral,
    FieldRef,
    ListLiteral,
    Literal,
    Node,
    Operation,
    Typed,
    constant_type,
)
from isthmus.mapping.operators import operands_of, type_operation
from isthmus.mapping.parser import SYNTAX, located
from isthmus.mapping.registry import TYPE_MISMATCH, FunctionSpec, ParamKind
from isthmus.types import STRING, DataType, Kind, common_type, list_of

UNDECLARED = "undeclared-source-field"
UNKNOWN_FUNCTION = "unknown-function"
_LISTED = 12  # how many declared names a hint lists


def check(
    node: Node, schema: Mapping[str, DataType], location: Location, text: str
) -> tuple[Typed | None, list[Diagnostic]]:
    """Type ``node`` (parsed from ``text``) against the stream's declared source fields."""
    checker = _Checker(schema, location, text)
    typed = checker.expr(node)
    return (typed if not checker.diagnostics else None), checker.diagnostics


class _Checker:
    def __init__(self, schema: Mapping[str, DataType], location: Location, text: str) -> None:
        self.schema = schema
        self.location = location
        self.text = text
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: str, message: str, col: int, hint: str | None = None) -> None:
        where = located(self.location, self.text, col)
        self.diagnostics.append(Diagnostic(code, message, where, hint))

    def expr(self, node: Node) -> Typed | None:
        match node:
            case FieldRef():
                return self.field(node)
            case Literal():
                return Typed(node, constant_type(node.value))
            case ListLiteral():
                return self.list_literal(node)
            case DictLiteral():
                self.report(
                    SYNTAX,
                    "a dict literal is only allowed as the table of lookup()",
                    node.col,
                    hint="write lookup(Field, {'key': 'value'})",
                )
                return None
            case Call():
                return self.call(node)
            case _:  # the operators
                return self.operation(node)

    def field(self, node: FieldRef) -> Typed | None:
        head = node.path[0]
        found = self.schema.get(head)
        if found is None:
            close = difflib.get_close_matches(head, list(self.schema), n=1)
            guess = f"did you mean {close[0]}? " if close else ""
            self.report(
                UNDECLARED,
                f"source field '{head}' is not declared in the stream's schema",
                node.offsets[0],
                hint=f"{guess}declared fields: {_names(self.schema)}",
            )
            return None
        for depth, name in enumerate(node.path[1:], start=1):
            parent = ".".join(node.path[:depth])
            inner = found.field(name) if found.kind is Kind.STRUCT else None
            if inner is None:
                self.missing_nested(parent, found, name, node.offsets[depth])
                return None
            found = inner
        return Typed(node, found)

    def missing_nested(self, parent: str, found: DataType, name: str, col: int) -> None:
        if found.kind is not Kind.STRUCT:
            self.report(
                UNDECLARED,
                f"source field '{parent}' is of type {found}, not a nested object, "
                f"so it has no field '{name}'",
                col,
                hint=f"use '{parent}' itself, or declare it as a mapping of fields",
            )
            return
        fields = dict(found.fields)
        close = difflib.get_close_matches(name, list(fields), n=1)
        guess = f"did you mean {parent}.{close[0]}? " if close else ""
        self.report(
            UNDECLARED,
            f"nested field '{parent}.{name}' is not declared",
            col,
            hint=f"{guess}'{parent}' has: {_names(fields)}",
        )

    def list_literal(self, node: ListLiteral) -> Typed | None:
        item = common_type([constant_type(item.value) for item in node.items])
        if item is None:
            self.report(
                TYPE_MISMATCH,
                f"the items of the list {node.text} must share one type",
                node.col,
                hint="write them all as strings or all as numbers",
            )
            return None
        return Typed(node, list_of(item))

    def operation(self, node: Operation) -> Typed | None:
        typed = [self.expr(operand) for operand in operands_of(node)]
        operands = tuple(t for t in typed if t is not None)
        if len(operands) < len(typed):
            return None
        result = type_operation(node, operands)
        if isinstance(result, list):
            for problem in result:
                self.report(problem.code, problem.message, problem.col, problem.hint)
            return None
        return Typed(node, result, operands)

    def call(self, node: Call) -> Typed | None:
        spec = get_function(node.name)
        if spec is None:
            close = similar_functions(node.name)
            guess = f"did you mean {' or '.join(close)}? " if close else ""
            self.report(
                UNKNOWN_FUNCTION,
                f"unknown function '{node.name}'",
                node.col,
                hint=f"{guess}see the function reference for what is available",
            )
            return None
        slots, problems = match(spec, node)
        values = [
            self.value_argument(spec, slot) for slot in slots if slot.param.kind is ParamKind.VALUE
        ]
        constants, more = read_constants(spec, slots)
        for problem in [*problems, *more]:
            self.report(problem.code, problem.message, problem.node.col, problem.hint)
        if problems or more or None in values:
            return None
        binding = Binding(
            spec.name,
            tuple(v for v in values if v is not None),
            constants.options,
            constants.nodes,
            constants.table,
            constants.table_node,
        )
        try:
            result = spec.result(binding)
        except ArgumentError as exc:
            self.report(exc.code, exc.message, exc.node.col, exc.hint)
            return None
        return Typed(node, result, binding.values, binding)

    def value_argument(self, spec: FunctionSpec, slot: Slot) -> Typed | None:
        typed = self.expr(slot.node)
        if typed is None or slot.param.takes(typed.type):
            return typed
        self.report(
            TYPE_MISMATCH,
            f"{slot.label(spec.name)} expects {slot.param.describe()}, "
            f"found {typed.type} ({slot.node.text})",
            slot.node.col,
            hint=_argument_hint(slot.node.text, typed.type, slot.param.accepts),
        )
        return None


def _argument_hint(text: str, found: DataType, accepts: tuple[DataType, ...]) -> str | None:
    # text last: to_string() fits almost anything but rarely is the conversion meant
    for wanted in sorted(accepts, key=lambda t: t == STRING):
        hint = conversion_hint(text, found, wanted)
        if hint is not None:
            return f"convert it: {hint}"
    return None


def _names(fields: Mapping[str, object]) -> str:
    names = list(fields)
    more = f", ... ({len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more if names else "(none)"
