"""Text -> IR. Python's own parser reads the text (``ast.parse``, never ``eval``); this module
keeps the safe subset and names anything else, with where it is.

The subset: field names and attribute chains (``Account.Id``), constants (a leading ``-`` on
a number included), the arithmetic ``+ - * /`` and signs, one comparison at a time
(``== != < <= > >=``), ``and or not``, ``x if c else y``, ``x in [...]`` and ``not in``,
calls of named functions with positional and keyword arguments, dict literals of constants
(lookup tables) and list literals of constants.
"""

from __future__ import annotations

import ast
import warnings

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping import operators_syntax as operators
from isthmus.mapping.errors import ExpressionSyntaxError
from isthmus.mapping.functions import FUNCTIONS
from isthmus.mapping.models import (
    Call,
    Conditional,
    Constant,
    DictLiteral,
    Expression,
    FieldRef,
    Keyword,
    ListLiteral,
    Literal,
    Node,
)

MAX_LENGTH = 10_000
MAX_DEPTH = 50
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SYNTAX = "expression-syntax"

_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Subscript: "a subscript (x[...])",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Tuple: "a tuple",
    ast.Set: "a set literal",
    ast.Starred: "argument unpacking (*)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
}


def located(location: Location, text: str, col: int) -> Location:
    """Where character ``col`` of the expression is; the start when the text spans lines."""
    return location if "\n" in text or "\r" in text else location.shifted(col)


def parse(text: str, location: Location) -> tuple[Node | None, list[Diagnostic]]:
    """Parse one mapping expression. Never raises: a problem comes back as a diagnostic."""
    body = text.lstrip(" \t")  # Python rejects leading indentation; YAML quoting may keep it
    indent = len(text) - len(body)
    try:
        return _Builder(body, indent).build(), []
    except ExpressionSyntaxError as exc:
        where = located(location, text, exc.col)
        return None, [Diagnostic(SYNTAX, exc.message, where, exc.hint)]


def parse_value(value: Expression, location: Location) -> tuple[Node | None, list[Diagnostic]]:
    """Parse a YAML mapping value: text is an expression, a bool or number a constant."""
    if isinstance(value, str):
        return parse(value, location)
    if not isinstance(value, bool | float) and not INT64_MIN <= value <= INT64_MAX:
        message = f"the integer {value} does not fit in 64 bits"
        return None, [Diagnostic(SYNTAX, message, location, "write it as a float or a string")]
    return Literal(value, 0, str(value)), []


class _Builder:
    def __init__(self, body: str, indent: int) -> None:
        self.body = body
        self.indent = indent
        self.first_line = body.replace("\r", "\n").split("\n", 1)[0].encode("utf-8", "replace")

    def build(self) -> Node:
        if not self.body.strip():
            raise ExpressionSyntaxError(
                "the expression is empty",
                self.indent,
                hint="write a source field name, a constant or a call",
            )
        if len(self.body) > MAX_LENGTH:
            raise ExpressionSyntaxError(
                f"the expression is longer than {MAX_LENGTH} characters",
                self.indent,
                hint="split it or use a lookup table",
            )
        try:
            with warnings.catch_warnings():  # '\d' in a string is text here, not a mistake
                warnings.simplefilter("ignore")
                tree = ast.parse(self.body, mode="eval")
        except SyntaxError as exc:
            raise self._syntax_error(exc) from None
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, deep nesting
            raise ExpressionSyntaxError(
                f"the expression cannot be parsed: {exc}", self.indent
            ) from None
        return self.node(tree.body, 0)

    def _syntax_error(self, exc: SyntaxError) -> ExpressionSyntaxError:
        col = max((exc.offset or 1) - 1, 0) if exc.lineno in (None, 1) else 0
        return ExpressionSyntaxError(
            f"the expression is not valid syntax: {exc.msg}",
            self.indent + col,
            hint="check brackets and quotes; strings are quoted, 'like this'",
        )

    def col(self, node: ast.expr | ast.keyword) -> int:
        """The character offset of a node; ast counts UTF-8 bytes."""
        if node.lineno != 1:
            return self.indent
        return self.indent + len(self.first_line[: node.col_offset].decode("utf-8", "replace"))

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.body, node) or ast.unparse(node)

    def node(self, node: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.too_deep(node)
        match node:
            case ast.Name() | ast.Attribute():
                return self.field_ref(node)
            case ast.Constant():
                return self.literal(node)
            case ast.UnaryOp():
                return operators.unary(self, node, depth)
            case ast.BinOp():
                return operators.binary(self, node, depth)
            case ast.Compare():
                return operators.compare(self, node, depth)
            case ast.BoolOp() if depth + len(node.values) > MAX_DEPTH:  # each value nests one more
                raise self.too_deep(node)
            case ast.BoolOp():
                return operators.bool_op(self, node, depth)
            case ast.IfExp():
                return Conditional(
                    self.node(node.body, depth + 1),
                    self.node(node.test, depth + 1),
                    self.node(node.orelse, depth + 1),
                    self.col(node),
                    self.text(node),
                )
            case ast.Call():
                return self.call(node, depth)
            case ast.Dict():
                return self.dict_literal(node)
            case ast.List():
                items = tuple(self.constant(item, "a list item") for item in node.elts)
                return ListLiteral(items, self.col(node), self.text(node))
        raise self.unsupported(node)

    def too_deep(self, node: ast.expr) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(
            f"the expression nests deeper than {MAX_DEPTH} levels",
            self.col(node),
            hint="simplify it",
        )

    def unsupported(self, node: ast.expr) -> ExpressionSyntaxError:
        what = _CONSTRUCTS.get(type(node), type(node).__name__)
        return ExpressionSyntaxError(
            f"{what} is not supported in a mapping expression",
            self.col(node),
            hint="use fields, constants, operators and registered functions",
        )

    def field_ref(self, node: ast.Name | ast.Attribute) -> FieldRef:
        path: list[str] = []
        offsets: list[int] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            path.append(current.attr)
            offsets.append(self.attr_col(current))
            current = current.value
        if not isinstance(current, ast.Name):
            what = _CONSTRUCTS.get(type(current), "an expression")
            if isinstance(current, ast.Call):
                what = "a call"
            raise ExpressionSyntaxError(
                f"attribute access on {what} is not supported; only source fields have attributes",
                offsets[-1],
                hint="write a nested field as Parent.Child",
            )
        path.append(current.id)
        offsets.append(self.col(current))
        return FieldRef(
            tuple(reversed(path)), tuple(reversed(offsets)), self.col(node), self.text(node)
        )

    def attr_col(self, node: ast.Attribute) -> int:
        if node.end_lineno != 1 or node.end_col_offset is None:
            return self.indent
        end = len(self.first_line[: node.end_col_offset].decode("utf-8", "replace"))
        return self.indent + end - len(node.attr)

    def literal(self, node: ast.Constant | ast.UnaryOp) -> Literal:
        sign = 1
        inner: ast.expr = node
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub | ast.UAdd):
            sign = -sign if isinstance(inner.op, ast.USub) else sign
            inner = inner.operand  # a loop, not recursion: "- - - ... 1" can be long
        if not isinstance(inner, ast.Constant):
            raise ExpressionSyntaxError(
                f"{self.text(node)!r} is not a constant",
                self.col(node),
                hint="lookup tables and lists hold constants only",
            )
        value = self.constant_of(inner)
        if inner is not node and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ExpressionSyntaxError(
                "a sign is only allowed on a number constant here",
                self.col(node),
                hint="lookup tables and lists hold constants only",
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = self.checked_number(-value if sign < 0 else value, node)
        return Literal(value, self.col(node), self.text(node))

    def constant(self, node: ast.expr, what: str) -> Literal:
        inner = node
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub | ast.UAdd):
            inner = inner.operand
        if not isinstance(inner, ast.Constant) or not isinstance(node, ast.Constant | ast.UnaryOp):
            raise ExpressionSyntaxError(
                f"{what} must be a constant, not {self.text(node)!r}",
                self.col(node),
                hint="lookup tables and lists hold constants only",
            )
        return self.literal(node)

    def constant_of(self, node: ast.Constant) -> Constant:
        value = node.value
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ExpressionSyntaxError(
                    "the string holds a lone surrogate, which is not text", self.col(node)
                ) from None
            return value
        if isinstance(value, bool | float):
            return value
        if value is None:
            return None
        if isinstance(value, int):
            return value  # range-checked once its sign is known
        kind = {bytes: "a bytes constant", complex: "a complex number"}.get(type(value), "...")
        raise ExpressionSyntaxError(
            f"{kind} is not supported in a mapping expression",
            self.col(node),
            hint="use a string, number, boolean or None",
        )

    def checked_number(self, value: int | float, node: ast.expr) -> int | float:
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise ExpressionSyntaxError(
                f"the integer {value} does not fit in 64 bits",
                self.col(node),
                hint="write it as a float or a string",
            )
        return value

    def call(self, node: ast.Call, depth: int) -> Call:
        if not isinstance(node.func, ast.Name):
            raise self.bad_callee(node)
        args: list[Node] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.unsupported(arg)
            args.append(self.node(arg, depth + 1))
        keywords: list[Keyword] = []
        for kw in node.keywords:
            if kw.arg is None:
                raise ExpressionSyntaxError(
                    "argument unpacking (**) is not supported",
                    self.col(kw),
                    hint="name each keyword argument",
                )
            keywords.append(
                Keyword(kw.arg, self.node(kw.value, depth + 1), self.col(kw), self.text(kw))
            )
        return Call(node.func.id, tuple(args), tuple(keywords), self.col(node), self.text(node))

    def bad_callee(self, node: ast.Call) -> ExpressionSyntaxError:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.text(func.value)
            hint = (
                f"write {func.attr}({receiver})"
                if func.attr in FUNCTIONS
                else "call a registered function with the value as its argument"
            )
            return ExpressionSyntaxError(
                f"method calls like {self.text(func)}() are not supported",
                self.attr_col(func),
                hint=hint,
            )
        return ExpressionSyntaxError(
            f"only named functions can be called, not {self.text(func)!r}",
            self.col(func),
            hint="call a registered function by its name",
        )

    def dict_literal(self, node: ast.Dict) -> DictLiteral:
        entries: list[tuple[Literal, Literal]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise ExpressionSyntaxError(
                    "dict unpacking (**) is not supported",
                    self.col(value),
                    hint="write each entry out",
                )
            entries.append(
                (
                    self.constant(key, "a lookup table key"),
                    self.constant(value, "a lookup table value"),
                )
            )
        return DictLiteral(tuple(entries), self.col(node), self.text(node))
