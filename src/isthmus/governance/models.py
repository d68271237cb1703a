"""The view models the catalog's templates render: plain, frozen data, never pydantic models.

``docs.py`` builds these from the loaded project and the resolved integrations; the Jinja2
templates only read them. Every ``href`` is relative to the catalog's root folder; a page
prefixes it with its own ``root`` (``""`` or ``"../"``), so the catalog works from disk or
served under any path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isthmus.config.documents import PathKey
from isthmus.config.models import CoreField, Owner
from isthmus.config.sync import Sync
from isthmus.diagnostics import Diagnostic
from isthmus.types import DataType, Kind

Overridden = Callable[[PathKey], bool]


@dataclass(frozen=True)
class Link:
    """A name, and the page about it when there is one (``href`` None: no such page)."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Setting:
    """One configuration value as written; ``overridden`` when an integration's override set it."""

    key: str
    value: str
    overridden: bool = False


@dataclass(frozen=True)
class OwnerView:
    team: str
    contact: str

    @classmethod
    def of(cls, owner: Owner) -> OwnerView:
        return cls(owner.team, owner.contact)


@dataclass(frozen=True)
class Problem:
    """A diagnostic as shown in the docs: where, what and how to fix it."""

    code: str
    message: str
    location: str
    hint: str

    @classmethod
    def of(cls, diagnostic: Diagnostic, root: Path) -> Problem:
        """The diagnostic, its file shown relative to the project folder ``root``."""
        where = ""
        if diagnostic.location is not None:
            file = diagnostic.location.file
            with suppress(ValueError):
                file = file.resolve().relative_to(root.resolve())
            where = f"{file.as_posix()}:{diagnostic.location.line}:{diagnostic.location.column}"
        return cls(diagnostic.code, diagnostic.message, where, diagnostic.hint or "")


@dataclass(frozen=True)
class SchemaField:
    """A declared source field; a nested object (or a list of objects) has children."""

    name: str
    type: str
    children: tuple[SchemaField, ...] = ()

    @classmethod
    def of(cls, name: str, data_type: DataType) -> SchemaField:
        if data_type.kind is Kind.STRUCT:
            return cls(name, "object", _struct_fields(data_type))
        if data_type.kind is Kind.LIST and data_type.item and data_type.item.kind is Kind.STRUCT:
            return cls(name, "list of objects", _struct_fields(data_type.item))
        return cls(name, str(data_type))


def _struct_fields(data_type: DataType) -> tuple[SchemaField, ...]:
    return tuple(SchemaField.of(name, inner) for name, inner in data_type.fields)


@dataclass(frozen=True)
class StreamView:
    name: str
    description: str
    primary_key: str | None
    cursor: str | None
    options: tuple[Setting, ...]
    fields: tuple[SchemaField, ...]


@dataclass(frozen=True)
class FieldMappingRow:
    """One row of a field-mapping table: a core field, its expression and the core rules."""

    core_field: str
    expression: str
    core_type: str
    constraints: tuple[str, ...]
    reference: Link | None
    pii: bool
    overridden: bool = False
    note: str = ""

    @classmethod
    def of(
        cls,
        core_field: str,
        expression: str,
        spec: CoreField,
        *,
        reference: Link | None,
        overridden: bool,
    ) -> FieldMappingRow:
        return cls(
            core_field, expression, spec.type, constraints(spec), reference, spec.pii, overridden
        )


@dataclass(frozen=True)
class MappingView:
    name: str
    stream: str
    entity: Link
    modes: tuple[Setting, ...]
    rows: tuple[FieldMappingRow, ...]
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteBackView:
    """One write-back target: what it reads from the core, how it sends, and its fields."""

    name: str
    entity: Link
    settings: tuple[Setting, ...]  # read, cursor field, method, path, batch
    fields: tuple[Setting, ...]  # external field -> expression


@dataclass(frozen=True)
class TemplatePage:
    name: str
    version: str
    href: str
    description: str
    owner: OwnerView
    limitations: tuple[str, ...]
    connector: str
    source_options: tuple[Setting, ...]
    streams: tuple[StreamView, ...]
    mappings: tuple[MappingView, ...]
    sync: tuple[Setting, ...]
    overridable: tuple[str, ...]
    used_by: tuple[Link, ...]
    writeback_connector: str | None = None
    writeback_options: tuple[Setting, ...] = ()
    writeback: tuple[WriteBackView, ...] = ()


@dataclass(frozen=True)
class EscalationView:
    after: str
    team: str
    contact: str


@dataclass(frozen=True)
class ExceptionView:
    rule: str
    justification: str
    approved_by: str
    expires: str
    scope: str


@dataclass(frozen=True)
class IntegrationPage:
    """An integration; ``template`` is None and ``problems`` say why when it does not resolve."""

    name: str
    href: str
    tenant: str
    description: str
    template_reference: str
    template: Link | None
    owner: OwnerView
    escalation: tuple[EscalationView, ...]
    overrides: tuple[Setting, ...]
    connection: tuple[Setting, ...]
    secrets: tuple[Setting, ...]
    exceptions: tuple[ExceptionView, ...]
    mappings: tuple[MappingView, ...]
    sync: tuple[Setting, ...]
    problems: tuple[Problem, ...]

    @property
    def resolves(self) -> bool:
        return self.template is not None


@dataclass(frozen=True)
class EntityField:
    name: str
    type: str
    constraints: tuple[str, ...]
    reference: Link | None
    pii: bool
    description: str

    @classmethod
    def of(cls, name: str, spec: CoreField, *, reference: Link | None) -> EntityField:
        return cls(name, spec.type, constraints(spec), reference, spec.pii, spec.description)


@dataclass(frozen=True)
class Writer:
    """An integration writing an entity, through one of its mappings."""

    integration: Link
    tenant: str
    mapping: str
    write: str


@dataclass(frozen=True)
class EntityPage:
    name: str
    href: str
    description: str
    tenant_key: str
    primary_key: tuple[str, ...]
    fields: tuple[EntityField, ...]
    written_by: tuple[Writer, ...]
    referenced_by: tuple[Link, ...]


@dataclass(frozen=True)
class TemplateSummary:
    """One template on the index: every version, and the newest version's owner and text."""

    name: str
    versions: tuple[Link, ...]
    owner: OwnerView
    description: str


@dataclass(frozen=True)
class FunctionView:
    """A mapping function as the registry declares it."""

    name: str
    signature: str
    doc: str
    can_fail: bool  # a row it cannot handle is quarantined
    custom: bool  # the project's own, behind a guardrail


@dataclass(frozen=True)
class IndexPage:
    project: str
    description: str
    templates: tuple[TemplateSummary, ...]
    integrations: tuple[IntegrationPage, ...]
    entities: tuple[EntityPage, ...]
    problems: tuple[Problem, ...]
    functions: tuple[FunctionView, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Every page of the catalog, before rendering."""

    index: IndexPage
    templates: tuple[TemplatePage, ...]
    integrations: tuple[IntegrationPage, ...]
    entities: tuple[EntityPage, ...]


def text(value: Any) -> str:
    """A configuration value as a reader would write it in YAML: strings as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # min: 0 reads better than 0.0 (pydantic made it a float)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def constraints(spec: CoreField) -> tuple[str, ...]:
    """A core field's rules, one short phrase each (references are linked separately)."""
    rules: list[str] = []
    if spec.required:
        rules.append("required")
    if spec.enum is not None:
        rules.append("one of: " + ", ".join(text(v) for v in spec.enum))
    if spec.pattern is not None:
        rules.append(f"pattern: {spec.pattern}")
    if spec.min is not None:
        rules.append(f"min: {text(spec.min)}")
    if spec.max is not None:
        rules.append(f"max: {text(spec.max)}")
    if spec.max_length is not None:
        rules.append(f"max length: {spec.max_length}")
    if spec.references is not None and spec.on_missing == "allow":
        rules.append("missing reference allowed")
    return tuple(rules)


def flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as dotted paths to their leaf values, in the order written."""
    leaves: list[tuple[str, Any]] = []
    for key, inner in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, dict) and inner:
            leaves.extend(flatten(inner, path))
        else:
            leaves.append((path, inner))
    return leaves


def settings(options: dict[str, Any]) -> tuple[Setting, ...]:
    """Connector options or connection keys, one row per leaf (``auth.token``)."""
    return tuple(Setting(path, text(value)) for path, value in flatten(options))


def override_settings(overrides: dict[str, Any]) -> tuple[Setting, ...]:
    """An integration's overrides, one row per path it sets or removes."""
    return tuple(
        Setting(path, "null (removes the inherited value)" if value is None else text(value), True)
        for path, value in flatten(overrides)
    )


def sync_settings(sync: Sync, overridden: Overridden) -> tuple[Setting, ...]:
    return tuple(
        Setting(key, "not set" if value is None else text(value), overridden(("sync", key)))
        for key, value in sync.model_dump().items()
    )
