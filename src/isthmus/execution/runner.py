"""Run one integration, all-or-nothing: validate, lease, plan, stream, commit, record.

A run validates its resolved configuration first and refuses an invalid one. All streams
write inside one destination transaction; a stream that fails, or that rejects more than the
template allows, rolls the whole run back, so the core database holds exactly what it held
before. The run, its counts and its quarantine are recorded whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isthmus.config.project import Project
from isthmus.config.secrets import Secret, read_secret, template_secret_names
from isthmus.connectors.base import Destination, Source, SourceContext, StreamRequest, Transaction
from isthmus.connectors.sql import SqlDestination
from isthmus.diagnostics import has_errors
from isthmus.errors import ErrorClass, IsthmusError, NotFoundError, ValidationFailedError
from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.errors import ThresholdExceededError
from isthmus.execution.models import RunObserver, RunReport, SilentObserver, StreamCounts
from isthmus.execution.pipeline import StreamContext, run_stream
from isthmus.store import RunStatus, StateStore, StreamRecord, StreamStatus
from isthmus.validation import check_for_run
from isthmus.validation.models import CompiledIntegration, CompiledMapping

LEASE_TTL = dt.timedelta(minutes=10)


@dataclass
class RunSettings:
    """How to run: who asked, and the seams tests and embedders may replace."""

    trigger: str = "manual"
    clock: Clock = field(default_factory=SystemClock)
    observer: RunObserver = field(default_factory=SilentObserver)
    environ: Mapping[str, str] | None = None
    destination: Destination | None = None
    source: Source | None = None
    batch_size: int | None = None


def run_integration(project: Project, name: str, settings: RunSettings | None = None) -> RunReport:
    """Run integration ``name`` of ``project`` once and return what happened.

    Raises NotFoundError or ValidationFailedError before anything starts; every later failure is
    recorded and reported in the returned RunReport (status failed, core database unchanged).
    """
    settings = settings or RunSettings()
    compiled = _validated(project, name)
    secrets = _secrets(project, compiled, settings.environ)
    urls = database_urls(project)
    store = StateStore.open(urls.state)
    destination = settings.destination or SqlDestination(urls.core)
    try:
        run = _Run(project, compiled, settings, store, destination, secrets)
        return run.execute(urls)
    finally:
        if settings.destination is None:
            destination.close()
        store.close()


@dataclass(frozen=True)
class DatabaseUrls:
    core: str
    state: str


def database_urls(project: Project) -> DatabaseUrls:
    """The project's database URLs, with relative SQLite paths made absolute."""
    assert project.settings is not None
    settings = project.settings.model
    return DatabaseUrls(
        _absolute(settings.core.database, project), _absolute(settings.state.database, project)
    )


def _absolute(url: str, project: Project) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.removeprefix(prefix).startswith("/"):
        return prefix + str((project.root / url.removeprefix(prefix)).resolve())
    return url


def _validated(project: Project, name: str) -> CompiledIntegration:
    if name not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        load_errors = [d for d in project.diagnostics if d.is_error]
        if load_errors:
            raise ValidationFailedError(
                f"integration {name!r} is not among the integrations that loaded, and the "
                "project has files that did not load",
                load_errors,
                hint="fix the errors below, then run again (`isthmus validate` lists them)",
            )
        raise NotFoundError(
            f"no integration named {name!r} in {project.root}",
            hint=f"integrations in this project: {known}",
        )
    compiled, problems = check_for_run(project, name)
    if compiled is None or has_errors(problems):
        raise ValidationFailedError(
            f"integration {name!r} does not validate; nothing was run",
            [p for p in problems if p.is_error],
            hint="fix the errors below and run again",
        )
    return compiled


def _secrets(
    project: Project, compiled: CompiledIntegration, environ: Mapping[str, str] | None
) -> dict[str, Secret]:
    used = template_secret_names(compiled.resolved.template)
    bindings = compiled.resolved.integration.connection.secrets
    return {
        name: read_secret(name, bindings[name], base=project.root, environ=environ)
        for name in sorted(used)
    }


class _Run:
    def __init__(
        self,
        project: Project,
        compiled: CompiledIntegration,
        settings: RunSettings,
        store: StateStore,
        destination: Destination,
        secrets: dict[str, Secret],
    ):
        self.project = project
        self.compiled = compiled
        self.settings = settings
        self.store = store
        self.destination = destination
        self.secrets = secrets
        self.clock = settings.clock
        self.records: dict[str, StreamRecord] = {}
        self.started = self.clock.monotonic()
        self.last_renewal = self.started

    def execute(self, urls: DatabaseUrls) -> RunReport:
        resolved = self.compiled.resolved
        self.run_id = self.store.create_run(
            integration=resolved.name,
            tenant=resolved.tenant,
            template=resolved.template.template,
            template_version=str(resolved.version),
            config_hash=resolved.config_hash,
            trigger=self.settings.trigger,
            owner=_owner(),
            started_at=self.clock.now(),
        )
        try:
            self.store.acquire_lease(
                resolved.name,
                run_id=self.run_id,
                owner=_owner(),
                now=self.clock.now(),
                ttl=LEASE_TTL,
            )
        except IsthmusError as exc:
            return self._finish(urls, RunStatus.FAILED, committed=False, error=exc)
        try:
            return self._stream_all(urls)
        finally:
            self.store.release_lease(resolved.name, run_id=self.run_id)

    def _stream_all(self, urls: DatabaseUrls) -> RunReport:
        transaction: Transaction | None = None
        try:
            assert self.project.settings is not None
            self.destination.prepare(
                list(self.compiled.tables.values()),
                create=self.project.settings.model.core.manage_schema,
            )
            transaction = self.destination.begin()
            checkpoints = self._run_mappings(transaction)
            # Last word before committing: a run that lost its lease must not commit.
            self._renew_lease(force=True)
            transaction.commit()
        except BaseException as exc:
            if transaction is not None:
                transaction.rollback()
            if not isinstance(exc, Exception):
                self._finish(
                    urls,
                    RunStatus.CANCELLED,
                    committed=False,
                    error=IsthmusError("the run was interrupted"),
                )
                raise
            return self._finish(urls, RunStatus.FAILED, committed=False, error=exc)
        # The destination has committed; the checkpoint follows right after (DESIGN.md,
        # "Unit of commit"): a crash in between re-reads data the upsert makes harmless.
        self.store.save_checkpoints(
            self.compiled.name, checkpoints, run_id=self.run_id, at=self.clock.now()
        )
        return self._finish(urls, RunStatus.SUCCEEDED, committed=True)

    def _run_mappings(self, transaction: Transaction) -> dict[str, dict[str, Any]]:
        checkpoints: dict[str, dict[str, Any]] = {}
        for position, mapping in enumerate(self.compiled.mappings):
            self.records[mapping.name] = _record(position, mapping, StreamStatus.PENDING)
        for position, mapping in enumerate(self.compiled.mappings):
            started = self.clock.monotonic()
            try:
                result = run_stream(
                    mapping, self._source(), self._request(mapping), transaction, self._context()
                )
            except Exception as exc:
                self.records[mapping.name] = _record(
                    position, mapping, StreamStatus.FAILED, error=_message(exc)
                )
                raise
            counts = result.counts
            record = _record(
                position,
                mapping,
                StreamStatus.SUCCEEDED,
                counts,
                duration=self.clock.monotonic() - started,
            )
            self.records[mapping.name] = record
            self.settings.observer.stream_finished(mapping.name, record)
            self._check_threshold(mapping, counts, position)
            if result.checkpoint is not None:
                checkpoints[mapping.name] = result.checkpoint
        return checkpoints

    def _check_threshold(
        self, mapping: CompiledMapping, counts: StreamCounts, position: int
    ) -> None:
        limit = self.compiled.resolved.template.sync.max_rejected_fraction
        if counts.records_read == 0 or counts.rejected / counts.records_read <= limit:
            return
        top = sorted(counts.reasons.items(), key=lambda item: -item[1])[:5]
        grouped = "; ".join(f"{rule}{'/' + f if f else ''}: {n}" for (rule, f), n in top)
        message = (
            f"stream {mapping.stream_name} (mapping {mapping.name}) rejected "
            f"{counts.rejected} of {counts.records_read} records "
            f"({counts.rejected / counts.records_read:.1%}), more than the "
            f"{limit:.1%} the template allows; reasons: {grouped}"
        )
        error = ThresholdExceededError(
            message,
            hint=(
                f"run `isthmus runs show {self.run_id}` for examples; fix the source data or the "
                "mapping, then run again"
            ),
        )
        self.records[mapping.name] = _record(
            position, mapping, StreamStatus.FAILED, counts, error=message
        )
        raise error

    def _source(self) -> Source:
        if self.settings.source is not None:
            return self.settings.source
        context = SourceContext(
            options=self.compiled.source_options,  # type: ignore[arg-type]
            connection=self.compiled.connection_options,  # type: ignore[arg-type]
            project_root=self.project.root,
            secrets=self.secrets,
        )
        return self.compiled.connector.factory(context)

    def _request(self, mapping: CompiledMapping) -> StreamRequest:
        checkpoint = None
        if mapping.mapping.read == "incremental":
            checkpoint = self.store.checkpoint(self.compiled.name, mapping.name)
        batch_size = self.settings.batch_size or self.compiled.resolved.template.sync.batch_size
        return StreamRequest(
            name=mapping.stream_name,
            fields=mapping.source_fields,
            options=mapping.stream_options,  # type: ignore[arg-type]
            primary_key=mapping.stream.primary_key,
            checkpoint=checkpoint,
            batch_size=batch_size,
        )

    def _context(self) -> StreamContext:
        return StreamContext(
            integration=self.compiled.name,
            tenant=self.compiled.tenant,
            run_id=self.run_id,
            tables=self.compiled.tables,
            store=self.store,
            clock=self.clock,
            observer=self.settings.observer,
            on_batch=self._renew_lease,
        )

    def _renew_lease(self, *, force: bool = False) -> None:
        now = self.clock.monotonic()
        if force or now - self.last_renewal > LEASE_TTL.total_seconds() / 3:
            self.store.renew_lease(
                self.compiled.name, run_id=self.run_id, now=self.clock.now(), ttl=LEASE_TTL
            )
            self.last_renewal = now

    def _finish(
        self,
        urls: DatabaseUrls,
        status: RunStatus,
        *,
        committed: bool,
        error: BaseException | None = None,
    ) -> RunReport:
        streams = tuple(self.records.values())
        error_class = _error_class(error) if error is not None else None
        hint = error.hint if isinstance(error, IsthmusError) else None
        message = _message(error) if error is not None else None
        duration = self.clock.monotonic() - self.started
        self.store.finish_run(
            self.run_id,
            status=status,
            committed=committed,
            finished_at=self.clock.now(),
            duration_s=duration,
            streams=streams,
            error=message,
            error_class=error_class,
            hint=hint,
        )
        resolved = self.compiled.resolved
        return RunReport(
            run_id=self.run_id,
            integration=resolved.name,
            tenant=resolved.tenant,
            status=status,
            committed=committed,
            streams=streams,
            reasons=tuple(self.store.quarantine_groups(self.run_id)),
            duration_s=duration,
            config_hash=resolved.config_hash,
            core_database=urls.core,
            state_database=urls.state,
            error=message,
            error_class=error_class,
            hint=hint,
        )


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _record(
    position: int,
    mapping: CompiledMapping,
    status: StreamStatus,
    counts: StreamCounts | None = None,
    *,
    duration: float | None = None,
    error: str | None = None,
) -> StreamRecord:
    counts = counts or StreamCounts()
    return StreamRecord(
        position=position,
        mapping=mapping.name,
        stream=mapping.stream_name,
        entity=mapping.entity.entity,
        status=status,
        records_read=counts.records_read,
        loaded=counts.loaded,
        inserted=counts.inserted,
        updated=counts.updated,
        rejected=counts.rejected,
        skipped=counts.skipped,
        duration_s=duration,
        error=error,
    )


def _error_class(error: BaseException) -> str:
    if isinstance(error, IsthmusError):
        return str(error.error_class)
    return str(ErrorClass.INTERNAL)


def _message(error: BaseException) -> str:
    if isinstance(error, IsthmusError):
        return error.message
    return f"internal error: {type(error).__name__}: {error}"
