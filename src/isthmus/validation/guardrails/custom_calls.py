"""``custom-function-requires-exception``: a mapping expression calling a custom function.

Every call is a violation at the call itself (its function name), with the configuration
path of the field whose expression holds it, so an exception's ``scope`` can waive the
calls of one field, one mapping or all of them. Mapping fields and write-back target fields
are both expressions. An expression that does not parse is left to the mapping checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from isthmus.config.documents import PathKey
from isthmus.config.resolve import ResolvedIntegration
from isthmus.mapping.custom import is_custom_function
from isthmus.mapping.models import Call, Expression
from isthmus.mapping.parser import located, parse_value
from isthmus.validation.guardrails.rules import RULES, Violation, dotted

RULE_ID = "custom-function-requires-exception"


def custom_function_calls(resolved: ResolvedIntegration) -> list[Violation]:
    found: list[Violation] = []
    for path, expression in _expressions(resolved):
        found += _violations(resolved, path, expression)
    return found


def _expressions(resolved: ResolvedIntegration) -> Iterator[tuple[tuple[str, ...], Expression]]:
    template = resolved.template
    for name, mapping in template.mappings.items():
        for target, expression in mapping.fields.items():
            yield ("mappings", name, "fields", target), expression
    if template.writeback is not None:
        for target_name, writeback_target in template.writeback.targets.items():
            for external, expression in writeback_target.fields.items():
                yield ("writeback", "targets", target_name, "fields", external), expression


def _violations(
    resolved: ResolvedIntegration, path: tuple[str, ...], expression: Expression
) -> list[Violation]:
    if not isinstance(expression, str):  # a constant calls nothing
        return []
    rule = RULES[RULE_ID]
    key: PathKey = path
    start = resolved.locator.expression_location(key)
    node, _ = parse_value(expression, start)
    if node is None:
        return []
    return [
        Violation(
            rule,
            dotted(path),
            f"{dotted(path)} calls the custom function {call.name}(): {rule.why}",
            located(start, expression, call.col),
        )
        for call in _calls(node)
        if is_custom_function(call.name)
    ]


def _calls(node: object) -> Iterator[Call]:
    """Every call in an expression tree, outer ones first, whatever kinds of node hold them."""
    if isinstance(node, Call):
        yield node
    if isinstance(node, tuple | list):
        for item in node:
            yield from _calls(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            yield from _calls(getattr(node, field.name))
