"""Show and reset an integration's checkpoints.

The destination keeps the checkpoint that counts (written with the data); the state store
keeps a copy for people. A reset removes both, under the integration's lease so it cannot
race a run, and is recorded in the run history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from isthmus.config.project import Project
from isthmus.connectors.sql import SqlDestination
from isthmus.errors import NotFoundError
from isthmus.execution.guard import DEFAULT_LEASE_TTL, owner_name
from isthmus.execution.runner import RunSettings, database_urls, validated
from isthmus.store import RunStatus, StateStore


@dataclass(frozen=True)
class CheckpointView:
    stream: str
    read: str
    token: dict[str, Any] | None  # as the destination has it: what the next run starts from
    copy: dict[str, Any] | None  # as the state store has it
    run_id: int | None
    saved_at: dt.datetime | None

    @property
    def in_sync(self) -> bool:
        return self.token == self.copy


def show_checkpoints(
    project: Project, name: str, settings: RunSettings | None = None
) -> list[CheckpointView]:
    settings = settings or RunSettings()
    compiled = validated(project, name)
    urls = database_urls(project)
    store = StateStore.open(urls.state)
    destination = settings.destination or SqlDestination(urls.core)
    try:
        copies = store.checkpoints_of(name)
        views = []
        for mapping in compiled.mappings:
            copy = copies.get(mapping.name)
            views.append(
                CheckpointView(
                    stream=mapping.name,
                    read=mapping.mapping.read,
                    token=destination.checkpoint(name, mapping.name),
                    copy=copy[0] if copy else None,
                    run_id=copy[1] if copy else None,
                    saved_at=copy[2] if copy else None,
                )
            )
        return views
    finally:
        if settings.destination is None:
            destination.close()
        store.close()


def reset_checkpoints(
    project: Project, name: str, stream: str | None = None, settings: RunSettings | None = None
) -> int:
    """Forget the checkpoints of one stream (or all); the id of the run record noting it."""
    settings = settings or RunSettings()
    compiled = validated(project, name)
    names = [m.name for m in compiled.mappings]
    if stream is not None and stream not in names:
        raise NotFoundError(
            f"integration {name!r} has no stream {stream!r}",
            hint=f"its streams: {', '.join(names)}",
        )
    urls = database_urls(project)
    store = StateStore.open(urls.state)
    destination = settings.destination or SqlDestination(urls.core)
    resolved, clock = compiled.resolved, settings.clock
    try:
        run_id = store.create_run(
            integration=name,
            tenant=resolved.tenant,
            template=resolved.template.template,
            template_version=str(resolved.version),
            config_hash=resolved.config_hash,
            trigger="reset",
            owner=owner_name(),
            started_at=clock.now(),
        )
        store.acquire_lease(
            name, run_id=run_id, owner=owner_name(), now=clock.now(), ttl=DEFAULT_LEASE_TTL
        )
        try:
            removed = destination.reset_checkpoints(name, stream)
            store.delete_checkpoints(name, stream)
        finally:
            store.release_lease(name, run_id=run_id)
        which = f"stream {stream}" if stream else f"all streams ({', '.join(names)})"
        store.finish_run(
            run_id,
            status=RunStatus.SUCCEEDED,
            committed=True,
            finished_at=clock.now(),
            duration_s=0.0,
            streams=(),
            note=f"checkpoint reset for {which}: {removed} removed; the next "
            "run reads from the start",
        )
        return run_id
    finally:
        if settings.destination is None:
            destination.close()
        store.close()
