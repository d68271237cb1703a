"""Dry runs: what a run of an integration would do, from a sample of its real source.

The integration is validated as for a run. Each stream (in run order) reads up to N records
from the source, from the checkpoint a run would start from, and maps and checks them with
the run's own row plan. Nothing is written anywhere: no run record, checkpoint, quarantine or
lease, no core row, not even a database file. The core database, when it exists, is read
read-only for checkpoints, references and the cursor values of rows already loaded; webhook
events are read from the state store the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from isthmus.config.project import Project
from isthmus.config.secrets import Secret, read_secret, used_secret_names
from isthmus.connectors.base import Checkpoint, SourceContext, StoredEvent, StreamRequest
from isthmus.connectors.sampling import FieldSampler
from isthmus.connectors.sampling_core import ReadOnlyCore, read_only_engine
from isthmus.connectors.sampling_sources import sampled_source
from isthmus.errors import IsthmusError, NotFoundError
from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.dry_run_checks import NO_CORE, WouldLoad, referenced_fields
from isthmus.execution.dry_run_drift import compare, not_observed
from isthmus.execution.dry_run_models import DriftSample, DryRunReport, StreamSample
from isthmus.execution.dry_run_stream import SampleContext, Tally, sample_batches
from isthmus.execution.preparation import database_urls, validated
from isthmus.execution.records import error_class, error_message
from isthmus.store import StateStore
from isthmus.store.convert import safe_url
from isthmus.validation.models import CompiledIntegration, CompiledMapping

DEFAULT_SAMPLE = 1000
ROWS_SHOWN = 3


@dataclass
class DryRunSettings:
    sample: int = DEFAULT_SAMPLE  # records read at most per stream
    stream: str | None = None  # only this mapping
    clock: Clock = field(default_factory=SystemClock)
    environ: Mapping[str, str] | None = None
    rows_shown: int = ROWS_SHOWN


class NoEvents:
    """The event log of a project whose state store does not exist yet: no event stored."""

    def events_after(
        self, integration: str, stream: str, after_seq: int, limit: int
    ) -> Sequence[StoredEvent]:
        return []

    def last_event_seq(self, integration: str, stream: str) -> int:
        return 0


def dry_run(project: Project, name: str, settings: DryRunSettings | None = None) -> DryRunReport:
    """Sample integration ``name``; raises NotFoundError or ValidationFailedError before
    anything is read, and reports each stream's source errors in the returned report."""
    settings = settings or DryRunSettings()
    if settings.sample < 1:
        raise ValueError("the sample must be at least one record")
    started = settings.clock.now()
    compiled = validated(project, name, today=started.date())
    mappings = _selected(compiled, settings.stream)
    secrets = _secrets(project, compiled, settings.environ)
    urls = database_urls(project)
    state_engine = read_only_engine(urls.state)
    events = StateStore(state_engine) if state_engine is not None else NoEvents()
    core: ReadOnlyCore | None = None
    try:
        core_engine = read_only_engine(urls.core)
        core = ReadOnlyCore(core_engine) if core_engine is not None else None
        sampler = _Sampler(project, compiled, settings, core, secrets, events, started)
        streams = tuple(sampler.stream(mapping) for mapping in mappings)
    finally:
        if core is not None:
            core.close()
        if state_engine is not None:
            state_engine.dispose()
    resolved = compiled.resolved
    return DryRunReport(
        integration=resolved.name,
        tenant=resolved.tenant,
        template=resolved.template.template,
        version=str(resolved.version),
        config_hash=resolved.config_hash,
        sample=settings.sample,
        started_at=started,
        core_database=safe_url(urls.core),
        core_exists=core is not None,
        streams=streams,
    )


def _selected(compiled: CompiledIntegration, stream: str | None) -> tuple[CompiledMapping, ...]:
    if stream is None:
        return compiled.mappings
    names = [m.name for m in compiled.mappings]
    if stream not in names:
        raise NotFoundError(
            f"integration {compiled.name!r} has no stream {stream!r}",
            hint=f"its streams: {', '.join(names)}",
        )
    return tuple(m for m in compiled.mappings if m.name == stream)


def _secrets(
    project: Project, compiled: CompiledIntegration, environ: Mapping[str, str] | None
) -> dict[str, Secret]:
    connection = compiled.resolved.integration.connection
    used = used_secret_names(compiled.resolved.template, connection)
    return {
        name: read_secret(name, connection.secrets[name], base=project.root, environ=environ)
        for name in sorted(used)
    }


class _Sampler:
    def __init__(
        self,
        project: Project,
        compiled: CompiledIntegration,
        settings: DryRunSettings,
        core: ReadOnlyCore | None,
        secrets: dict[str, Secret],
        events: StateStore | NoEvents,
        started: dt.datetime,
    ) -> None:
        self.project = project
        self.compiled = compiled
        self.settings = settings
        self.core = core
        self.secrets = secrets
        self.events = events
        self.started = started
        self.loaded = WouldLoad()
        self.referenced = referenced_fields(compiled.mappings)

    def stream(self, mapping: CompiledMapping) -> StreamSample:
        checkpoint, starts_from = self._start(mapping)
        shape = StreamSample(
            mapping=mapping.name,
            stream=mapping.stream_name,
            entity=mapping.entity.entity,
            read_mode=mapping.mapping.read,
            write_mode=str(mapping.write_mode),
            starts_from=starts_from,
            references=self._references(mapping),
        )
        request = self._request(mapping, checkpoint)
        try:
            source, sampler = sampled_source(self.compiled.connector, self._source_context())
            try:
                tally = sample_batches(
                    source.read(request), mapping, self._context(mapping), self.settings.sample
                )
            finally:
                source.close()
        except IsthmusError as exc:
            return _failed(shape, exc)
        if sampler is None:
            drift = not_observed(self.compiled.connector.name)
        else:
            drift = self._drift(mapping, request, sampler)
        return replace(_counted(shape, tally, drift), notes=self._verdicts(tally, drift))

    def _verdicts(self, tally: Tally, drift: DriftSample) -> tuple[str, ...]:
        """What the sample says a run would make of the template's limits."""
        sync = self.compiled.resolved.template.sync
        notes = []
        limit = sync.max_rejected_fraction
        if tally.read and tally.rejected / tally.read > limit:
            notes.append(
                f"a run would fail: the sample rejects {tally.rejected / tally.read:.1%} of "
                f"its records, more than the {limit:.1%} sync.max_rejected_fraction allows"
            )
        if sync.schema_drift == "fail" and (drift.undeclared or drift.absent):
            notes.append("a run would fail: sync.schema_drift is fail and the sample drifts")
        return tuple(notes)

    def _drift(
        self, mapping: CompiledMapping, request: StreamRequest, sampler: FieldSampler
    ) -> DriftSample:
        try:
            return compare(mapping.source_fields, sampler.observe(request, self.settings.sample))
        except (IsthmusError, OSError) as exc:
            return DriftSample(False, f"not observed: {error_message(exc)}")

    def _start(self, mapping: CompiledMapping) -> tuple[Checkpoint | None, str]:
        if mapping.mapping.read != "incremental":
            return None, "the start (read: full)"
        if self.core is None:
            return None, "the start: no checkpoint (the core database does not exist yet)"
        token, run_id = self.core.checkpoint(self.compiled.name, mapping.name)
        if token is None:
            return None, "the start: no checkpoint committed yet"
        return token, f"the checkpoint committed by run {run_id}: {_summary(token)}"

    def _references(self, mapping: CompiledMapping) -> str:
        if not mapping.references:
            return "none declared"
        if self.core is None:
            return NO_CORE
        return (
            "checked read-only against the core database, and the rows earlier streams of "
            "this sample would load"
        )

    def _request(self, mapping: CompiledMapping, checkpoint: Checkpoint | None) -> StreamRequest:
        batch_size = min(self.compiled.resolved.template.sync.batch_size, self.settings.sample)
        return mapping.stream_request(checkpoint, batch_size)

    def _source_context(self) -> SourceContext:
        return SourceContext(
            options=self.compiled.source_options,  # type: ignore[arg-type]
            connection=self.compiled.connection_options,  # type: ignore[arg-type]
            project_root=self.project.root,
            secrets=self.secrets,
            sleep=self.settings.clock.sleep,
            monotonic=self.settings.clock.monotonic,
            integration=self.compiled.name,
            events=self.events,
        )

    def _context(self, mapping: CompiledMapping) -> SampleContext:
        return SampleContext(
            tenant=self.compiled.tenant,
            tables=self.compiled.tables,
            core=self.core,
            loaded=self.loaded,
            referenced=self.referenced.get(mapping.entity.entity, set()),
            started=self.started,
            rows_shown=self.settings.rows_shown,
        )


def _summary(token: Checkpoint) -> str:
    files = token.get("files")
    if isinstance(files, dict):
        return f"{len(files)} file(s) already read"
    text = json.dumps(token, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _counted(shape: StreamSample, tally: Tally, drift: DriftSample) -> StreamSample:
    reasons = sorted(tally.reasons.values(), key=lambda r: (-r.count, r.rule, r.field or ""))
    return replace(
        shape,
        records_read=tally.read,
        would_load=tally.loaded,
        would_reject=tally.rejected,
        would_skip=tally.skipped,
        more=tally.more,
        reasons=tuple(reasons),
        rows=tuple(tally.rows),
        drift=drift,
    )


def _failed(shape: StreamSample, exc: IsthmusError) -> StreamSample:
    return replace(
        shape,
        error=error_message(exc),
        error_class=error_class(exc),
        hint=exc.hint,
        drift=DriftSample(False, "not observed: the source could not be read"),
    )
