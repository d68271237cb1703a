"""Order an integration's mappings so every referenced entity is loaded first."""

from __future__ import annotations

from dataclasses import replace

from isthmus.validation.models import CompiledMapping


def order_mappings(mappings: list[CompiledMapping]) -> list[CompiledMapping]:
    """Mappings in reference order; among independent ones, as declared.

    A mapping depends on the mappings that write an entity its own entity references.
    Cycles between entities are rejected by the core-model checks before this runs.
    """
    writers: dict[str, list[str]] = {}
    for mapping in mappings:
        writers.setdefault(mapping.entity.entity, []).append(mapping.name)
    depends = {
        m.name: {
            w
            for ref in m.references
            if ref.entity != m.entity.entity
            for w in writers.get(ref.entity, [])
        }
        for m in mappings
    }
    ordered: list[CompiledMapping] = []
    placed: set[str] = set()
    remaining = list(mappings)
    while remaining:
        ready = next((m for m in remaining if depends[m.name] <= placed), remaining[0])
        ordered.append(_with_depends(ready, depends[ready.name]))
        placed.add(ready.name)
        remaining.remove(ready)
    return ordered


def _with_depends(mapping: CompiledMapping, depends_on: set[str]) -> CompiledMapping:
    return replace(mapping, depends_on=frozenset(depends_on))
