"""Guardrails on how mappings write and what a write-back sends: replace mode, delete
propagation, personal data.

``pii-must-be-masked`` is decided statically on write-back targets: a target field whose
expression is a core field marked ``pii`` as it is (a bare field name) sends personal data
unmasked. An expression that computes a value from the field is taken as deliberate.
The quarantine is not checked: everything that shows it masks personal data already.
"""

from __future__ import annotations

from isthmus.config.models import Entity
from isthmus.config.resolve import ResolvedIntegration
from isthmus.validation.guardrails.rules import RULES, Violation, dotted


def replace_mode(resolved: ResolvedIntegration) -> list[Violation]:
    rule = RULES["replace-mode-requires-exception"]
    found = []
    for name, mapping in resolved.template.mappings.items():
        if mapping.write == "replace":
            path = ("mappings", name, "write")
            found.append(
                Violation(
                    rule,
                    dotted(path),
                    f"mapping {name!r} writes with replace: {rule.why}",
                    resolved.locator.location(path),
                )
            )
    return found


def delete_propagation(resolved: ResolvedIntegration) -> list[Violation]:
    rule = RULES["delete-propagation-requires-exception"]
    found = []
    for name, mapping in resolved.template.mappings.items():
        if mapping.deletes != "none":
            path = ("mappings", name, "deletes")
            found.append(
                Violation(
                    rule,
                    dotted(path),
                    f"mapping {name!r} propagates deletes ({mapping.deletes}): {rule.why}",
                    resolved.locator.location(path),
                )
            )
    return found


def pii_masked(resolved: ResolvedIntegration, entities: dict[str, Entity]) -> list[Violation]:
    rule = RULES["pii-must-be-masked"]
    writeback = resolved.template.writeback
    if writeback is None:
        return []
    found = []
    for target_name, target in writeback.targets.items():
        entity = entities.get(target.entity)
        if entity is None:
            continue
        for external, expression in target.fields.items():
            spec = (
                entity.fields.get(str(expression).strip()) if isinstance(expression, str) else None
            )
            if spec is None or not spec.pii:
                continue
            path = ("writeback", "targets", target_name, "fields", external)
            found.append(
                Violation(
                    rule,
                    dotted(path),
                    f"write-back target {target_name!r} sends {entity.entity}.{expression}, "
                    f"marked pii, unmasked as {external}: {rule.why}",
                    resolved.locator.location(path),
                )
            )
    return found
