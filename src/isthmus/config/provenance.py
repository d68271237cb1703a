"""Where each value of an integration's resolved configuration came from: `isthmus config show`.

A value comes from the template version the integration picked, from one of that template's
parents (``extends``), or from the integration's own ``overrides``. Secrets stay the
references they were written as (``${secret:NAME}``); nothing here reads a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from isthmus.config.documents import Document, PathKey
from isthmus.config.inherit import MergedDocument, merge, origin_document
from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.errors import NotFoundError, ValidationFailedError

OriginKind = Literal["template", "parent template", "override"]


@dataclass(frozen=True)
class Origin:
    """The file and line a value was written on, and what kind of file that is."""

    kind: OriginKind
    template: str | None  # "crm-contacts 2.1.0"; None for an override
    file: Path
    line: int

    @property
    def source(self) -> str:
        return self.kind if self.template is None else f"{self.kind} {self.template}"

    def __str__(self) -> str:
        return f"{self.source} ({self.file}:{self.line})"


@dataclass(frozen=True)
class SourcedValue:
    path: PathKey
    value: Any
    origin: Origin

    @property
    def dotted(self) -> str:
        return dotted(self.path)


@dataclass(frozen=True)
class ResolvedConfig:
    integration: str
    template: str  # "crm-contacts 2.1.0"
    values: tuple[SourcedValue, ...]


def dotted(path: PathKey) -> str:
    return ".".join(str(part) for part in path)


def leaves(node: Any, path: PathKey = ()) -> list[tuple[PathKey, Any]]:
    """Every leaf of nested mappings with its path; a list or an empty mapping is a leaf."""
    if not isinstance(node, dict) or (not node and path):
        return [(path, node)]
    found: list[tuple[PathKey, Any]] = []
    for key, value in node.items():
        found += leaves(value, (*path, key))
    return found


def resolved_integration(project: Project, name: str) -> ResolvedIntegration:
    """The integration ``name`` resolved, or an error naming why it is not."""
    if name not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        raise NotFoundError(
            f"no integration named {name!r} in {project.root}",
            hint=f"integrations in this project: {known}",
        )
    resolved, problems = resolve(project, name)
    if resolved is None:
        raise ValidationFailedError(
            f"integration {name!r} does not resolve",
            [p for p in problems if p.is_error],
            hint="fix the errors below (`isthmus validate` lists every problem)",
        )
    return resolved


def resolved_data(resolved: ResolvedIntegration) -> Any:
    """The template's data (parents merged in) with the integration's overrides merged on."""
    return merge(resolved.template_file.document.data, resolved.integration.overrides)


def show_config(project: Project, name: str) -> ResolvedConfig:
    """The integration's resolved configuration, each leaf value with its origin."""
    resolved = resolved_integration(project, name)
    values = tuple(
        SourcedValue(path, value, origin_of(project, resolved, path))
        for path, value in leaves(resolved_data(resolved))
    )
    template = f"{resolved.template.template} {resolved.template.version}"
    return ResolvedConfig(resolved.name, template, values)


def origin_of(project: Project, resolved: ResolvedIntegration, path: PathKey) -> Origin:
    if resolved.locator.overridden(path):
        where = resolved.integration_document.location(("overrides", *path))
        return Origin("override", None, shown_path(project, where.file), where.line)
    picked = resolved.template_file.document
    own = picked.child if isinstance(picked, MergedDocument) else picked
    written = origin_document(picked, path)
    where = written.location(path)
    kind: OriginKind = "template" if written is own else "parent template"
    return Origin(kind, _template_label(written), shown_path(project, where.file), where.line)


def _template_label(document: Document) -> str:
    data = document.data if isinstance(document.data, dict) else {}
    return f"{data.get('template')} {data.get('version')}"


def shown_path(project: Project, path: Path) -> Path:
    """A project file's path relative to the project folder, as the README writes it."""
    try:
        return path.relative_to(project.root)
    except ValueError:
        return path
