"""Matching a call's written arguments to its function's parameters, Python-style.

Problems come back as :class:`ArgumentError` values (not raised) so the type checker reports
all of them at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Call, Constant, DictLiteral, Literal, Node, Table, constant_type
from isthmus.mapping.registry import (
    BAD_ARGUMENTS,
    TYPE_MISMATCH,
    FunctionSpec,
    Parameter,
    ParamKind,
)
from isthmus.types import Kind


@dataclass(frozen=True, slots=True)
class Slot:
    """One written argument and the parameter it fills."""

    param: Parameter
    node: Node
    position: int  # 1-based position as written; 0 when passed by keyword

    def label(self, function: str) -> str:
        """How messages name the argument: ``lookup() argument 2 (table)``."""
        if self.position:
            return f"{function}() argument {self.position} ({self.param.name})"
        return f"{function}() argument '{self.param.name}'"


@dataclass(frozen=True, slots=True)
class Constants:
    """A call's constant arguments, read out of their literals; defaults filled in."""

    options: dict[str, Constant]
    nodes: dict[str, Node]
    table: Table | None = None
    table_node: DictLiteral | None = None


def match(spec: FunctionSpec, call: Call) -> tuple[list[Slot], list[ArgumentError]]:
    """Give each argument its parameter; report extra, unknown, repeated and missing ones."""
    slots, problems = _positional(spec, call)
    by_name = {p.name: p for p in spec.params}
    for kw in call.keywords:
        param = by_name.get(kw.name)
        if param is None:
            close = difflib.get_close_matches(kw.name, list(by_name), n=1)
            hint = f"did you mean {close[0]}=? " if close else ""
            problems.append(
                ArgumentError(
                    BAD_ARGUMENTS,
                    f"{spec.name}() has no argument '{kw.name}'",
                    kw,
                    hint=f"{hint}signature: {spec.signature}",
                )
            )
        elif not param.constant:
            problems.append(
                ArgumentError(
                    BAD_ARGUMENTS,
                    f"{spec.name}() argument '{kw.name}' is passed by position, not by keyword",
                    kw,
                    hint=f"signature: {spec.signature}",
                )
            )
        elif any(slot.param is param for slot in slots):
            problems.append(
                ArgumentError(
                    BAD_ARGUMENTS,
                    f"{spec.name}() got argument '{kw.name}' twice",
                    kw,
                    hint=f"signature: {spec.signature}",
                )
            )
        else:
            slots.append(Slot(param, kw.value, 0))
    problems.extend(_missing(spec, call, slots))
    return slots, problems


def _positional(spec: FunctionSpec, call: Call) -> tuple[list[Slot], list[ArgumentError]]:
    params = [p for p in spec.params if p.kind is not ParamKind.KEYWORD]
    slots: list[Slot] = []
    for index, arg in enumerate(call.args):
        if index < len(params):
            param = params[index]
        elif params and params[-1].variadic:
            param = params[-1]
        else:
            count = f"{len(params)} argument{'s' if len(params) != 1 else ''}"
            return slots, [
                ArgumentError(
                    BAD_ARGUMENTS,
                    f"{spec.name}() takes {count} by position, got {len(call.args)}",
                    arg,
                    hint=f"signature: {spec.signature}",
                )
            ]
        slots.append(Slot(param, arg, index + 1))
    return slots, []


def _missing(spec: FunctionSpec, call: Call, slots: list[Slot]) -> list[ArgumentError]:
    # a parameter named by a keyword already has a problem of its own
    filled = {slot.param.name for slot in slots} | {kw.name for kw in call.keywords}
    problems: list[ArgumentError] = []
    for position, param in enumerate(spec.params, start=1):
        if param.required and param.name not in filled:
            what = (
                "at least one argument"
                if param.variadic
                else (f"argument {position} ({param.name}): {param.describe()}")
            )
            problems.append(
                ArgumentError(
                    BAD_ARGUMENTS,
                    f"{spec.name}() needs {what}",
                    call,
                    hint=f"signature: {spec.signature}",
                )
            )
    return problems


def read_constants(spec: FunctionSpec, slots: list[Slot]) -> tuple[Constants, list[ArgumentError]]:
    """Read the table and the constant options; a non-constant there is a problem."""
    found = Constants({p.name: p.default for p in spec.params if p.constant}, {})
    problems: list[ArgumentError] = []
    for slot in slots:
        if slot.param.kind is ParamKind.TABLE:
            if not isinstance(slot.node, DictLiteral):
                problems.append(
                    ArgumentError(
                        BAD_ARGUMENTS,
                        f"{slot.label(spec.name)} must be a dict literal "
                        f"{{key: value, ...}}, not {slot.node.text}",
                        slot.node,
                        hint="write the table in the expression: {'open': 'active'}",
                    )
                )
                continue
            table = tuple((key.value, value.value) for key, value in slot.node.entries)
            found = Constants(found.options, found.nodes, table, slot.node)
        elif slot.param.constant:
            problem = _constant(spec, slot)
            if problem is not None:
                problems.append(problem)
                continue
            assert isinstance(slot.node, Literal)
            found.options[slot.param.name] = slot.node.value
            found.nodes[slot.param.name] = slot.node
    return found, problems


def _constant(spec: FunctionSpec, slot: Slot) -> ArgumentError | None:
    """A problem with a constant argument: not a literal, or of a type the parameter refuses."""
    if not isinstance(slot.node, Literal):
        return ArgumentError(
            BAD_ARGUMENTS,
            f"{slot.label(spec.name)} must be a constant, not {slot.node.text}",
            slot.node,
            hint="write a literal value, e.g. a quoted string or a number",
        )
    found = constant_type(slot.node.value)
    none_ok = slot.node.value is None and slot.param.default is None
    if not none_ok and (found.kind is Kind.NULL or not slot.param.takes(found)):
        return ArgumentError(
            TYPE_MISMATCH,
            f"{slot.label(spec.name)} expects {slot.param.describe()}, "
            f"found {found} ({slot.node.text})",
            slot.node,
            hint=f"signature: {spec.signature}",
        )
    return None
