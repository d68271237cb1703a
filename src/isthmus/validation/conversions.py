"""Convert a stream's text fields to their declared types with the mapping functions.

Sources read scalars as text. A field declared ``integer`` is converted exactly as the
expression ``to_int(Field)`` would be, so a value that does not convert becomes a row-level
failure (rule ``type``) with the same semantics a mapping has, and no second parser exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.types import STRING, DataType, Kind, struct_of

CONVERTERS = {
    Kind.INTEGER: "to_int({})",
    Kind.FLOAT: "to_float({})",
    Kind.DECIMAL: "to_decimal({})",
    Kind.BOOLEAN: "to_bool({})",
    Kind.TIMESTAMP: "parse_timestamp({})",
    # Sources deliver a json field as the JSON text of its value; parsing checks it is JSON.
    Kind.JSON: "parse_json({})",
}


def text_schema(schema: Mapping[str, DataType]) -> dict[str, DataType]:
    """The schema as sources deliver it: every scalar as a string, nesting kept."""
    return {name: _as_text(t) for name, t in schema.items()}


def _as_text(data_type: DataType) -> DataType:
    if data_type.kind is Kind.STRUCT:
        return struct_of({n: _as_text(t) for n, t in data_type.fields})
    if data_type.kind is Kind.LIST:
        return data_type
    return STRING


def leaf_paths(name: str, data_type: DataType) -> list[tuple[str, DataType]]:
    """Dotted paths of every scalar leaf under a field."""
    if data_type.kind is Kind.STRUCT:
        return [leaf for inner, t in data_type.fields for leaf in leaf_paths(f"{name}.{inner}", t)]
    return [(name, data_type)]


def compile_conversions(
    schema: Mapping[str, DataType], problems: list[Diagnostic], where: Location
) -> dict[str, CompiledExpression] | None:
    """Leaf path -> conversion, for every leaf not declared as a string."""
    text = text_schema(schema)
    conversions: dict[str, CompiledExpression] = {}
    for name, data_type in schema.items():
        for path, leaf_type in leaf_paths(name, data_type):
            if leaf_type.kind is Kind.DATE:
                problems.append(
                    Diagnostic(
                        "unsupported-type",
                        f"source field {path!r} is declared date; sources "
                        "deliver dates as timestamps or strings",
                        where,
                        hint="declare it as string and map it with parse_timestamp()",
                    )
                )
                continue
            template = CONVERTERS.get(leaf_type.kind)
            if template is None:
                continue
            compiled, found = compile_expression(
                template.format(path), text, where, prefix=f"__conversion{len(conversions)}_"
            )
            problems.extend(found)
            if compiled is None:
                return None
            conversions[path] = compiled
    return conversions
