"""When and how an integration runs: schedule, retries, commit scope, limits."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from isthmus.config.durations import Duration, parse_duration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Model):
    attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Tries of a unit of commit, the first included, when it fails transiently.",
    )
    initial_delay: Duration = Field(
        "1s", description="Wait before the second try; it doubles with each try."
    )
    max_delay: Duration = Field("1m", description="The longest single wait.")
    max_elapsed: Duration = Field(
        "10m", description="Stop retrying once this much time has passed since the first try."
    )


class Sync(_Model):
    schedule: str | None = Field(
        None, description="When to run: a cron expression.", examples=["*/30 * * * *"]
    )
    interval: Duration | None = Field(
        None, description="When to run: every so long, e.g. 15m. Instead of schedule."
    )
    timezone: str = Field(
        "UTC",
        description="The timezone the schedule is read in (DST handled).",
        examples=["Europe/Berlin"],
    )
    jitter: Literal["auto"] | Duration = Field(
        "auto",
        description="Each integration starts up to this much after its scheduled "
        "time, at an offset fixed by its name, so many tenants on one "
        "schedule do not start in the same second. auto: a tenth of the "
        "period, at most 5m; 0s: none.",
    )
    missed: Literal["skip", "run_once"] = Field(
        "run_once",
        description="When the scheduler was down past scheduled times: run once "
        "for all of them, or skip to the next time.",
    )
    max_consecutive_failures: int = Field(
        5,
        ge=0,
        description="Pause the integration after this many failed runs in a row (0: never).",
    )
    timeout: Duration | None = Field(
        None, description="Stop and roll back a run that takes longer than this."
    )
    commit: Literal["run", "stream"] = Field(
        "run", description="Unit of commit: the whole run, or each stream on its own."
    )
    max_concurrent_streams: int = Field(
        1,
        ge=1,
        le=32,
        description="Streams that may run at the same time (commit: stream "
        "only); a stream never starts before those it depends on.",
    )
    schema_drift: Literal["ignore", "warn", "fail"] = Field(
        "warn",
        description="What to do when a source has fields the stream does not declare, "
        "or lacks declared ones.",
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="How transient failures are retried."
    )
    max_rejected_fraction: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="A stream that rejects more than this fraction of what it read fails the "
        "run, which is then rolled back.",
    )
    batch_size: int = Field(
        10_000, ge=1, le=1_000_000, description="Records per batch: bounds the memory a run uses."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as Europe/Berlin"
            ) from exc
        return value

    @model_validator(mode="after")
    def _one_way_to_schedule(self) -> Sync:
        if self.schedule is not None and self.interval is not None:
            raise ValueError("give either schedule (cron) or interval, not both")
        return self

    @property
    def timeout_delta(self) -> dt.timedelta | None:
        return parse_duration(self.timeout) if self.timeout else None
