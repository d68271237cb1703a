"""Checks of one compiled field mapping beyond its type.

- ``value-not-in-enum``: a value the expression gives some rows (a constant, a lookup() table
  value or default, a constant candidate of coalesce() or a constant branch of
  ``x if c else y``) that the field's enum does not allow;
- ``constant-violates-constraint``: such a value that breaks another constraint of the field
  (pattern, max_length, min, max, required);
- ``key-may-be-null`` (warning): a primary-key field the expression may leave null.

Rows given such values would all be quarantined at run time; saying so before the run is
cheaper. Values are checked by the same row checks a run applies (``field_checks``).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from isthmus.config.models import CoreField, Entity
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.mapping import CompiledExpression, get_function
from isthmus.mapping.models import BinaryOp, Call, FieldRef, Literal, Typed, UnaryOp
from isthmus.mapping.nullability import null_cause
from isthmus.mapping.parser import located
from isthmus.types import DataType
from isthmus.validation.constraints import Check, field_checks
from isthmus.validation.static_values import Outcome, outcomes, shown, typed_expression

VALUE_NOT_IN_ENUM = "value-not-in-enum"
CONSTANT_VIOLATES_CONSTRAINT = "constant-violates-constraint"
KEY_MAY_BE_NULL = "key-may-be-null"


def check_mapped_field(
    entity: Entity,
    target: str,
    compiled: CompiledExpression,
    schema: Mapping[str, DataType],
    location: Location,
    stream_key: str | None,
) -> list[Diagnostic]:
    """Problems of the values ``compiled`` (filling ``entity.target``) can give.

    ``location`` is where the expression's text starts; ``stream_key`` is the stream's
    declared primary key, the one source field every record has.
    """
    typed = typed_expression(compiled.text, schema, location)
    spec = entity.fields.get(target)
    if typed is None or spec is None:
        return []
    problems = _value_problems(entity, target, spec, typed, compiled.text, location)
    # A declared key the schema lacks is its own error; inferring from it would guess.
    if target in entity.primary_key and (stream_key is None or stream_key in schema):
        problems += _key_problems(entity, target, typed, location, stream_key)
    return problems


def _value_problems(
    entity: Entity, target: str, spec: CoreField, typed: Typed, text: str, location: Location
) -> list[Diagnostic]:
    required = spec.required or target in entity.primary_key
    found = outcomes(typed)
    outside_enum: list[Outcome] = []
    problems: list[Diagnostic] = []
    for outcome, broken in zip(found, _broken_checks(target, spec, found, required), strict=True):
        for check in broken:
            if check.rule == "enum":
                outside_enum.append(outcome)
                continue
            problems.append(
                Diagnostic(
                    CONSTANT_VIOLATES_CONSTRAINT,
                    f"{entity.entity}.{target}: {outcome.describe()} {check.message} "
                    f"({check.rule}), so every row given it would be quarantined",
                    located(location, text, outcome.node.col),
                    hint=f"change the value, or the {check.rule} of {entity.entity}.{target} "
                    "in the core model",
                )
            )
    if outside_enum:
        problems.insert(0, _enum_problem(entity, target, spec, outside_enum, text, location))
    return problems


def _enum_problem(
    entity: Entity,
    target: str,
    spec: CoreField,
    outside: list[Outcome],
    text: str,
    location: Location,
) -> Diagnostic:
    allowed = ", ".join(str(value) for value in spec.enum or ())
    values = list(dict.fromkeys(shown(outcome.value) for outcome in outside))
    first = outside[0]
    one = len(values) == 1
    given = first.describe() if one else f"the values {', '.join(values)}"
    return Diagnostic(
        VALUE_NOT_IN_ENUM,
        f"{entity.entity}.{target} allows only {allowed}, but this mapping gives {given}, "
        f"which {'is' if one else 'are'} not among them",
        located(location, text, first.node.col),
        hint=f"map to one of {allowed}, or add {', '.join(values)} to the enum of "
        f"{entity.entity}.{target} in the core model",
    )


def _broken_checks(
    name: str, spec: CoreField, found: list[Outcome], required: bool
) -> list[list[Check]]:
    """For each outcome, the row checks of the field that a row holding its value fails: the
    checks a run applies, over all the outcomes at once."""
    values = [outcome.value for outcome in found]
    column = pl.Series(name, values, dtype=spec.data_type.to_polars(), strict=False)
    checks = list(field_checks(name, spec, required=required))
    if not values or not checks:
        return [[] for _ in values]
    # A value the field's type cannot hold is null here: the type check reports it.
    flags = column.to_frame().select(
        (check.failed & pl.col(name).is_not_null()).fill_null(False).alias(str(index))
        for index, check in enumerate(checks)
    )
    return [
        [check for check, failed in zip(checks, row, strict=True) if failed]
        for row in flags.iter_rows()
    ]


def _key_problems(
    entity: Entity, target: str, typed: Typed, location: Location, stream_key: str | None
) -> list[Diagnostic]:
    present = frozenset({stream_key} if stream_key else ())
    cause = null_cause(typed, present)
    if cause is None:
        return []
    if stream_key is None:
        source = "declare the stream's primary_key, the source field every record has, and map "
        source += "the key from it"
    else:
        source = (
            f"map it from a field every record has, such as the stream's primary key {stream_key}"
        )
    return [
        Diagnostic(
            KEY_MAY_BE_NULL,
            f"{entity.entity}.{target} is part of the primary key, but {typed.node.text!r} may "
            f"be null: {_why_null(cause)}; rows without a key would be quarantined",
            location,
            hint=f"{source}, or accept that such records are quarantined",
            severity=Severity.WARNING,
        )
    ]


def _why_null(cause: Typed) -> str:
    node = cause.node
    if isinstance(node, FieldRef):
        return f"source field {node.text} may be missing from a record"
    if isinstance(node, Literal):
        return "it is None"
    if isinstance(node, BinaryOp | UnaryOp):
        how = "divides by zero" if node.op == "/" else "overflows"
        return f"{node.text} gives null where it {how}"
    if isinstance(node, Call):
        spec = get_function(node.name)
        if spec is not None and spec.can_fail:
            return f"{node.text} gives null for a value it cannot handle"
        return f"{node.text} can give null"
    return f"{node.text} can give null"
