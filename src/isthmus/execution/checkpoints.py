"""Where a run's streams start, and showing and resetting an integration's checkpoints.

The destination keeps the checkpoint that counts (written with the data); the state store
keeps a copy for people. A reset removes both, under the integration's lease so it cannot
race a run, and is recorded in the run history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from isthmus.config.project import Project
from isthmus.connectors.base import Checkpoint, Destination
from isthmus.connectors.sql import SqlDestination
from isthmus.errors import NotFoundError
from isthmus.execution.clock import Clock
from isthmus.execution.guard import DEFAULT_LEASE_TTL, owner_name
from isthmus.execution.preparation import RunSettings, database_urls, validated
from isthmus.store import RunStatus, StateStore


def starting_checkpoints(
    integration: str,
    streams: list[str],
    incremental: set[str],
    destination: Destination,
    store: StateStore,
    clock: Clock,
) -> dict[str, Checkpoint | None]:
    """Where each of the ``incremental`` streams starts: the destination's checkpoint.

    A run that died after its commit left the state store's copy behind, so the copy of
    every stream is brought up to date here, and that run is recorded as having committed.
    """
    tokens = {stream: destination.checkpoint(integration, stream) for stream in streams}
    committed_by = destination.checkpoint_runs(integration)
    copies = store.checkpoints_of(integration)
    for stream, token in tokens.items():
        if (
            token is not None
            and stream in committed_by
            and (stream not in copies or copies[stream][0] != token)
        ):
            store.save_checkpoints(
                integration, {stream: token}, run_id=committed_by[stream], at=clock.now()
            )
    by_run: dict[int, list[str]] = {}
    for stream, run_id in committed_by.items():
        by_run.setdefault(run_id, []).append(stream)
    for run_id, done in by_run.items():
        store.note_committed(run_id, streams=done)
    return {stream: token for stream, token in tokens.items() if stream in incremental}


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
