"""Storing an expression's value in a core field: as it is, converted with a loss, or not at all.

A value whose type the field holds exactly (or widens to, like an integer in a float field)
is stored as it is. One that converts with a loss (a float in an integer field) is compiled as
the explicit conversion, exactly as if the mapping had written it, with a ``lossy-conversion``
warning saying which conversion and what it loses. Anything else is a ``type-mismatch`` error
whose hint names a conversion when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping

from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.mapping import CompiledExpression, compile_expression, conversion_hint, get_function
from isthmus.types import DECIMAL_SCALE, DataType, Kind, assignable

LOSSY_CONVERSION = "lossy-conversion"
TYPE_MISMATCH = "type-mismatch"

# (value kind, field kind) -> the conversion a run applies, and what it loses.
LOSSY: dict[tuple[Kind, Kind], tuple[str, str]] = {
    (Kind.FLOAT, Kind.INTEGER): ("to_int", "which rejects values with a fraction"),
    (Kind.DECIMAL, Kind.INTEGER): ("to_int", "which rejects values with a fraction"),
    (Kind.TIMESTAMP, Kind.DATE): ("to_date", "which keeps the UTC date and drops the time"),
    (Kind.DECIMAL, Kind.FLOAT): ("to_float", "which rounds to the nearest float"),
    (Kind.FLOAT, Kind.DECIMAL): (
        "to_decimal",
        f"which rounds to {DECIMAL_SCALE} decimal places and rejects values of 10^29 or more",
    ),
}


def assigned(
    compiled: CompiledExpression,
    target: DataType,
    field: str,
    schema: Mapping[str, DataType],
    location: Location,
    prefix: str,
) -> tuple[CompiledExpression | None, Diagnostic | None]:
    """``compiled`` as stored in ``field`` (``entity.name``) of type ``target``.

    Returns the expression to run (None when it cannot be stored) and the warning or error
    to report (None when it is stored as it is).
    """
    if assignable(compiled.type, target):
        return compiled, None
    lossy = LOSSY.get((compiled.type.kind, target.kind))
    converted = _converted(compiled, target, lossy[0], schema, location, prefix) if lossy else None
    if lossy is None or converted is None:
        return None, _mismatch(compiled, target, field, location)
    written = converted.text
    return converted, Diagnostic(
        LOSSY_CONVERSION,
        f"{compiled.text!r} is {compiled.type}, stored in the {target} field {field}: "
        f"converted as {written}, {lossy[1]}",
        location,
        hint=f"write the conversion yourself to make it explicit: {written}",
        severity=Severity.WARNING,
    )


def _converted(
    compiled: CompiledExpression,
    target: DataType,
    function: str,
    schema: Mapping[str, DataType],
    location: Location,
    prefix: str,
) -> CompiledExpression | None:
    """The expression wrapped in ``function`` and compiled again; None when that is not
    possible (the function is missing or does not take the type)."""
    spec = get_function(function)
    if spec is None or not spec.params or not spec.params[0].takes(compiled.type):
        return None
    converted, problems = compile_expression(
        f"{function}({compiled.text})", schema, location, prefix=prefix
    )
    if converted is None or problems or converted.type != target:
        return None
    return converted


def _mismatch(
    compiled: CompiledExpression, target: DataType, field: str, location: Location
) -> Diagnostic:
    fix = conversion_hint(compiled.text, compiled.type, target)
    return Diagnostic(
        TYPE_MISMATCH,
        f"{field} is {target}, but {compiled.text!r} is {compiled.type}",
        location,
        hint=f"convert it: {fix}" if fix else "map a value of the field's type",
    )
