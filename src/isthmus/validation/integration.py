"""Check one integration statically and compile it into what a run executes.

Everything that can be known before reading a record is checked here: the template resolves,
the connector and its options exist, secrets are bound, every mapping expression parses and
type-checks against the stream's declared schema and the core field it fills, and every
required core field is filled.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

from isthmus.config.diagnose import model_diagnostics
from isthmus.config.documents import Locator, PathKey
from isthmus.config.models import Entity, Mapping
from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.config.secrets import secret_names
from isthmus.connectors.base import WriteMode
from isthmus.connectors.registry import SOURCES, SourceConnector, source_connector
from isthmus.diagnostics import Diagnostic, Severity, has_errors
from isthmus.mapping import CompiledExpression, compile_expression, conversion_hint
from isthmus.types import DataType, assignable
from isthmus.validation.conversions import compile_conversions
from isthmus.validation.models import CompiledIntegration, CompiledMapping, Reference
from isthmus.validation.plan import order_mappings
from isthmus.validation.tables import table_spec

BROKEN_DEPENDENCY = "broken-dependency"


def check_integration(
    project: Project, name: str
) -> tuple[CompiledIntegration | None, list[Diagnostic]]:
    """All diagnostics of one integration, and its compiled form when there are no errors."""
    resolved, problems = resolve(project, name)
    if resolved is None:
        return None, problems
    connector = _connector(resolved, problems)
    options = connection = None
    stream_options: dict[str, BaseModel] = {}
    if connector is not None:
        options, connection, stream_options = _connector_options(resolved, connector, problems)
    problems.extend(_check_secrets(resolved))
    mappings = []
    for mapping_name, mapping in resolved.template.mappings.items():
        compiled = _compile_mapping(
            project, resolved, mapping_name, mapping, problems, stream_options.get(mapping.stream)
        )
        if compiled is not None:
            mappings.append(compiled)
    if has_errors(problems) or connector is None:
        return None, problems
    ordered = order_mappings(mappings)
    tables = {e.entity: table_spec(e) for e in resolved.entities.values()}
    return CompiledIntegration(
        resolved, connector, options, connection, tuple(ordered), tables
    ), problems


def _connector(resolved: ResolvedIntegration, problems: list[Diagnostic]) -> SourceConnector | None:
    name = resolved.template.source.connector
    connector = source_connector(name)
    if connector is None:
        problems.append(
            Diagnostic(
                "unknown-connector",
                f"source connector {name!r} does not exist",
                resolved.locator.location(("source", "connector")),
                hint=f"connectors: {', '.join(sorted(SOURCES))}",
            )
        )
    return connector


def _validate(
    model: type[BaseModel],
    data: object,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(model_diagnostics(exc, locator, model, base))
        return None


def _connector_options(
    resolved: ResolvedIntegration, connector: SourceConnector, problems: list[Diagnostic]
) -> tuple[BaseModel | None, BaseModel | None, dict[str, BaseModel]]:
    template = resolved.template
    options = _validate(
        connector.options,
        template.source.options,
        resolved.locator,
        ("source", "options"),
        problems,
    )
    connection = _validate(
        connector.connection,
        resolved.integration.connection.connector_options,
        resolved.integration_document,
        ("connection",),
        problems,
    )
    streams: dict[str, BaseModel] = {}
    for name, stream in template.streams.items():
        validated = _validate(
            connector.stream,
            stream.connector_options,
            resolved.locator,
            ("streams", name),
            problems,
        )
        if validated is not None:
            streams[name] = validated
    return options, connection, streams


def _check_secrets(resolved: ResolvedIntegration) -> list[Diagnostic]:
    template = resolved.template
    used = secret_names(template.source.options)
    for stream in template.streams.values():
        used |= secret_names(stream.connector_options)
    bound = resolved.integration.connection.secrets
    problems = []
    template_file = resolved.template_file.document.path
    where = resolved.integration_document.location(("connection", "secrets"), at_key=True)
    for name in sorted(used - set(bound)):
        problems.append(
            Diagnostic(
                "unbound-secret",
                f"template {template.template} {template.version} "
                f"({template_file}) uses secret {name!r}, which integration "
                f"{resolved.name!r} does not bind",
                where,
                hint=f"add under connection.secrets: {name}: env:VARIABLE (or file:PATH)",
            )
        )
    for name in sorted(set(bound) - used):
        problems.append(
            Diagnostic(
                "unused-secret",
                f"integration {resolved.name!r} binds secret {name!r}, which its "
                "template never uses",
                resolved.integration_document.location(
                    ("connection", "secrets", name), at_key=True
                ),
                hint="remove the binding",
                severity=Severity.WARNING,
            )
        )
    return problems


def _compile_mapping(
    project: Project,
    resolved: ResolvedIntegration,
    name: str,
    mapping: Mapping,
    problems: list[Diagnostic],
    stream_options: BaseModel | None,
) -> CompiledMapping | None:
    locator = resolved.locator
    base = ("mappings", name)
    stream = resolved.template.streams.get(mapping.stream)
    if stream is None:
        problems.append(
            Diagnostic(
                "unknown-stream",
                f"mapping {name!r} reads stream {mapping.stream!r}, which the "
                "template does not declare",
                locator.location((*base, "stream")),
                hint=_close(mapping.stream, resolved.template.streams),
            )
        )
    loaded = project.entities.get(mapping.entity)
    broken = project.unloaded_file("entity", mapping.entity)
    if loaded is None and broken is not None:
        problems.append(
            Diagnostic(
                BROKEN_DEPENDENCY,
                f"mapping {name!r} writes entity {mapping.entity!r}, whose file {broken} "
                "did not load",
                locator.location((*base, "entity")),
                hint=f"fix the errors reported for {broken}",
            )
        )
    elif loaded is None:
        problems.append(
            Diagnostic(
                "unknown-entity",
                f"mapping {name!r} writes entity {mapping.entity!r}, which the "
                "core model does not declare",
                locator.location((*base, "entity")),
                hint=_close(mapping.entity, project.entities) or "declare it in a file under core/",
            )
        )
    if stream is None or loaded is None:
        return None
    entity = loaded.model
    schema = stream.schema_types
    if stream.primary_key is not None and stream.primary_key not in schema:
        problems.append(
            Diagnostic(
                "undeclared-source-field",
                f"stream {mapping.stream!r}: primary key "
                f"{stream.primary_key!r} is not in its schema",
                locator.location(("streams", mapping.stream, "primary_key")),
                hint=_close(stream.primary_key, schema),
            )
        )
    fields = _compile_fields(entity, mapping, schema, locator, base, problems)
    problems.extend(_unfilled(entity, mapping, locator, base))
    conversions = compile_conversions(
        schema, problems, locator.location(("streams", mapping.stream, "schema"))
    )
    if fields is None or conversions is None or stream_options is None:
        return None
    pii = frozenset(
        source
        for target, compiled in fields.items()
        if entity.fields[target].pii
        for source in compiled.source_fields
    )
    references = tuple(
        Reference(field, *spec.referenced)
        for field, spec in entity.fields.items()
        if spec.referenced and spec.on_missing == "reject" and field in fields
    )
    return CompiledMapping(
        name=name,
        mapping=mapping,
        stream_name=mapping.stream,
        stream=stream,
        stream_options=stream_options,
        entity=entity,
        table=table_spec(entity),
        write_mode=WriteMode(mapping.write),
        source_fields=schema,
        conversions=conversions,
        fields=fields,
        references=references,
        pii_source_fields=pii,
    )


def _compile_fields(
    entity: Entity,
    mapping: Mapping,
    schema: dict[str, DataType],
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> dict[str, CompiledExpression] | None:
    compiled: dict[str, CompiledExpression] = {}
    ok = True
    for target, expression in mapping.fields.items():
        path = (*base, "fields", target)
        target_type = entity.field_type(target)
        if target == entity.tenant_key:
            problems.append(
                Diagnostic(
                    "tenant-key-mapped",
                    f"{entity.entity}.{target} is the tenant key; isthmus sets "
                    "it from the integration's tenant",
                    locator.location(path, at_key=True),
                    hint=f"remove the mapping of {target}",
                )
            )
            ok = False
            continue
        if target_type is None:
            problems.append(
                Diagnostic(
                    "unknown-core-field",
                    f"mapping writes {entity.entity}.{target}, which the core "
                    "model does not declare",
                    locator.location(path, at_key=True),
                    hint=_close(target, entity.fields)
                    or f"declare {target} in core/{entity.entity}",
                )
            )
            ok = False
            continue
        result, found = compile_expression(expression, schema, locator.expression_location(path))
        problems.extend(found)
        if result is None:
            ok = False
            continue
        if not assignable(result.type, target_type):
            fix = conversion_hint(result.text, result.type, target_type)
            problems.append(
                Diagnostic(
                    "type-mismatch",
                    f"{entity.entity}.{target} is {target_type}, but "
                    f"{result.text!r} is {result.type}",
                    locator.expression_location(path),
                    hint=f"convert it: {fix}" if fix else "map a value of the field's type",
                )
            )
            ok = False
            continue
        compiled[target] = result
    return compiled if ok else None


def _unfilled(
    entity: Entity, mapping: Mapping, locator: Locator, base: PathKey
) -> list[Diagnostic]:
    wanted = [
        name
        for name, spec in entity.fields.items()
        if (spec.required or name in entity.primary_key) and name != entity.tenant_key
    ]
    return [
        Diagnostic(
            "required-field-unmapped",
            f"{entity.entity}.{name} is required but mapping {base[-1]!r} does not fill it",
            locator.location((*base, "fields"), at_key=True),
            hint=f"add a mapping for {name} under fields",
        )
        for name in wanted
        if name not in mapping.fields
    ]


def _close(name: str, known: object) -> str | None:
    names = [str(k) for k in known] if isinstance(known, dict) else []
    match = difflib.get_close_matches(name, names, n=1)
    return f"did you mean {match[0]!r}?" if match else None
