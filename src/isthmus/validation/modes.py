"""Static checks of how a mapping writes: cursor field, delete propagation, concurrency.

The guardrail that delete propagation needs an approved exception (``DELETE_RULE``) is one of
the policy's rules in ``isthmus.validation.guardrails``.
"""

from __future__ import annotations

from isthmus.config.documents import Locator, PathKey
from isthmus.config.models import Entity, Mapping, Template
from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic, Severity
from isthmus.types import Kind

DELETE_RULE = "delete-propagation-requires-exception"  # see validation.guardrails


def check_modes(project: Project, template: Template, locator: Locator) -> list[Diagnostic]:
    """Problems of each mapping's write options, and of the sync settings that combine them."""
    problems: list[Diagnostic] = []
    for name, mapping in template.mappings.items():
        loaded = project.entities.get(mapping.entity)
        if loaded is not None:
            problems += _check_mapping(mapping, loaded.model, locator, ("mappings", name))
    sync = template.sync
    if sync.commit == "run" and sync.max_concurrent_streams > 1:
        problems.append(
            Diagnostic(
                "concurrency-needs-stream-commit",
                "max_concurrent_streams has no effect with commit: run, which writes every stream "
                "in one transaction, one after the other",
                locator.location(("sync", "max_concurrent_streams")),
                hint="set commit: stream to let independent streams run at the same time",
                severity=Severity.WARNING,
            )
        )
    return problems


def _check_mapping(
    mapping: Mapping, entity: Entity, locator: Locator, base: PathKey
) -> list[Diagnostic]:
    problems = []
    if mapping.cursor_field is not None:
        problems += _field_problem(
            entity,
            mapping.cursor_field,
            locator,
            (*base, "cursor_field"),
            "cursor_field",
            mapped=mapping,
        )
    if mapping.deletes == "none":
        return problems
    where = locator.location((*base, "deletes"))
    if mapping.read == "incremental":
        problems.append(
            Diagnostic(
                "deletes-need-full-read",
                "deletes are found by comparing a full read with the "
                "core rows; an incremental read cannot tell what is gone",
                where,
                hint="use read: full with deletes, or deletes: none",
            )
        )
    if mapping.write == "replace":
        problems.append(
            Diagnostic(
                "deletes-with-replace",
                "write: replace already removes the rows a run does not "
                "bring; deletes adds nothing to it",
                where,
                hint="remove deletes, or use write: upsert",
            )
        )
    if mapping.deletes == "soft":
        problems += _field_problem(
            entity,
            mapping.deleted_field,
            locator,
            (*base, "deleted_field"),
            "deleted_field",
            kind=Kind.TIMESTAMP,
        )
    return problems


def _field_problem(
    entity: Entity,
    name: str,
    locator: Locator,
    path: PathKey,
    key: str,
    *,
    mapped: Mapping | None = None,
    kind: Kind | None = None,
) -> list[Diagnostic]:
    spec = entity.fields.get(name)
    if spec is None:
        return [
            Diagnostic(
                "unknown-core-field",
                f"{key} {name!r} is not a field of entity {entity.entity!r}",
                locator.location(path),
                hint=f"declare {name} in core/{entity.entity}.yaml",
            )
        ]
    if mapped is not None and name not in mapped.fields:
        return [
            Diagnostic(
                "cursor-field-unmapped",
                f"cursor_field {name!r} is filled by no expression of this mapping",
                locator.location(path),
                hint=f"map {name} from the stream's cursor",
            )
        ]
    if kind is not None and spec.data_type.kind is not kind:
        return [
            Diagnostic(
                "type-mismatch",
                f"{key} {entity.entity}.{name} is {spec.type}; it must be a {kind}",
                locator.location(path),
                hint=f"declare {name} as type: {kind}",
            )
        ]
    return []
