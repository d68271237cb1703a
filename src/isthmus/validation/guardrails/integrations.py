"""Guardrails on an integration as a whole: the connectors it uses, what it overrides, who
owns it and whom it escalates to.

``owner-required``: the file model already requires an owner; the rule refuses one whose team
or contact is blank. ``escalation-required``: an integration with no escalation step.
"""

from __future__ import annotations

from typing import Any

from isthmus.config.policy import ALL_CONNECTORS, Policy
from isthmus.config.resolve import ResolvedIntegration
from isthmus.validation.guardrails.rules import RULES, Violation, dotted, path_matches


def allowed_connectors(resolved: ResolvedIntegration, policy: Policy) -> list[Violation]:
    rule = RULES["allowed-connectors"]
    allowed = policy.allowed_connectors.connectors
    if ALL_CONNECTORS in allowed:
        return []
    used = [(("source", "connector"), resolved.template.source.connector)]
    if resolved.template.writeback is not None:
        used.append((("writeback", "connector"), resolved.template.writeback.connector))
    return [
        Violation(
            rule,
            dotted(path),
            f"{dotted(path)} is {name!r}, which the policy does not allow "
            f"(allowed: {', '.join(allowed) or 'none'}): {rule.why}",
            resolved.locator.location(path),
        )
        for path, name in used
        if name not in allowed
    ]


def override_not_allowed(resolved: ResolvedIntegration) -> list[Violation]:
    rule = RULES["override-not-allowed"]
    template = resolved.template
    allowed = template.overridable
    found = []
    for path in _leaves(resolved.integration.overrides):
        text = dotted(path)
        if any(path_matches(pattern, text) for pattern in allowed):
            continue
        found.append(
            Violation(
                rule,
                text,
                f"integration {resolved.name!r} overrides {text}, which template "
                f"{template.template} {template.version} does not make overridable "
                f"(overridable: {', '.join(allowed) or 'nothing'}): {rule.why}",
                resolved.integration_document.location(("overrides", *path), at_key=True),
            )
        )
    return found


def _leaves(node: dict[str, Any], base: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of an overrides tree's values; a mapping is walked into, anything else is
    a value (None removes what it names)."""
    found: list[tuple[str, ...]] = []
    for key, value in node.items():
        path = (*base, str(key))
        if isinstance(value, dict) and value:
            found += _leaves(value, path)
        else:
            found.append(path)
    return found


def owner_required(resolved: ResolvedIntegration) -> list[Violation]:
    rule = RULES["owner-required"]
    owner = resolved.integration.owner
    if owner.team.strip() and owner.contact.strip():
        return []
    return [
        Violation(
            rule,
            "owner",
            f"integration {resolved.name!r} names no owning team or contact: {rule.why}",
            resolved.integration_document.location(("owner",), at_key=True),
        )
    ]


def escalation_required(resolved: ResolvedIntegration) -> list[Violation]:
    rule = RULES["escalation-required"]
    if resolved.integration.escalation:
        return []
    return [
        Violation(
            rule,
            "escalation",
            f"integration {resolved.name!r} has no escalation step: {rule.why}",
            resolved.integration_document.location(("escalation",), at_key=True),
        )
    ]
