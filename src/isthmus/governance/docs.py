"""The generated documentation catalog: static HTML pages describing a project.

``write_catalog`` resolves every integration, builds plain view models (``models.py``) and
renders them with the Jinja2 templates shipped in this package. The output is deterministic:
collections are sorted by name, the contents of one object keep the order they were written
in, and nothing depends on the clock, so two generations differ only where the project does.
Links between pages are relative, so the folder works from disk or served under any path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from isthmus.config.documents import PathKey
from isthmus.config.models import Entity, Integration, Mapping, Stream, Template
from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.config.versions import Version
from isthmus.diagnostics import Diagnostic
from isthmus.governance.errors import CatalogOutputError
from isthmus.governance.models import (
    Catalog,
    EntityField,
    EntityPage,
    EscalationView,
    ExceptionView,
    FieldMappingRow,
    FunctionView,
    IndexPage,
    IntegrationPage,
    Link,
    MappingView,
    Overridden,
    OwnerView,
    Problem,
    SchemaField,
    Setting,
    StreamView,
    TemplatePage,
    TemplateSummary,
    WriteBackView,
    Writer,
    override_settings,
    settings,
    sync_settings,
    text,
)
from isthmus.mapping import FUNCTIONS
from isthmus.mapping.custom import is_custom_function

__all__ = ["CatalogReport", "build_catalog", "render_catalog", "write_catalog"]

STYLESHEET = "style.css"
FUNCTIONS_PAGE = "functions.html"
Resolutions = dict[str, tuple[ResolvedIntegration | None, list[Diagnostic]]]


@dataclass(frozen=True)
class CatalogReport:
    """What ``write_catalog`` wrote: every page (index first), and the stylesheet."""

    pages: list[Path]
    stylesheet: Path
    unresolved: list[str] = field(default_factory=list)


def write_catalog(project: Project, out_dir: Path) -> CatalogReport:
    """Write the catalog of ``project`` into ``out_dir``, creating the folder if needed.

    Raises CatalogOutputError when the folder cannot be created or written.
    """
    _check_output(project, out_dir)
    catalog = build_catalog(project)
    files = render_catalog(catalog)
    files[STYLESHEET] = _stylesheet()
    _write_files(out_dir, files)
    pages = [out_dir / name for name in files if name != STYLESHEET]
    unresolved = [page.name for page in catalog.integrations if not page.resolves]
    return CatalogReport(pages=pages, stylesheet=out_dir / STYLESHEET, unresolved=unresolved)


def build_catalog(project: Project) -> Catalog:
    """Every page's view model; an integration that does not resolve still gets one."""
    resolutions: Resolutions = {
        name: resolve(project, name) for name in sorted(project.integrations)
    }
    resolved = [r for r, _ in resolutions.values() if r is not None]
    integrations = tuple(
        _integration_page(project, name, *resolutions[name]) for name in resolutions
    )
    templates = tuple(
        _template_page(project, project.templates[name][version].model, version, resolved)
        for name in sorted(project.templates)
        for version in sorted(project.templates[name])
    )
    entities = tuple(_entity_page(project, name, resolved) for name in sorted(project.entities))
    settings = project.settings.model if project.settings else None
    index = IndexPage(
        project=settings.project if settings else project.root.resolve().name,
        description=settings.description if settings else "",
        templates=tuple(_template_summary(name, project) for name in sorted(project.templates)),
        integrations=integrations,
        entities=entities,
        problems=tuple(Problem.of(d, project.root) for d in project.diagnostics),
        functions=_functions(),
    )
    return Catalog(index, templates, integrations, entities)


def _functions() -> tuple[FunctionView, ...]:
    """The mapping language's functions, from the registry the type checker reads, so the
    page cannot drift from what validates (custom ones are those the project loaded)."""
    return tuple(
        FunctionView(
            spec.name, spec.signature, spec.doc, spec.can_fail, is_custom_function(spec.name)
        )
        for spec in sorted(FUNCTIONS.values(), key=lambda spec: spec.name)
    )


def render_catalog(catalog: Catalog) -> dict[str, str]:
    """Each page's HTML by its path inside the catalog folder, in a stable order."""
    env = _environment()
    name = catalog.index.project
    files = {
        "index.html": _render(env, "index.html.j2", "", name, catalog.index),
        FUNCTIONS_PAGE: _render(env, "functions.html.j2", "", name, catalog.index),
    }
    for template in catalog.templates:
        files[template.href] = _render(env, "template.html.j2", "../", name, template)
    for integration in catalog.integrations:
        files[integration.href] = _render(env, "integration.html.j2", "../", name, integration)
    for entity in catalog.entities:
        files[entity.href] = _render(env, "entity.html.j2", "../", name, entity)
    return files


# --- output -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("isthmus.governance", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(env: Environment, template: str, root: str, project: str, page: object) -> str:
    return env.get_template(template).render(root=root, project_name=project, page=page)


def _stylesheet() -> str:
    return (resources.files("isthmus.governance") / "templates" / STYLESHEET).read_text("utf-8")


def _check_output(project: Project, out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise CatalogOutputError(
            f"cannot write the documentation catalog to {out_dir}: it is a file, not a folder",
            folder=out_dir,
            hint="pass a folder (an existing one or a new path), e.g. `isthmus docs --out site`",
        )
    if out_dir.resolve() == project.root.resolve():
        raise CatalogOutputError(
            f"cannot write the documentation catalog to {out_dir}: it is the project folder, "
            "and its pages would mix with the project's templates/ and integrations/",
            folder=out_dir,
            hint="write the catalog to a folder of its own, e.g. `isthmus docs --out site`",
        )


def _write_files(out_dir: Path, files: dict[str, str]) -> None:
    try:
        for name, content in files.items():
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="\n")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        raise CatalogOutputError(
            f"cannot write the documentation catalog to {out_dir}: {reason}{where}",
            folder=out_dir,
            hint="check that the folder and its parents are folders you may write to, "
            "or choose another with `isthmus docs --out DIR`",
        ) from exc


# --- pages --------------------------------------------------------------------------------


def template_href(name: str, version: Version | str) -> str:
    return f"templates/{name}-{version}.html"


def integration_href(name: str) -> str:
    return f"integrations/{name}.html"


def _entity_link(project: Project, name: str) -> Link:
    return Link(name, f"entities/{name}.html" if name in project.entities else None)


def _not_overridden(path: PathKey) -> bool:
    return False


def _template_summary(name: str, project: Project) -> TemplateSummary:
    versions = project.templates[name]
    newest = versions[max(versions)].model
    links = tuple(Link(str(v), template_href(name, v)) for v in sorted(versions))
    return TemplateSummary(name, links, OwnerView.of(newest.owner), newest.description)


def _template_page(
    project: Project, template: Template, version: Version, resolved: list[ResolvedIntegration]
) -> TemplatePage:
    used_by = tuple(
        Link(r.name, integration_href(r.name))
        for r in resolved
        if r.template.template == template.template and r.version == version
    )
    return TemplatePage(
        name=template.template,
        version=template.version,
        href=template_href(template.template, template.version),
        description=template.description,
        owner=OwnerView.of(template.owner),
        limitations=tuple(template.limitations),
        connector=template.source.connector,
        source_options=settings(template.source.options),
        streams=tuple(_stream(name, stream) for name, stream in template.streams.items()),
        mappings=_mappings(project, template, _not_overridden, {}),
        sync=sync_settings(template.sync, _not_overridden),
        overridable=tuple(template.overridable),
        used_by=used_by,
        writeback_connector=template.writeback.connector if template.writeback else None,
        writeback_options=settings(template.writeback.options) if template.writeback else (),
        writeback=_writeback_targets(project, template),
    )


def _writeback_targets(project: Project, template: Template) -> tuple[WriteBackView, ...]:
    if template.writeback is None:
        return ()
    # A file target has no HTTP method: showing the model's default would mislead.
    hidden = {"entity", "fields"} | (
        {"method"} if template.writeback.connector == "file" else set()
    )
    views = []
    for name, target in template.writeback.targets.items():
        shown = target.model_dump(
            mode="json", exclude=hidden, exclude_none=True, exclude_defaults=False
        )
        views.append(
            WriteBackView(
                name=name,
                entity=_entity_link(project, target.entity),
                settings=settings(shown),
                fields=tuple(Setting(k, text(v)) for k, v in target.fields.items()),
            )
        )
    return tuple(views)


def _stream(name: str, stream: Stream) -> StreamView:
    return StreamView(
        name=name,
        description=stream.description,
        primary_key=stream.primary_key,
        cursor=stream.cursor,
        options=settings(stream.connector_options),
        fields=tuple(SchemaField.of(n, t) for n, t in stream.schema_types.items()),
    )


def _integration_page(
    project: Project, name: str, resolved: ResolvedIntegration | None, problems: list[Diagnostic]
) -> IntegrationPage:
    spec = project.integrations[name].model
    template_link: Link | None = None
    mappings: tuple[MappingView, ...] = ()
    sync: tuple[Setting, ...] = ()
    if resolved is not None:
        overridden = resolved.locator.overridden
        template_link = Link(
            str(resolved.version), template_href(spec.template_name, resolved.version)
        )
        mappings = _mappings(project, resolved.template, overridden, spec.overrides)
        sync = sync_settings(resolved.template.sync, overridden)
    return IntegrationPage(
        name=name,
        href=integration_href(name),
        tenant=spec.tenant,
        description=spec.description,
        template_reference=spec.template,
        template=template_link,
        owner=OwnerView.of(spec.owner),
        escalation=tuple(EscalationView(s.after, s.team, s.contact) for s in spec.escalation),
        overrides=override_settings(spec.overrides),
        connection=settings(spec.connection.connector_options),
        secrets=tuple(Setting(k, v) for k, v in spec.connection.secrets.items()),
        exceptions=_exceptions(spec),
        mappings=mappings,
        sync=sync,
        problems=tuple(Problem.of(d, project.root) for d in problems),
    )


def _exceptions(spec: Integration) -> tuple[ExceptionView, ...]:
    return tuple(
        ExceptionView(e.rule, e.justification, e.approved_by, e.expires.isoformat(), e.scope or "")
        for e in spec.exceptions
    )


def _entity_page(project: Project, name: str, resolved: list[ResolvedIntegration]) -> EntityPage:
    entity = project.entities[name].model
    writers = tuple(
        Writer(Link(r.name, integration_href(r.name)), r.tenant, mapping_name, mapping.write)
        for r in resolved
        for mapping_name, mapping in r.template.mappings.items()
        if mapping.entity == name
    )
    return EntityPage(
        name=name,
        href=f"entities/{name}.html",
        description=entity.description,
        tenant_key=entity.tenant_key,
        primary_key=tuple(entity.primary_key),
        fields=_entity_fields(project, entity),
        written_by=writers,
        referenced_by=_referenced_by(project, name),
    )


def _entity_fields(project: Project, entity: Entity) -> tuple[EntityField, ...]:
    fields = [
        EntityField.of(name, spec, reference=_reference(project, spec.references))
        for name, spec in entity.fields.items()
    ]
    if entity.tenant_key not in entity.fields:
        description = "The tenant each row belongs to; isthmus sets it on every write."
        fields.insert(
            0, EntityField(entity.tenant_key, "string", ("tenant key",), None, False, description)
        )
    return tuple(fields)


def _referenced_by(project: Project, name: str) -> tuple[Link, ...]:
    return tuple(
        Link(f"{other}.{field_name}", f"entities/{other}.html")
        for other in sorted(project.entities)
        for field_name, spec in project.entities[other].model.fields.items()
        if spec.referenced is not None and spec.referenced[0] == name
    )


def _reference(project: Project, reference: str | None) -> Link | None:
    if reference is None:
        return None
    return Link(reference, _entity_link(project, reference.split(".", 1)[0]).href)


# --- mappings and settings ----------------------------------------------------------------


def _mappings(
    project: Project, template: Template, overridden: Overridden, overrides: dict[str, Any]
) -> tuple[MappingView, ...]:
    return tuple(
        _mapping(project, name, mapping, overridden, _removed_fields(overrides, name))
        for name, mapping in template.mappings.items()
    )


def _mapping(
    project: Project, name: str, mapping: Mapping, overridden: Overridden, removed: tuple[str, ...]
) -> MappingView:
    rows = tuple(
        _row(
            project,
            mapping.entity,
            core_field,
            text(expression),
            overridden(("mappings", name, "fields", core_field)),
        )
        for core_field, expression in mapping.fields.items()
    )
    modes = tuple(
        Setting(mode, value, overridden(("mappings", name, mode)))
        for mode, value in (("read", mapping.read), ("write", mapping.write))
    )
    entity_link = _entity_link(project, mapping.entity)
    return MappingView(name, mapping.stream, entity_link, modes, rows, removed)


def _row(
    project: Project, entity_name: str, core_field: str, expression: str, overridden: bool
) -> FieldMappingRow:
    loaded = project.entities.get(entity_name)
    if loaded is None:  # the mapping's heading says the entity is missing
        return FieldMappingRow(core_field, expression, "unknown", (), None, False, overridden)
    entity = loaded.model
    spec = entity.fields.get(core_field)
    if spec is not None:
        reference = _reference(project, spec.references)
        return FieldMappingRow.of(
            core_field, expression, spec, reference=reference, overridden=overridden
        )
    if core_field == entity.tenant_key:
        return FieldMappingRow(
            core_field, expression, "string", ("tenant key",), None, False, overridden
        )
    note = f"{entity_name} has no field {core_field}"
    return FieldMappingRow(core_field, expression, "unknown", (), None, False, overridden, note)


def _removed_fields(overrides: dict[str, Any], mapping_name: str) -> tuple[str, ...]:
    node: Any = overrides
    for key in ("mappings", mapping_name, "fields"):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return ()
    return tuple(name for name, value in node.items() if value is None)
