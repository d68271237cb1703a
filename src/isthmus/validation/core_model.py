"""Static checks of the core model: keys, constraints and references between entities."""

from __future__ import annotations

import difflib
import graphlib

from isthmus.config.models import CoreField, Entity
from isthmus.config.project import Loaded, Project
from isthmus.diagnostics import Diagnostic
from isthmus.types import NUMERIC_KINDS, Kind

# Kinds whose values compare exactly by equality with a YAML value. Decimals are left out
# (a YAML number is read as a float, which a decimal does not equal exactly), and so are
# json values (the same value has many texts), booleans, timestamps and dates.
ENUM_KINDS = frozenset({Kind.STRING, Kind.INTEGER, Kind.FLOAT})


def check_core_model(project: Project) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for loaded in project.entities.values():
        problems.extend(_check_keys(loaded))
        for name, spec in loaded.model.fields.items():
            problems.extend(_check_field(project, loaded, name, spec))
    problems.extend(_check_cycles(project))
    return problems


def _check_keys(loaded: Loaded[Entity]) -> list[Diagnostic]:
    entity, document = loaded.model, loaded.document
    problems = []
    if entity.tenant_key not in entity.primary_key:
        problems.append(
            Diagnostic(
                "tenant-key-not-in-primary-key",
                f"entity {entity.entity!r}: the primary key must include the tenant key "
                f"{entity.tenant_key!r}, so one tenant's rows can never collide with another's",
                document.location(("primary_key",)),
                hint=f"write primary_key: [{entity.tenant_key}, ...]",
            )
        )
    for index, key in enumerate(entity.primary_key):
        spec = entity.fields.get(key)
        if spec is not None and spec.type == "json":
            problems.append(
                Diagnostic(
                    "invalid-value",
                    f"entity {entity.entity!r}: primary key field {key!r} is json, and a key "
                    "compares values exactly while one JSON value has many texts",
                    document.location(("primary_key", index)),
                    hint="key the entity by a string, integer or decimal field",
                )
            )
        if key != entity.tenant_key and key not in entity.fields:
            problems.append(
                Diagnostic(
                    "unknown-core-field",
                    f"entity {entity.entity!r}: primary key field {key!r} is "
                    "not declared under fields",
                    document.location(("primary_key", index)),
                    hint=_close(key, entity.fields),
                )
            )
    tenant_field = entity.fields.get(entity.tenant_key)
    if tenant_field is not None and tenant_field.type != "string":
        problems.append(
            Diagnostic(
                "invalid-value",
                f"entity {entity.entity!r}: the tenant key must be a string",
                document.location(("fields", entity.tenant_key, "type")),
                hint="declare it as type: string",
            )
        )
    return problems


def _check_field(
    project: Project, loaded: Loaded[Entity], name: str, spec: CoreField
) -> list[Diagnostic]:
    document, entity = loaded.document, loaded.model.entity
    path = ("fields", name)
    problems = []
    kind = spec.data_type.kind
    numeric = kind in NUMERIC_KINDS
    for key, allowed in (
        ("min", numeric),
        ("max", numeric),
        ("pattern", kind is Kind.STRING),
        ("max_length", kind is Kind.STRING),
    ):
        if getattr(spec, key) is not None and not allowed:
            problems.append(
                Diagnostic(
                    "constraint-type-mismatch",
                    f"{entity}.{name}: {key} does not apply to "
                    f"{_article(spec.type)} {spec.type} field",
                    document.location((*path, key), at_key=True),
                    hint=f"remove {key}, or change the field's type",
                )
            )
    if spec.enum is not None and kind not in ENUM_KINDS:
        problems.append(
            Diagnostic(
                "constraint-type-mismatch",
                f"{entity}.{name}: enum does not apply to {_article(spec.type)} {spec.type} field",
                document.location((*path, "enum")),
                hint="remove enum, or change the field's type",
            )
        )
    elif spec.enum is not None:
        wrong = [v for v in spec.enum if not _enum_value_fits(v, kind)]
        if wrong:
            problems.append(
                Diagnostic(
                    "constraint-type-mismatch",
                    f"{entity}.{name}: enum value {wrong[0]!r} is not a {spec.type}",
                    document.location((*path, "enum")),
                    hint="list values of the field's own type",
                )
            )
    if spec.references is not None:
        problems.extend(_check_reference(project, loaded, name, spec))
    return problems


def _enum_value_fits(value: object, kind: Kind) -> bool:
    if kind is Kind.STRING:
        return isinstance(value, str)
    if kind is Kind.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)  # a float field


def _check_reference(
    project: Project, loaded: Loaded[Entity], name: str, spec: CoreField
) -> list[Diagnostic]:
    target = spec.referenced
    assert target is not None
    where = loaded.document.location(("fields", name, "references"))
    target_entity = project.entities.get(target[0])
    if target_entity is None:
        return [
            Diagnostic(
                "unknown-reference",
                f"{loaded.model.entity}.{name} references "
                f"entity {target[0]!r}, which does not exist",
                where,
                hint=_close(target[0], project.entities),
            )
        ]
    target_type = target_entity.model.field_type(target[1])
    if target_type is None:
        return [
            Diagnostic(
                "unknown-reference",
                f"{loaded.model.entity}.{name} references {spec.references}, which is not a field",
                where,
                hint=_close(target[1], target_entity.model.fields),
            )
        ]
    if target_type != spec.data_type:
        return [
            Diagnostic(
                "type-mismatch",
                f"{loaded.model.entity}.{name} is {spec.type} but "
                f"references {spec.references}, a {target_type}",
                where,
                hint="a reference has the type of the field it points to",
            )
        ]
    return []


def _check_cycles(project: Project) -> list[Diagnostic]:
    graph = reference_graph(project.entities)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = [str(node) for node in exc.args[1]]
        first = project.entities[cycle[0]]
        return [
            Diagnostic(
                "reference-cycle",
                "core entities reference each other in a cycle: " + " -> ".join(cycle),
                first.document.location(("entity",)),
                hint="entities are loaded in reference order; allow a missing reference "
                "(on_missing: allow) or drop one reference to break the cycle",
            )
        ]
    return []


def reference_graph(entities: dict[str, Loaded[Entity]]) -> dict[str, set[str]]:
    """Entity -> the other entities it references (self-references excluded)."""
    graph: dict[str, set[str]] = {}
    for name, loaded in entities.items():
        targets = {
            spec.referenced[0]
            for spec in loaded.model.fields.values()
            if spec.referenced and spec.on_missing == "reject"
        }
        graph[name] = {t for t in targets if t != name and t in entities}
    return graph


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _close(name: str, known: object) -> str | None:
    names = list(known) if isinstance(known, dict) else []
    match = difflib.get_close_matches(name, names, n=1)
    return f"did you mean {match[0]!r}?" if match else None
