"""The function registry: the mapping language's functions and their typed signatures.

The registry is the spec: the type checker binds and checks calls against it, the generated
docs list it, and :func:`conversion_hint` finds conversions in it, so none of them can drift.
Each function is registered here with its signature, result rule and Polars compiler.
"""

from __future__ import annotations

from isthmus.mapping import lowering, timestamps
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Binding, Constant, DictLiteral, Node, Table, constant_type
from isthmus.mapping.registry import (
    BAD_ARGUMENTS,
    FUNCTIONS,
    TYPE_MISMATCH,
    Compiler,
    FunctionSpec,
    Parameter,
    ParamKind,
    ResultRule,
    conversion_hint,
    get_function,
    register,
    similar_functions,
)
from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    STRING,
    TIMESTAMP,
    DataType,
    Kind,
    assignable,
    common_type,
)

__all__ = [
    "FUNCTIONS",
    "FunctionSpec",
    "ParamKind",
    "Parameter",
    "conversion_hint",
    "get_function",
    "similar_functions",
]


def _returns(result: DataType) -> ResultRule:
    return lambda _binding: result


def _value(*accepts: DataType, name: str = "value", doc: str = "the input") -> Parameter:
    return Parameter(name, ParamKind.VALUE, accepts, doc)


def _common(binding: Binding) -> DataType:
    found = common_type([value.type for value in binding.values])
    if found is None:
        types = ", ".join(str(value.type) for value in binding.values)
        raise ArgumentError(
            TYPE_MISMATCH,
            f"{binding.function}() needs arguments of one type, found {types}",
            binding.values[0].node,
            hint="convert the odd ones out, e.g. with to_string() or to_float()",
        )
    return found


def _timestamp_result(binding: Binding) -> DataType:
    fmt, tz = binding.options.get("fmt"), binding.options.get("tz")
    if isinstance(fmt, str):
        timestamps.check_format(fmt, binding.option_nodes.get("fmt", binding.values[0].node))
    timestamps.check_zone(str(tz), binding.option_nodes.get("tz", binding.values[0].node))
    return TIMESTAMP


_TEXT = (STRING,)
_SCALAR_TEXT = (STRING, INTEGER, FLOAT, DECIMAL, BOOLEAN, DATE, TIMESTAMP, JSON)
# Parts concat() writes as to_string() does; a date, timestamp or json goes through
# to_string() first, so the expression shows which text form it gets.
_CONCAT_PARTS = (STRING, INTEGER, FLOAT, DECIMAL, BOOLEAN)


def _simple(
    name: str,
    accepts: tuple[DataType, ...],
    result: DataType,
    compile: Compiler,
    doc: str,
    *,
    can_fail: bool = False,
    converts: bool = False,
) -> FunctionSpec:
    """A function of one value argument with a fixed result type."""
    return register(
        FunctionSpec(
            name,
            (_value(*accepts),),
            str(result),
            _returns(result),
            compile,
            doc,
            can_fail,
            result if converts else None,
        )
    )


_simple("lower", _TEXT, STRING, lowering.lower, "The text in lower case.")
_simple("upper", _TEXT, STRING, lowering.upper, "The text in upper case.")
_simple("trim", _TEXT, STRING, lowering.trim, "The text without leading and trailing whitespace.")
_simple(
    "to_string",
    _SCALAR_TEXT,
    STRING,
    lowering.to_string,
    "The value as text: 42, 1.5, true; a decimal without trailing zeros, a date as "
    "YYYY-MM-DD, a timestamp as ISO-8601 in UTC ('2024-05-01T12:00:00Z'), json as its text.",
    converts=True,
)
_simple(
    "to_int",
    (STRING, INTEGER, FLOAT, DECIMAL, BOOLEAN),
    INTEGER,
    lowering.to_int,
    "An integer from text like '42' or '-7', an integral float or decimal, or a boolean as "
    "0/1; fails on anything else.",
    can_fail=True,
    converts=True,
)
_simple(
    "to_float",
    (STRING, INTEGER, FLOAT, DECIMAL),
    FLOAT,
    lowering.to_float,
    "A finite float from text like '1.5' or '-2e3', or from a number (a decimal to the "
    "nearest float); fails on other text ('nan', 'inf', '1,5').",
    can_fail=True,
    converts=True,
)
_simple(
    "to_bool",
    (STRING, INTEGER, BOOLEAN),
    BOOLEAN,
    lowering.to_bool,
    "A boolean from true/false/yes/no/y/n/t/f/1/0 (any case) or the integers 1/0; fails on "
    "anything else.",
    can_fail=True,
    converts=True,
)

register(
    FunctionSpec(
        "concat",
        (Parameter("values", ParamKind.VALUE, _CONCAT_PARTS, "the parts", variadic=True),),
        "string",
        _returns(STRING),
        lowering.concat,
        "The arguments as text, joined; a null argument counts as empty text.",
        can_fail=False,
        null_tolerant=True,
    )
)
register(
    FunctionSpec(
        "coalesce",
        (Parameter("values", ParamKind.VALUE, (), "the candidates", variadic=True),),
        "the arguments' common type",
        _common,
        lowering.coalesce,
        "The first argument that is not null.",
        can_fail=False,
        null_tolerant=True,
    )
)
register(
    FunctionSpec(
        "parse_timestamp",
        (
            _value(STRING, doc="the text to read"),
            Parameter(
                "fmt",
                ParamKind.OPTION,
                (STRING,),
                "a strftime format; ISO-8601 when None",
                required=False,
                default=None,
            ),
            Parameter(
                "tz",
                ParamKind.OPTION,
                (STRING,),
                "the IANA zone of values without offset",
                required=False,
                default="UTC",
            ),
        ),
        "timestamp",
        _timestamp_result,
        timestamps.parse_timestamp,
        "A UTC timestamp from ISO-8601 text (or text in fmt); fails on text that is not a real "
        "instant.",
        can_fail=True,
        converts_to=TIMESTAMP,
    )
)


def _lookup_params() -> tuple[Parameter, ...]:
    return (
        _value(STRING, INTEGER, FLOAT, BOOLEAN, doc="the value to look up"),
        Parameter("table", ParamKind.TABLE, (), "constant keys -> constant values"),
        Parameter(
            "default",
            ParamKind.KEYWORD,
            (),
            "the result for a value not in the table",
            required=False,
            default=None,
        ),
        Parameter(
            "ignore_case",
            ParamKind.KEYWORD,
            (BOOLEAN,),
            "compare text lower-cased",
            required=False,
            default=False,
        ),
    )


def _lookup_result(binding: Binding) -> DataType:
    """Check the table against the input and return the values' common type."""
    table, node = binding.table, binding.table_node
    assert table is not None
    assert node is not None
    key_type = _key_type(binding, table, node)
    ignore_case = binding.options.get("ignore_case") is True
    if ignore_case and key_type != STRING:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"lookup() ignore_case=True compares text, but the keys are {key_type}",
            binding.option_nodes["ignore_case"],
            hint="drop ignore_case",
        )
    _refuse_duplicates(table, node, ignore_case)
    outcomes = [value for _, value in table]
    if binding.options.get("default") is not None:
        outcomes.append(binding.options["default"])
    return _one_type("values (and default)", outcomes, node)


def _key_type(binding: Binding, table: Table, node: DictLiteral) -> DataType:
    """The keys' one type, which the input must be able to match."""
    if not table:
        raise ArgumentError(
            BAD_ARGUMENTS,
            "lookup() argument 2 (table) is empty",
            node,
            hint="write its entries, e.g. {'open': 'active'}",
        )
    key_type = _one_type("keys", [key for key, _ in table], node)
    if key_type.kind is Kind.NULL:
        raise ArgumentError(
            BAD_ARGUMENTS,
            "lookup() table key None never matches: a null input gives null",
            node.entries[0][0],
            hint="wrap the call instead: coalesce(lookup(...), 'unknown')",
        )
    subject = binding.values[0]
    if not assignable(key_type, subject.type) and subject.type.kind is not Kind.NULL:
        raise ArgumentError(
            TYPE_MISMATCH,
            f"lookup() table keys are {key_type} but argument 1 "
            f"({subject.node.text}) is {subject.type}",
            node,
            hint=_convert_hint(subject.node.text, subject.type, key_type),
        )
    return key_type


def _convert_hint(text: str, found: DataType, wanted: DataType) -> str | None:
    hint = conversion_hint(text, found, wanted)
    return None if hint is None else f"convert it: {hint}"


def _one_type(what: str, constants: list[Constant], node: Node) -> DataType:
    found = common_type([constant_type(c) for c in constants])
    if found is None:
        kinds = sorted({str(constant_type(c)) for c in constants})
        raise ArgumentError(
            TYPE_MISMATCH,
            f"lookup() table {what} must share one type; found {', '.join(kinds)}",
            node,
            hint="write them all as one type",
        )
    return found


def _refuse_duplicates(table: Table, node: DictLiteral, ignore_case: bool) -> None:
    seen: set[Constant] = set()
    for (key, _), (key_node, _) in zip(table, node.entries, strict=True):
        normal = key.lower() if ignore_case and isinstance(key, str) else key
        if normal in seen:
            how = " when case is ignored" if ignore_case else ""
            raise ArgumentError(
                BAD_ARGUMENTS,
                f"lookup() table has the key {key!r} twice{how}",
                key_node,
                hint="keep one entry per key",
            )
        seen.add(normal)


register(
    FunctionSpec(
        "lookup",
        _lookup_params(),
        "the table values' type",
        _lookup_result,
        lowering.lookup,
        "The table's value for the input's key; without a default, a value not in the table fails.",
        can_fail=True,
    )
)

# The rest of the library registers itself on import, one module per area; after the
# registrations above, so the registry lists the original functions first.
from isthmus.mapping import (  # noqa: E402, F401
    functions_json,
    functions_numbers,
    functions_text,
    functions_time,
    functions_values,
)
