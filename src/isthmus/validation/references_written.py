"""References whose target no mapping of the template writes.

A reference is checked per row against the target entity's rows of the same tenant. When no
mapping of the template writes the target, those rows exist only if something else puts them
there (another integration, the core product itself); the template says so with
``preexisting: [entity]``. Otherwise every row with a reference would be quarantined.
"""

from __future__ import annotations

import difflib

from isthmus.config.documents import Locator
from isthmus.config.models import Template
from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic

REFERENCE_TARGET_UNWRITTEN = "reference-target-unwritten"
UNKNOWN_ENTITY = "unknown-entity"


def check_preexisting(project: Project, template: Template, locator: Locator) -> list[Diagnostic]:
    """Each ``preexisting`` entry names an entity of the core model."""
    problems = []
    for index, name in enumerate(template.preexisting):
        if name in project.entities or project.unloaded_file("entity", name) is not None:
            continue  # a file that did not load has its own errors
        close = difflib.get_close_matches(name, list(project.entities), n=1)
        problems.append(
            Diagnostic(
                UNKNOWN_ENTITY,
                f"preexisting names entity {name!r}, which the core model does not declare",
                locator.location(("preexisting", index)),
                hint=f"did you mean {close[0]!r}?" if close else "declare it in a file under core/",
            )
        )
    return problems


def check_references_written(
    project: Project, template: Template, locator: Locator
) -> list[Diagnostic]:
    """Each mapped reference field points at an entity the template writes or declares
    pre-existing (a reference that allows missing targets is left alone)."""
    available = {mapping.entity for mapping in template.mappings.values()}
    if not available <= set(project.entities):
        return []  # a mapping's entity is unknown: which it meant to write is a guess
    available.update(template.preexisting)
    problems = []
    for name, mapping in template.mappings.items():
        loaded = project.entities.get(mapping.entity)
        if loaded is None:
            continue  # reported as unknown-entity
        for field in mapping.fields:
            spec = loaded.model.fields.get(field)
            if spec is None or spec.referenced is None or spec.on_missing == "allow":
                continue
            target, target_field = spec.referenced
            if target in available or target not in project.entities:
                continue  # a missing target entity is the core model's unknown-reference
            problems.append(
                Diagnostic(
                    REFERENCE_TARGET_UNWRITTEN,
                    f"{mapping.entity}.{field} references {target}.{target_field}, but no "
                    f"mapping of template {template.template} writes {target}: unless its rows "
                    f"come from elsewhere, every row that sets {field} would be quarantined",
                    locator.expression_location(("mappings", name, "fields", field)),
                    hint=f"add a mapping that writes {target}, or, if another integration "
                    f"writes it for each tenant, declare it: preexisting: [{target}]",
                )
            )
    return problems
