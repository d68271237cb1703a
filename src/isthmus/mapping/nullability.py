"""Whether a type-checked expression can give null, and because of which part of it.

Validation uses it to warn about primary-key fields a mapping may leave empty: such rows would
be quarantined at run time. The inference is conservative: when in doubt (a node kind or a
function it does not know) an expression may be null, so a warning can be spurious but never
a missed one.

    null_cause(typed, present=frozenset({"Id"}))  # None: never null; else the culprit node
"""

from __future__ import annotations

from collections.abc import Collection

from isthmus.mapping.custom import is_custom_function
from isthmus.mapping.models import (
    BinaryOp,
    BoolOp,
    Call,
    Compare,
    Conditional,
    DictLiteral,
    FieldRef,
    ListLiteral,
    Literal,
    Membership,
    Not,
    Typed,
    UnaryOp,
)
from isthmus.mapping.registry import get_function
from isthmus.types import Kind

# Functions whose result is set whatever their arguments are (concat reads null as empty
# text; is_null answers true or false; now_utc reads the run's start time).
NEVER_NULL = frozenset({"concat", "is_null", "now_utc"})
# Functions that pick their first argument that is set: null only when every one is.
FIRST_SET = frozenset({"coalesce"})
# Functions whose last argument stands in for a null first one: default(x, y).
FALLBACK_LAST = frozenset({"default"})
# Functions that give null by design on some set inputs: nullif(x, y) where x equals y,
# first/last of an empty list, regex_extract where nothing matches. A custom function may
# give null for any input too.
MAYBE_NULL = frozenset({"nullif", "first", "last", "regex_extract"})


def null_cause(typed: Typed, present: Collection[str]) -> Typed | None:
    """The innermost part of ``typed`` that can make it null, or None when it never is.

    ``present`` names the top-level source fields every record has (the stream's primary
    key: a record is identified by it); any other source field may be missing.
    """
    node = typed.node
    match node:
        case Literal():
            return typed if node.value is None else None
        case ListLiteral() | DictLiteral():
            return None
        case FieldRef():
            return None if len(node.path) == 1 and node.path[0] in present else typed
        case BinaryOp() | UnaryOp() if can_fail(typed):
            return typed
        case BinaryOp() | UnaryOp() | Compare() | Not() | Membership():
            return _first_cause(typed.operands, present)  # null in, null out, as in SQL
        case BoolOp():
            # "False and null" is False, but "True and null" is null: conservatively, any
            # operand that may be null makes the result so.
            return _first_cause(typed.operands, present)
        case Conditional():  # one branch or the other; a null condition takes the else branch
            branches = tuple(
                t for t in typed.operands if t.node is node.body or t.node is node.orelse
            )
            return _first_cause(branches, present) if len(branches) == 2 else typed
        case Call():
            return _call_cause(typed, node, present)
    return typed  # a node kind this inference does not know: assume the worst


def can_fail(typed: Typed) -> bool:
    """Whether an arithmetic operator gives null (plus a reason) on rows it cannot compute:
    a division by zero, or integer and decimal results past their range."""
    node = typed.node
    if isinstance(node, BinaryOp):
        return node.op == "/" or typed.type.kind in (Kind.INTEGER, Kind.DECIMAL)
    if isinstance(node, UnaryOp):
        return node.op == "-" and typed.type.kind is Kind.INTEGER  # -(-2**63)
    return False


def _call_cause(typed: Typed, node: Call, present: Collection[str]) -> Typed | None:
    spec = get_function(node.name)
    values = typed.call.values if typed.call is not None else typed.operands
    if spec is None or node.name in MAYBE_NULL or is_custom_function(node.name):
        return typed
    if node.name in NEVER_NULL:
        return None
    if node.name in FIRST_SET:
        causes = [null_cause(value, present) for value in values]
        return None if None in causes else (causes[-1] if causes else typed)
    if node.name in FALLBACK_LAST:
        return null_cause(values[-1], present) if values else typed
    if spec.can_fail:  # a row it cannot handle gives null plus a reason
        return typed
    return _first_cause(values, present)


def _first_cause(operands: tuple[Typed, ...], present: Collection[str]) -> Typed | None:
    for operand in operands:
        cause = null_cause(operand, present)
        if cause is not None:
            return cause
    return None
