"""The mapping expression language: parse, type-check and compile one field mapping.

A mapping value is a safe subset of Python expression syntax (read with ``ast``, never
evaluated), type-checked against the stream's declared source fields and compiled to a Polars
expression that runs on whole batches. Problems come back as diagnostics, never raised.

    compiled, diagnostics = compile_expression("lower(trim(Email))", schema, location)
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping.compiler import compile_typed
from isthmus.mapping.custom import on_registry_change
from isthmus.mapping.functions import FUNCTIONS, FunctionSpec, Parameter, ParamKind, get_function
from isthmus.mapping.models import CompiledExpression, Expression, RowFailure
from isthmus.mapping.parser import parse_value
from isthmus.mapping.registry import conversion_hint
from isthmus.mapping.typecheck import check
from isthmus.types import DataType

__all__ = [
    "FUNCTIONS",
    "CompiledExpression",
    "Expression",
    "FunctionSpec",
    "ParamKind",
    "Parameter",
    "RowFailure",
    "compile_expression",
    "conversion_hint",
    "get_function",
]


def compile_expression(
    value: Expression,
    schema: Mapping[str, DataType],
    location: Location,
    *,
    prefix: str = "__step",
) -> tuple[CompiledExpression | None, list[Diagnostic]]:
    """Parse, type-check and compile one mapping value.

    ``schema`` is the stream's declared source fields (nested objects as STRUCT types);
    ``location`` is where the expression text starts in its YAML file. On any problem the
    result is None and the diagnostics say what and where.
    """
    compiled, diagnostics = _compiled(value, tuple(schema.items()), location, prefix)
    return compiled, list(diagnostics)


# A template's expressions are the same for every integration using it: a project of many
# integrations compiles each once. Everything in the key and the result is immutable.
@lru_cache(maxsize=8192)
def _compiled(
    value: Expression,
    schema_items: tuple[tuple[str, DataType], ...],
    location: Location,
    prefix: str,
) -> tuple[CompiledExpression | None, tuple[Diagnostic, ...]]:
    schema = dict(schema_items)
    text = value if isinstance(value, str) else str(value)
    node, diagnostics = parse_value(value, location)
    if node is None:
        return None, tuple(diagnostics)
    typed, diagnostics = check(node, schema, location, text)
    if typed is None:
        return None, tuple(diagnostics)
    return compile_typed(typed, text, prefix), ()


# A compiled call holds the function it calls: a registry change makes the cache stale.
on_registry_change(_compiled.cache_clear)
