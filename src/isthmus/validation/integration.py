"""Check one integration statically and compile it into what a run executes.

Everything that can be known before reading a record is checked here: the template resolves,
the connector and its options exist, secrets are bound, every mapping expression parses and
type-checks against the stream's declared schema and the core field it fills, and every
required core field is filled.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.config.secrets import used_secret_names
from isthmus.connectors.registry import WriteBackConnector
from isthmus.diagnostics import Diagnostic, Severity, has_errors
from isthmus.validation.guardrails import check_guardrails
from isthmus.validation.models import CompiledIntegration
from isthmus.validation.plan import order_mappings
from isthmus.validation.tables import table_spec
from isthmus.validation.template import (
    compile_mappings,
    run_settings_checks,
    stream_options,
    template_connector,
    validated,
)
from isthmus.validation.writeback import (
    CompiledWriteBack,
    compile_writebacks,
    writeback_connector,
    writeback_options,
)

WRITEBACK_CONNECTION = "writeback"  # the integration's connection section for write-back


def check_integration(
    project: Project, name: str, *, today: dt.date | None = None
) -> tuple[CompiledIntegration | None, list[Diagnostic]]:
    """All diagnostics of one integration, and its compiled form when there are no errors.

    ``today`` decides which exceptions have expired (default: the local date).
    """
    resolved, problems = resolve(project, name)
    if resolved is None:
        return None, problems
    template, locator = resolved.template, resolved.locator
    connector = template_connector(template, locator, problems)
    options = connection = None
    streams: dict[str, BaseModel] = {}
    if connector is not None:
        options = validated(
            connector.options, template.source.options, locator, ("source", "options"), problems
        )
        streams = stream_options(template, locator, connector, problems)
        connection = validated(
            connector.connection,
            _source_connection(resolved),
            resolved.integration_document,
            ("connection",),
            problems,
        )
    problems.extend(_check_secrets(resolved))
    mappings = compile_mappings(project, template, locator, streams, problems)
    writeback = _writeback(project, resolved, problems)
    problems += run_settings_checks(project, template, locator)
    problems += check_guardrails(project, resolved, today or dt.date.today())
    if has_errors(problems) or connector is None:
        return None, problems
    ordered = order_mappings(mappings)
    tables = {e.entity: table_spec(e) for e in resolved.entities.values()}
    return CompiledIntegration(
        resolved, connector, options, connection, tuple(ordered), tables, *writeback
    ), problems


def _source_connection(resolved: ResolvedIntegration) -> dict[str, object]:
    """The connection's keys for the source: all but the write-back's own section."""
    options = dict(resolved.integration.connection.connector_options)
    options.pop(WRITEBACK_CONNECTION, None)
    return options


def _writeback(
    project: Project, resolved: ResolvedIntegration, problems: list[Diagnostic]
) -> tuple[tuple[CompiledWriteBack, ...], WriteBackConnector | None, object, object]:
    """The template's write-back targets compiled, its connector, options and connection.

    The connection is the integration's ``connection.writeback`` section, or, when the
    write-back uses the source's connector, the source's own connection; except for files:
    a file write-back into the folder the source reads would be read back by the next run,
    so it must name its own folder.
    """
    template, locator = resolved.template, resolved.locator
    connector = writeback_connector(template, locator, problems)
    targets = tuple(compile_writebacks(project, template, locator, problems))
    if connector is None:
        return targets, None, None, None
    options = writeback_options(connector, template, locator, problems)
    own = resolved.integration.connection.connector_options.get(WRITEBACK_CONNECTION)
    same = template.source.connector == connector.name and connector.name != "file"
    where: tuple[str, ...] = (
        ("connection", WRITEBACK_CONNECTION) if own is not None else ("connection",)
    )
    data = own if own is not None else (_source_connection(resolved) if same else None)
    if data is None:
        problems.append(
            Diagnostic(
                "missing-connection",
                f"integration {resolved.name!r}: its template writes back through connector "
                f"{connector.name!r}, but the integration says nowhere how to reach it",
                resolved.integration_document.location(("connection",), at_key=True),
                hint=f"add connection.{WRITEBACK_CONNECTION} with the {connector.name} "
                "connector's connection settings",
            )
        )
        return targets, connector, options, None
    connection = validated(
        connector.connection, data, resolved.integration_document, where, problems
    )
    return targets, connector, options, connection


def _check_secrets(resolved: ResolvedIntegration) -> list[Diagnostic]:
    template = resolved.template
    used = used_secret_names(template, resolved.integration.connection)
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
