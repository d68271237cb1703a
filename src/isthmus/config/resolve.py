"""Resolve an integration: pick its template version, merge its overrides, hash the result.

The merged configuration keeps track of where each value was written, so a diagnostic about
a merged value points at the template line or at the integration's override line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from isthmus.config.diagnose import model_diagnostics
from isthmus.config.documents import Document, PathKey
from isthmus.config.inherit import merge
from isthmus.config.models import Entity, Integration, Template
from isthmus.config.project import Loaded, Project
from isthmus.config.versions import Version, VersionRange
from isthmus.diagnostics import Diagnostic, Location


@dataclass(frozen=True)
class MergedLocator:
    """Locates paths of a merged template: override lines win over template lines."""

    template: Document
    integration: Document
    overrides: dict[str, Any]

    def overridden(self, path: PathKey) -> bool:
        node: Any = self.overrides
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def location(self, path: PathKey = (), *, at_key: bool = False) -> Location:
        if path and self.overridden(path):
            return self.integration.location(("overrides", *path), at_key=at_key)
        return self.template.location(path, at_key=at_key)

    def expression_location(self, path: PathKey) -> Location:
        if path and self.overridden(path):
            return self.integration.expression_location(("overrides", *path))
        return self.template.expression_location(path)


@dataclass(frozen=True)
class ResolvedIntegration:
    """An integration with its template picked and its overrides merged in."""

    integration: Integration
    integration_document: Document
    template: Template
    template_file: Loaded[Template]
    version: Version
    locator: MergedLocator
    entities: dict[str, Entity]
    config_hash: str

    @property
    def name(self) -> str:
        return self.integration.integration

    @property
    def tenant(self) -> str:
        return self.integration.tenant


def pick_template(
    project: Project, integration: Loaded[Integration]
) -> tuple[Loaded[Template] | None, list[Diagnostic]]:
    """The highest template version the integration's range admits."""
    spec = integration.model
    where = integration.document.location(("template",))
    versions = project.templates.get(spec.template_name)
    broken = project.unloaded_file("template", spec.template_name)
    if not versions and broken is not None:
        return None, [
            Diagnostic(
                "broken-dependency",
                f"integration {spec.integration!r} uses template "
                f"{spec.template_name!r}, whose file {broken} did not load",
                where,
                hint=f"fix the errors reported for {broken}",
            )
        ]
    if not versions:
        known = ", ".join(sorted(project.templates)) or "none"
        return None, [
            Diagnostic(
                "unknown-template",
                f"integration {spec.integration!r} uses template "
                f"{spec.template_name!r}, which no file under templates/ "
                "declares",
                where,
                hint=f"templates in this project: {known}",
            )
        ]
    try:
        wanted = VersionRange.parse(spec.template_range)
    except ValueError as exc:
        return None, [
            Diagnostic(
                "invalid-value",
                str(exc),
                where,
                hint="write the range as ^2, ~2.1, 2.1.0 or >=2.1 <3",
            )
        ]
    best = wanted.best(list(versions))
    if best is None:
        present = ", ".join(str(v) for v in sorted(versions))
        return None, [
            Diagnostic(
                "no-matching-template-version",
                f"no version of template {spec.template_name!r} matches {wanted}",
                where,
                hint=f"versions present: {present}",
            )
        ]
    return versions[best], []


def resolve(project: Project, name: str) -> tuple[ResolvedIntegration | None, list[Diagnostic]]:
    """Resolve one loaded integration; diagnostics say why it could not be resolved."""
    loaded = project.integrations[name]
    picked, problems = pick_template(project, loaded)
    if picked is None:
        return None, problems
    spec = loaded.model
    locator = MergedLocator(picked.document, loaded.document, spec.overrides)
    merged_data = merge(picked.document.data, spec.overrides)
    try:
        template = Template.model_validate(merged_data)
    except ValidationError as exc:
        return None, model_diagnostics(exc, locator, Template)
    entities = {
        m.entity: project.entities[m.entity].model
        for m in template.mappings.values()
        if m.entity in project.entities
    }
    for entity in list(entities.values()):
        for core_field in entity.fields.values():
            target = core_field.referenced
            if target and target[0] in project.entities:
                entities.setdefault(target[0], project.entities[target[0]].model)
    resolved = ResolvedIntegration(
        integration=spec,
        integration_document=loaded.document,
        template=template,
        template_file=picked,
        version=Version.parse(template.version),
        locator=locator,
        entities=entities,
        config_hash=config_hash(spec, template, entities),
    )
    return resolved, problems


def config_hash(integration: Integration, template: Template, entities: dict[str, Entity]) -> str:
    """A content hash of everything a run of this integration depends on."""
    content = {
        "integration": integration.model_dump(mode="json", by_alias=True),
        "template": template.model_dump(mode="json", by_alias=True),
        "entities": {n: e.model_dump(mode="json") for n, e in sorted(entities.items())},
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
