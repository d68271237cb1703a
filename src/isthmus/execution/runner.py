"""Run one integration: validate, lease, plan, stream in units of commit, record.

A run validates its resolved configuration first and refuses an invalid one. Streams write
inside units of commit (the whole run, or each stream); a unit that fails transiently is
tried again, one that fails for good rolls back, so the destination holds exactly what it
held before it. The run, its counts, its attempts and its quarantine are recorded whatever
the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from isthmus.config.project import Project
from isthmus.config.secrets import Secret
from isthmus.config.sync import Sync
from isthmus.connectors.base import (
    Checkpoint,
    Destination,
    Noted,
    Source,
    SourceContext,
    StreamRequest,
    Transaction,
)
from isthmus.connectors.sql import SqlDestination
from isthmus.errors import IsthmusError, LeaseHeldError
from isthmus.execution.attempts import Attempts
from isthmus.execution.checkpoints import starting_checkpoints
from isthmus.execution.errors import RunCancelledError, RunTimedOutError
from isthmus.execution.failpoints import failpoint
from isthmus.execution.guard import RunGuard, owner_name
from isthmus.execution.models import RunReport
from isthmus.execution.pipeline import StreamContext, StreamPlan, StreamResult, run_stream
from isthmus.execution.preparation import (
    DatabaseUrls,
    RunSettings,
    database_urls,
    run_secrets,
    validated,
)
from isthmus.execution.profile import Profile
from isthmus.execution.records import StreamBook, error_class, error_message
from isthmus.execution.scopes import Scopes
from isthmus.execution.writeback import Sent, WriteBackContext, open_sink, send_target
from isthmus.logs import get_logger
from isthmus.store import QuarantineFilter, RunStatus, StateStore, StreamStatus
from isthmus.validation.models import CompiledIntegration, CompiledMapping
from isthmus.validation.writeback import CompiledWriteBack

log = get_logger("isthmus.run")
WRITEBACK_SKIPPED = "not sent: the run's streams did not all commit"


def run_integration(project: Project, name: str, settings: RunSettings | None = None) -> RunReport:
    """Run integration ``name`` of ``project`` once and return what happened.

    Raises NotFoundError or ValidationFailedError before anything starts; every later failure
    is recorded and reported in the returned RunReport.
    """
    settings = settings or RunSettings()
    compiled = validated(project, name, today=settings.clock.now().date())
    plans = [StreamPlan(m, m.write_mode, _deletes(m, settings)) for m in compiled.mappings]
    return execute(
        project, compiled, plans, settings, note="full read requested" if settings.full else None
    )


def _deletes(mapping: CompiledMapping, settings: RunSettings) -> str:
    full_read = mapping.mapping.read == "full" or settings.full
    return mapping.mapping.deletes if full_read else "none"


def execute(
    project: Project,
    compiled: CompiledIntegration,
    plans: list[StreamPlan],
    settings: RunSettings,
    *,
    note: str | None = None,
    sources: Mapping[str, Source] | None = None,
    writeback: bool = True,
) -> RunReport:
    """Run ``plans`` of an already validated integration (also used by replays, which
    send nothing back: ``writeback=False``)."""
    secrets = run_secrets(project, compiled, settings.environ)
    urls = database_urls(project)
    store = StateStore.open(urls.state)
    destination = settings.destination or SqlDestination(urls.core)
    try:
        run = _Run(
            project, compiled, plans, settings, store, destination, secrets, sources, writeback
        )
        return run.execute(urls, note)
    finally:
        if settings.destination is None:
            destination.close()
        store.close()


class _Run:
    def __init__(
        self,
        project: Project,
        compiled: CompiledIntegration,
        plans: list[StreamPlan],
        settings: RunSettings,
        store: StateStore,
        destination: Destination,
        secrets: dict[str, Secret],
        sources: Mapping[str, Source] | None,
        writeback: bool,
    ) -> None:
        self.project = project
        self.compiled = compiled
        self.plans = {p.mapping.name: p for p in plans}
        self.settings = settings
        self.store = store
        self.destination = destination
        self.secrets = secrets
        self.sources = sources or {}
        self.clock = settings.clock
        self.writebacks = compiled.writebacks if writeback else ()
        self.book = StreamBook([p.mapping for p in plans], self.writebacks)
        self.inbound_committed = False
        self.results: dict[str, StreamResult] = {}
        self.started = self.clock.monotonic()
        self.refused_by: int | None = None
        self.profile = Profile(self.clock.monotonic)

    @property
    def sync(self) -> Sync:
        return self.compiled.resolved.template.sync

    def execute(self, urls: DatabaseUrls, note: str | None) -> RunReport:
        resolved = self.compiled.resolved
        self.started_at = self.clock.now()  # what now_utc() gives in every batch of the run
        self.run_id = self.store.create_run(
            integration=resolved.name,
            tenant=resolved.tenant,
            template=resolved.template.template,
            template_version=str(resolved.version),
            config_hash=resolved.config_hash,
            trigger=self.settings.trigger,
            owner=owner_name(),
            started_at=self.started_at,
            note=note,
        )
        failpoint("run-created")
        self.guard = RunGuard(
            self.store,
            resolved.name,
            self.run_id,
            self.clock,
            ttl=self.settings.lease_ttl,
            timeout=self.sync.timeout_delta,
            should_stop=self.settings.should_stop,
        )
        try:
            self.guard.start()
        except LeaseHeldError as exc:
            self.refused_by = exc.holder_run_id
            return self._finish(urls, RunStatus.FAILED, exc, note)
        failpoint("lease-taken")
        try:
            status, error = self._run_scopes()
            report = self._finish(urls, status, error, note)
            failpoint("run-finished")
            return report
        finally:
            self.guard.stop()

    def _run_scopes(self) -> tuple[RunStatus, BaseException | None]:
        scopes = Scopes(
            self.destination,
            profile=self.profile,
            stream_body=self._stream,
            on_committed=self._committed,
            attempt=self._attempt,
            confirm=self.guard.confirm,
            mark=self.book.mark,
        )
        order = list(self.plans)
        try:
            assert self.project.settings is not None
            create = self.project.settings.model.core.manage_schema
            self._attempt(
                "prepare",
                [],
                lambda: self.destination.prepare(
                    list(self.compiled.tables.values()), create=create
                ),
            )
            self._attempt("checkpoints", [], self._read_checkpoints)
            if self.sync.commit == "run":
                scopes.run_as_one(order)
                errors = []
            else:
                depends = {m.name: m.depends_on & set(order) for m in self.compiled.mappings}
                errors = scopes.run_each(order, depends, self.sync.max_concurrent_streams)
            self.inbound_committed = not errors
            if errors:
                raise errors[0]
            self._send_writebacks()
        except BaseException as exc:
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                raise
            for target in self.writebacks:
                self.book.mark(target.name, StreamStatus.SKIPPED, WRITEBACK_SKIPPED)
            return _status_of(exc), exc
        return RunStatus.SUCCEEDED, None

    def _send_writebacks(self) -> None:
        for target in self.writebacks:
            # No quarantine purge between tries (no streams named): a failed try's refused
            # records were sent, and are not sent again.
            sent = Sent()
            self._attempt(f"writeback {target.name}", [], partial(self._send, target, sent))

    def _send(self, target: CompiledWriteBack, sent: Sent) -> None:
        started = self.clock.monotonic()
        self.book.start(target.name)
        self.settings.observer.stream_started(target.name, None)
        sink = self.settings.sink or open_sink(
            self.compiled, target, self.secrets, self.clock, self.project.root
        )
        context = WriteBackContext(
            integration=self.compiled.name,
            tenant=self.compiled.tenant,
            run_id=self.run_id,
            store=self.store,
            clock=self.clock,
            check=self.guard.check,
            profile=self.profile,
            observer=self.settings.observer,
            batch_size=self.settings.batch_size or self.sync.batch_size,
            started_at=self.started_at,
            full=self.settings.full,
        )
        try:
            send_target(target, self.destination, sink, context, sent)
        except BaseException as exc:
            self.book.fail(target.name, error_message(exc), self.clock.monotonic() - started)
            raise
        finally:
            if isinstance(sink, Noted):  # a failed try's retries happened too
                sent.notes.extend(sink.notes())
            if self.settings.sink is None:
                sink.close()
        record = self.book.succeed(
            target.name, sent.final(target.name), self.clock.monotonic() - started
        )
        self.settings.observer.stream_finished(target.name, record)

    def _attempt(self, scope: str, streams: list[str], unit: Callable[[], None]) -> None:
        attempts = Attempts(
            self.sync.retry,
            self.clock,
            lambda a: self.store.record_attempt(self.run_id, a),
            rng=self.settings.rng,
        )
        tries = [0]

        def unit_once() -> None:
            tries[0] += 1
            if tries[0] > 1 and streams:
                # A new try re-reads its streams: drop what the failed try quarantined.
                self.store.purge_quarantine(
                    QuarantineFilter(run_id=self.run_id, status=None, mappings=tuple(streams))
                )
            unit()

        attempts.run(scope, unit_once)

    def _stream(self, name: str, transaction: Transaction) -> Checkpoint | None:
        plan = self.plans[name]
        started = self.clock.monotonic()
        self.book.start(name)
        source, owned = self._source(name)
        try:
            result = run_stream(
                plan, source, self._request(plan.mapping), transaction, self._context()
            )
        except BaseException as exc:
            self.book.fail(name, error_message(exc), self.clock.monotonic() - started)
            raise
        finally:
            if owned:  # a source the run built is the run's to close (its HTTP client, files)
                source.close()
        if isinstance(source, Noted):
            result.counts.notes.extend(f"stream {name}: {note}" for note in source.notes())
        self.results[name] = result
        record = self.book.succeed(name, result.counts, self.clock.monotonic() - started)
        self.settings.observer.stream_finished(name, record)
        if plan.check_threshold:
            self.book.check_threshold(name, self.sync.max_rejected_fraction, self.run_id)
        return result.checkpoint if plan.save_checkpoint else None

    def _committed(self, checkpoints: dict[str, Checkpoint]) -> None:
        self.book.committed(list(checkpoints) or None)
        if checkpoints:
            # A copy for people and for resets; the destination holds the one that counts.
            self.store.save_checkpoints(
                self.compiled.name, checkpoints, run_id=self.run_id, at=self.clock.now()
            )
        failpoint("checkpoint-saved")

    def _source(self, name: str) -> tuple[Source, bool]:
        """The stream's source, and whether the run built it (rather than was given it)."""
        if name in self.sources:
            return self.sources[name], False
        if self.settings.source is not None:
            return self.settings.source, False
        context = SourceContext(
            options=self.compiled.source_options,  # type: ignore[arg-type]
            connection=self.compiled.connection_options,  # type: ignore[arg-type]
            project_root=self.project.root,
            secrets=self.secrets,
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
            integration=self.compiled.name,
            events=self.store,
        )
        return self.compiled.connector.factory(context), True

    def _read_checkpoints(self) -> None:
        # Before any transaction opens: on SQLite a second connection could not read while
        # the run's transaction writes.
        incremental = {
            name
            for name, plan in self.plans.items()
            if plan.mapping.mapping.read == "incremental" and not self.settings.full
        }
        self.checkpoints = starting_checkpoints(
            self.compiled.name,
            list(self.plans),
            incremental,
            self.destination,
            self.store,
            self.clock,
        )

    def _request(self, mapping: CompiledMapping) -> StreamRequest:
        checkpoint = self.checkpoints.get(mapping.name)
        return mapping.stream_request(checkpoint, self.settings.batch_size or self.sync.batch_size)

    def _context(self) -> StreamContext:
        return StreamContext(
            integration=self.compiled.name,
            tenant=self.compiled.tenant,
            run_id=self.run_id,
            tables=self.compiled.tables,
            store=self.store,
            clock=self.clock,
            observer=self.settings.observer,
            check=self.guard.check,
            profile=self.profile,
            started_at=self.started_at,
            drift_policy=self.sync.schema_drift,
        )

    def _finish(
        self, urls: DatabaseUrls, status: RunStatus, error: BaseException | None, note: str | None
    ) -> RunReport:
        streams = self.book.records()
        hint = error.hint if isinstance(error, IsthmusError) else None
        notes = [n for n in (note, *self.book.notes()) if n]
        note_text = "; ".join(notes) or None
        duration = self.clock.monotonic() - self.started
        committed = self.inbound_committed
        self.store.finish_run(
            self.run_id,
            status=status,
            committed=committed,
            finished_at=self.clock.now(),
            duration_s=duration,
            streams=streams,
            error=error_message(error) if error else None,
            error_class=error_class(error) if error else None,
            hint=hint,
            note=note_text,
        )
        log.info(
            "run finished", run=self.run_id, integration=self.compiled.name, status=str(status)
        )
        resolved = self.compiled.resolved
        recorded = self.store.get_run(self.run_id)
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
            error=error_message(error) if error else None,
            error_class=error_class(error) if error else None,
            hint=hint,
            note=note_text,
            attempts=recorded.attempts if recorded else (),
            refused_by=self.refused_by,
            profile=dict(self.profile.seconds),
        )


def _status_of(error: BaseException) -> RunStatus:
    if isinstance(error, RunTimedOutError):
        return RunStatus.TIMED_OUT
    if isinstance(error, RunCancelledError):
        return RunStatus.CANCELLED
    return RunStatus.FAILED
