"""What a dry run reports: per stream, what a run would do with a sample of the source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReasonSample:
    """Sampled records one check would reject, with the first as an example (personal data
    masked)."""

    rule: str
    field: str | None
    count: int
    message: str
    example_value: str | None
    example_at: str  # origin:position
    example_record_id: str | None


@dataclass(frozen=True)
class DriftSample:
    """Fields the source delivered that the stream does not declare, and declared fields the
    sample never showed (absent) or never gave a value (always null or empty)."""

    observed: bool
    how: str  # what was looked at; or why drift was not observed
    undeclared: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    always_null: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamSample:
    """One stream's sample: read = would_load + would_reject + would_skip."""

    mapping: str
    stream: str
    entity: str
    read_mode: str
    write_mode: str
    starts_from: str  # the checkpoint the sample starts from, in words
    records_read: int = 0
    would_load: int = 0
    would_reject: int = 0
    would_skip: int = 0
    more: bool = False  # the source has records past the sample
    reasons: tuple[ReasonSample, ...] = ()
    rows: tuple[dict[str, str | None], ...] = ()  # mapped rows as loaded, personal data masked
    references: str = "none declared"  # how references were checked
    drift: DriftSample = field(default_factory=lambda: DriftSample(False, "not read"))
    error: str | None = None
    error_class: str | None = None
    hint: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DryRunReport:
    integration: str
    tenant: str
    template: str
    version: str
    config_hash: str
    sample: int  # records read at most per stream
    started_at: dt.datetime
    core_database: str  # as shown: no password
    core_exists: bool  # whether there was a core database to read (read-only)
    streams: tuple[StreamSample, ...]

    @property
    def failed(self) -> bool:
        return any(s.error is not None for s in self.streams)
