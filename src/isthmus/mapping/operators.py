"""The types of operator expressions: which operand types each operator takes, what it gives,
and, for operands it refuses, a message naming their types and a hint naming the fix.

Arithmetic: integer with integer stays integer (``/`` gives float); any float makes it float;
otherwise a decimal makes it decimal. Comparisons take numbers of any kind together, or two
values of one type among string, date and timestamp; booleans only with ``==`` and ``!=``.
How the operators run is :mod:`isthmus.mapping.operators_lowering`.
"""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.mapping.models import (
    BinaryOp,
    BoolOp,
    Compare,
    Conditional,
    ListLiteral,
    Literal,
    Membership,
    Node,
    Not,
    Operation,
    Typed,
    UnaryOp,
)
from isthmus.mapping.registry import TYPE_MISMATCH, conversion_hint
from isthmus.types import (
    BOOLEAN,
    DECIMAL,
    FLOAT,
    INTEGER,
    NULL,
    STRING,
    DataType,
    Kind,
    common_type,
)

_VERBS = {
    "-": "subtract {right} from {left}",
    "*": "multiply {left} by {right}",
    "/": "divide {left} by {right}",
}
_ORDERED = frozenset({Kind.STRING, Kind.DATE, Kind.TIMESTAMP})


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an operator cannot take its operands, at character ``col`` of the expression."""

    message: str
    col: int
    hint: str | None = None
    code: str = TYPE_MISMATCH


def operands_of(node: Operation) -> tuple[Node, ...]:
    """An operator's operands in the order they are typed and compiled."""
    match node:
        case BinaryOp() | Compare() | BoolOp():
            return (node.left, node.right)
        case UnaryOp() | Not():
            return (node.operand,)
        case Conditional():
            return (node.body, node.test, node.orelse)
        case Membership():
            return (node.value, node.container)


def type_operation(node: Operation, operands: tuple[Typed, ...]) -> DataType | list[Problem]:
    """The result type of ``node`` given its typed operands, or why there is none."""
    match node:
        case BinaryOp():
            return _arithmetic(node, *operands)
        case UnaryOp():
            return _sign(node, operands[0])
        case Compare():
            return _comparison(node, *operands)
        case BoolOp():
            problems = [p for p in (_boolean(node.op, o) for o in operands) if p is not None]
            return problems or BOOLEAN
        case Not():
            problem = _boolean("not", operands[0])
            return [problem] if problem is not None else BOOLEAN
        case Conditional():
            return _conditional(node, *operands)
        case Membership():
            return _membership(node, *operands)


def arithmetic_result(op: str, types: list[DataType]) -> DataType | None:
    """The type of ``op`` over numbers of these types (nulls fit anywhere); None if not numbers."""
    kinds = {t.kind for t in types} - {Kind.NULL}
    if not kinds:
        return NULL
    if op == "+" and kinds == {Kind.STRING}:
        return STRING
    if not all(t.is_numeric for t in types if t.kind is not Kind.NULL):
        return None
    if Kind.FLOAT in kinds:
        return FLOAT
    if Kind.DECIMAL in kinds:
        return DECIMAL
    return FLOAT if op == "/" else INTEGER


def _arithmetic(node: BinaryOp, left: Typed, right: Typed) -> DataType | list[Problem]:
    result = arithmetic_result(node.op, [left.type, right.type])
    if result is not None:
        return result
    if node.op == "+":
        message = (
            f"'+' cannot add {_named(left)} and {_named(right)}: it adds two numbers or "
            "joins two strings"
        )
        return [Problem(message, node.op_col, _add_hint(left, right))]
    verb = _VERBS[node.op].format(left=_named(left), right=_named(right))
    message = f"'{node.op}' cannot {verb}: it needs two numbers"
    return [Problem(message, node.op_col, _number_hint(left, right))]


def _sign(node: UnaryOp, operand: Typed) -> DataType | list[Problem]:
    if operand.type.is_numeric or operand.type.kind is Kind.NULL:
        return operand.type
    message = f"the sign '{node.op}' needs a number, found {_named(operand)}"
    return [Problem(message, node.col, _number_hint(operand))]


def _comparison(node: Compare, left: Typed, right: Typed) -> DataType | list[Problem]:
    none = next((o for o in (left, right) if _is_none(o.node)), None)
    if none is not None:
        other = right if none is left else left
        return [_compared_with_none(node.op, other.node, node.op_col)]
    concrete = [t for t in (left.type, right.type) if t.kind is not Kind.NULL]
    if all(t.is_numeric for t in concrete):  # also when both are null
        return BOOLEAN
    if all(t == concrete[0] for t in concrete):
        kind = concrete[0].kind
        if kind in _ORDERED or (kind is Kind.BOOLEAN and node.op in ("==", "!=")):
            return BOOLEAN
        if kind is Kind.BOOLEAN:
            message = f"'{node.op}' cannot order booleans: they only compare with == and !="
            hint = f"write {left.node.text} == {right.node.text}, or compare numbers"
            return [Problem(message, node.op_col, hint)]
    message = f"'{node.op}' cannot compare {_named(left)} with {_named(right)}"
    return [Problem(message, node.op_col, _comparison_hint(node, left, right))]


def _comparison_hint(node: Compare, left: Typed, right: Typed) -> str:
    """Convert one side to the other's type: the text of ``LeadScore > 50`` to a number."""
    pairs = sorted(((left, right), (right, left)), key=lambda p: p[0].type.kind is not Kind.STRING)
    for side, other in pairs:  # text is what usually wants converting
        wanted = [other.type]
        if other.type.kind in (Kind.INTEGER, Kind.FLOAT):
            wanted = [FLOAT]  # text like "72.5" is no integer; a float compares with both
        elif other.type.kind is Kind.DECIMAL:
            wanted = [DECIMAL, FLOAT]
        for target in wanted:
            fixed = conversion_hint(side.node.text, side.type, target)
            if fixed is not None and other.type.is_scalar:
                sides = (fixed, right.node.text) if side is left else (left.node.text, fixed)
                return f"convert it: {sides[0]} {node.op} {sides[1]}"
    return (
        "compare values of one type: numbers of any kind, two strings, two dates or two "
        "timestamps; booleans with == or !="
    )


def _boolean(op: str, operand: Typed) -> Problem | None:
    if operand.type.kind in (Kind.BOOLEAN, Kind.NULL):
        return None
    message = f"'{op}' needs booleans, found {_named(operand)}"
    return Problem(message, operand.node.col, _truth_hint(operand))


def _truth_hint(operand: Typed) -> str:
    text = operand.node.text
    missing = f"is_null({text})"
    if operand.type.kind is Kind.STRING:
        return f"compare it, e.g. {text} == 'yes', or test for a missing value with {missing}"
    if operand.type.is_numeric:
        return f"compare it, e.g. {text} > 0, or test for a missing value with {missing}"
    return f"compare it with a value, or test for a missing value with {missing}"


def _conditional(
    node: Conditional, body: Typed, test: Typed, orelse: Typed
) -> DataType | list[Problem]:
    problems: list[Problem] = []
    if test.type.kind not in (Kind.BOOLEAN, Kind.NULL):
        message = (
            f"the condition of 'x if condition else y' must be a boolean, found {_named(test)}"
        )
        problems.append(Problem(message, test.node.col, _truth_hint(test)))
    result = common_type([body.type, orelse.type])
    if result is None:
        message = (
            f"the branches of 'x if condition else y' do not share a type: {_named(body)} "
            f"and {_named(orelse)}"
        )
        fix = conversion_hint(orelse.node.text, orelse.type, body.type)
        hint = f"convert it: {fix}" if fix else "convert one branch, e.g. with to_string()"
        problems.append(Problem(message, orelse.node.col, hint))
    return problems or (result if result is not None else NULL)


def _membership(node: Membership, value: Typed, container: Typed) -> DataType | list[Problem]:
    op = "not in" if node.negated else "in"
    if _is_none(value.node):
        message = f"'{op}' with None is never true: any comparison with a null is null"
        return [Problem(message, node.op_col, "test a value for null with is_null(value)")]
    if isinstance(container.node, ListLiteral):
        for written in container.node.items:
            if written.value is None:
                message = (
                    f"None in the list of '{op}' never matches: a comparison with null is null"
                )
                hint = f"test for a missing value with is_null({value.node.text})"
                return [Problem(message, written.col, hint)]
    item = container.type.item if container.type.kind is Kind.LIST else None
    if item is None:
        message = f"'{op}' needs a list on its right, found {_named(container)}"
        hint = f"write {value.node.text} {op} ['a', 'b'], or name a list field"
        return [Problem(message, container.node.col, hint)]
    if value.type.kind is Kind.NULL or (
        value.type.is_scalar and common_type([value.type, item]) is not None
    ):
        return BOOLEAN
    message = f"'{op}' cannot look for {_named(value)} in {_named(container)}"
    fix = conversion_hint(value.node.text, value.type, item)
    hint = f"convert it: {fix} {op} {container.node.text}" if fix else "look for a list item"
    return [Problem(message, node.op_col, hint)]


def _compared_with_none(op: str, other: Node, col: int) -> Problem:
    message = f"'{op}' with None is never true: any comparison with a null is null"
    negated = op in ("!=", "not in")
    test = f"not is_null({other.text})" if negated else f"is_null({other.text})"
    return Problem(message, col, f"test for a missing value with {test}")


def _is_none(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


def _named(operand: Typed) -> str:
    return f"{operand.type} {operand.node.text}"


def _number_hint(*operands: Typed) -> str:
    for operand in operands:
        if operand.type.is_numeric or operand.type.kind is Kind.NULL:
            continue
        for wanted in (FLOAT, INTEGER):
            fix = conversion_hint(operand.node.text, operand.type, wanted)
            if fix is not None:
                return f"convert it: {fix}"
    return "both sides must be numbers: integer, float or decimal"


def _add_hint(left: Typed, right: Typed) -> str:
    texts = {left.type.kind: left.node.text, right.type.kind: right.node.text}
    numeric = next((t for t in (left.type, right.type) if t.is_numeric), None)
    if Kind.STRING in texts and numeric is not None:
        number = conversion_hint(texts[Kind.STRING], STRING, numeric)
        return (
            f"to join as text write concat({left.node.text}, {right.node.text}); "
            f"to add numbers convert the text: {number}"
        )
    numbers = _number_hint(left, right)
    if numbers.startswith("convert it"):
        return numbers
    return "convert one side with a to_... function so both are numbers or both strings"
