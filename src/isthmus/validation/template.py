"""Check a template on its own and compile its mappings.

Used for every template version of a project (so a template no integration uses yet is still
checked) and, with an integration's overrides merged in, for each integration.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

from isthmus.config.diagnose import model_diagnostics
from isthmus.config.documents import Locator, PathKey
from isthmus.config.models import Entity, Mapping, Stream, Template
from isthmus.config.project import Loaded, Project
from isthmus.connectors.base import WriteMode
from isthmus.connectors.registry import SOURCES, SourceConnector, source_connector
from isthmus.diagnostics import BROKEN_DEPENDENCY, Diagnostic
from isthmus.mapping import CompiledExpression, compile_expression
from isthmus.validation.assignment import assigned
from isthmus.validation.conversions import compile_conversions
from isthmus.validation.field_checks import check_mapped_field
from isthmus.validation.models import CompiledMapping, Reference
from isthmus.validation.modes import check_modes
from isthmus.validation.schedules import check_schedule
from isthmus.validation.tables import table_spec
from isthmus.validation.template_wide import template_wide_checks
from isthmus.validation.writeback import compile_writebacks, writeback_connector, writeback_options


def check_template(project: Project, loaded: Loaded[Template]) -> list[Diagnostic]:
    """Every problem a template version has before any integration overrides it."""
    problems: list[Diagnostic] = []
    template, locator = loaded.model, loaded.document
    connector = template_connector(template, locator, problems)
    streams: dict[str, BaseModel] = {}
    if connector is not None:
        validated(
            connector.options, template.source.options, locator, ("source", "options"), problems
        )
        streams = stream_options(template, locator, connector, problems)
    compile_mappings(project, template, locator, streams, problems)
    writeback = writeback_connector(template, locator, problems)
    if writeback is not None:
        writeback_options(writeback, template, locator, problems)
    compile_writebacks(project, template, locator, problems)
    problems += run_settings_checks(project, template, locator)
    return problems


def run_settings_checks(project: Project, template: Template, locator: Locator) -> list[Diagnostic]:
    """How the template writes and when it runs: modes, deletes, cursor field, schedule."""
    return [
        *check_modes(project, template, locator),
        *check_schedule(template.sync, locator, ("sync",)),
    ]


def template_connector(
    template: Template, locator: Locator, problems: list[Diagnostic]
) -> SourceConnector | None:
    """The template's source connector, with its options checked against the registry."""
    name = template.source.connector
    connector = source_connector(name)
    if connector is None:
        problems.append(
            Diagnostic(
                "unknown-connector",
                f"source connector {name!r} does not exist",
                locator.location(("source", "connector")),
                hint=f"connectors: {', '.join(sorted(SOURCES))}",
            )
        )
    return connector


def validated(
    model: type[BaseModel],
    data: object,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> BaseModel | None:
    """``data`` as ``model``, or None with diagnostics located under ``base``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(model_diagnostics(exc, locator, model, base))
        return None


def stream_options(
    template: Template, locator: Locator, connector: SourceConnector, problems: list[Diagnostic]
) -> dict[str, BaseModel]:
    """Each stream's connector options, validated; a stream whose options fail is left out."""
    validated(connector.options, template.source.options, locator, ("source", "options"), problems)
    streams: dict[str, BaseModel] = {}
    for name, stream in template.streams.items():
        options = validated(
            connector.stream, stream.connector_options, locator, ("streams", name), problems
        )
        if options is not None:
            streams[name] = options
    return streams


def compile_mappings(
    project: Project,
    template: Template,
    locator: Locator,
    streams: dict[str, BaseModel],
    problems: list[Diagnostic],
) -> list[CompiledMapping]:
    compiled = []
    for name, mapping in template.mappings.items():
        result = _compile_mapping(
            project, template, locator, name, mapping, problems, streams.get(mapping.stream)
        )
        if result is not None:
            compiled.append(result)
    problems.extend(template_wide_checks(project, template, locator))
    return compiled


def _compile_mapping(
    project: Project,
    template: Template,
    locator: Locator,
    name: str,
    mapping: Mapping,
    problems: list[Diagnostic],
    stream_options: BaseModel | None,
) -> CompiledMapping | None:
    base = ("mappings", name)
    stream = template.streams.get(mapping.stream)
    if stream is None:
        problems.append(
            Diagnostic(
                "unknown-stream",
                f"mapping {name!r} reads stream {mapping.stream!r}, which the "
                "template does not declare",
                locator.location((*base, "stream")),
                hint=_close(mapping.stream, template.streams),
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
    fields = _compile_fields(entity, mapping, stream, locator, base, problems)
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
    stream: Stream,
    locator: Locator,
    base: PathKey,
    problems: list[Diagnostic],
) -> dict[str, CompiledExpression] | None:
    schema = stream.schema_types
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
        where = locator.expression_location(path)
        prefix = f"__field{len(compiled)}_{target}_"
        result, found = compile_expression(expression, schema, where, prefix=prefix)
        problems.extend(found)
        if result is not None:
            field = f"{entity.entity}.{target}"
            result, problem = assigned(result, target_type, field, schema, where, prefix)
            problems.extend([problem] if problem is not None else [])
        if result is None:
            ok = False
            continue
        problems.extend(
            check_mapped_field(entity, target, result, schema, where, stream.primary_key)
        )
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
