"""What a run of an integration will do, before it does it: `isthmus plan`."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.config.project import Project
from isthmus.execution.preparation import validated


@dataclass(frozen=True)
class PlannedStream:
    mapping: str
    stream: str
    entity: str
    read: str
    write: str
    deletes: str
    cursor_field: str | None
    depends_on: tuple[str, ...]
    level: int  # streams of one level may run together (commit: stream)


@dataclass(frozen=True)
class Plan:
    integration: str
    tenant: str
    template: str
    version: str
    config_hash: str
    commit: str
    max_concurrent_streams: int
    batch_size: int
    retry_attempts: int
    timeout: str | None
    streams: tuple[PlannedStream, ...]


def plan_integration(project: Project, name: str) -> Plan:
    """The validated integration's streams in run order, with what each depends on."""
    compiled = validated(project, name)
    sync = compiled.resolved.template.sync
    levels: dict[str, int] = {}
    streams = []
    for mapping in compiled.mappings:  # already in reference order
        level = 1 + max((levels[d] for d in mapping.depends_on), default=-1)
        levels[mapping.name] = level
        streams.append(
            PlannedStream(
                mapping=mapping.name,
                stream=mapping.stream_name,
                entity=mapping.entity.entity,
                read=mapping.mapping.read,
                write=mapping.mapping.write,
                deletes=mapping.mapping.deletes,
                cursor_field=mapping.mapping.cursor_field,
                depends_on=tuple(sorted(mapping.depends_on)),
                level=level,
            )
        )
    resolved = compiled.resolved
    return Plan(
        integration=name,
        tenant=resolved.tenant,
        template=resolved.template.template,
        version=str(resolved.version),
        config_hash=resolved.config_hash,
        commit=sync.commit,
        max_concurrent_streams=sync.max_concurrent_streams,
        batch_size=sync.batch_size,
        retry_attempts=sync.retry.attempts,
        timeout=sync.timeout,
        streams=tuple(streams),
    )
