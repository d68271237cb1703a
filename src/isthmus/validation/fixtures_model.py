"""Fixture test files (``tests/*.yaml``) as written, and what running their cases produces.

A file holds defaults for its cases and the cases themselves. Each case feeds records, as a
source would deliver them, through one mapping of one integration and says which core rows
and which rejections it expects. The pydantic models below are the file's format; the
dataclasses are a case ready to run and the outcome of running it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from isthmus.diagnostics import Diagnostic

if TYPE_CHECKING:
    from isthmus.validation.fixtures_diff import Difference
    from isthmus.validation.models import CompiledMapping

TESTS_DIR = "tests"
# The run's start time (what now_utc() returns) when a case does not set `now:`: fixed, so
# a case gives the same result whenever it runs.
DEFAULT_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MALFORMED = "malformed"  # the rule of a record the source cannot read at all

Rows = list[dict[str, Any]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Target(_Model):
    """What a case runs: an integration and one of its mappings (or the stream it reads)."""

    integration: str | None = Field(
        None, description="The integration whose mapping runs, by its id.", examples=["acme-crm"]
    )
    mapping: str | None = Field(
        None,
        description="The mapping that runs, by its name in the template.",
        examples=["contacts"],
    )
    stream: str | None = Field(
        None,
        description="Instead of `mapping`: the stream, when exactly one mapping reads it.",
        examples=["contacts"],
    )
    now: dt.datetime | None = Field(
        None,
        description="The run's start time, which now_utc() returns (default "
        "2026-01-01T00:00:00Z). A time without an offset is UTC.",
        examples=["2026-03-01T12:00:00Z"],
    )
    existing: dict[str, Rows] | None = Field(
        None,
        description="Core rows that exist already, per entity: a reference to an entity listed "
        "here is checked against them; a reference to any other is not checked.",
        examples=[{"account": [{"account_id": "A-1"}]}],
    )

    @model_validator(mode="after")
    def _mapping_or_stream(self) -> _Target:
        if self.mapping is not None and self.stream is not None:
            raise ValueError("give `mapping` or `stream`, not both")
        return self


class ExpectedRejection(_Model):
    record: int = Field(ge=1, description="The rejected record's position in `records`, from 1.")
    rule: str = Field(
        min_length=1,
        description="The check that rejects it, as the quarantine names it: type, required, "
        "pattern, enum, min, max, max_length, reference, malformed, or the mapping function "
        "that failed (to_float, lookup, parse_timestamp…).",
        examples=["pattern"],
    )
    field: str | None = Field(
        None,
        description="The core field the check is on (the source field for rule `type`); "
        "left out only for rule `malformed`.",
        examples=["email"],
    )
    value: Any = Field(
        None,
        description="The offending value; when given, it must match too (null: no value).",
    )

    @property
    def checks_value(self) -> bool:
        return "value" in self.model_fields_set


class Expectation(_Model):
    rows: Rows | None = Field(
        None,
        description="The core rows of the accepted records, in record order; each compared on "
        "the fields it lists.",
    )
    rejected: list[ExpectedRejection] | None = Field(
        None, description="Every rejected record: position, rule, field and optionally value."
    )

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if self.rows is None and self.rejected is None:
            raise ValueError("give `rows`, `rejected` or both")
        return self


class FixtureCase(_Target):
    name: str = Field(min_length=1, description="The case's name, unique in its file.")
    description: str = Field("", description="What the case proves.")
    records: list[Any] = Field(
        min_length=1,
        description="Input records as the source delivers them (JSON-like values; nested "
        "objects allowed).",
    )
    expect: Expectation = Field(description="The rows and/or rejections the records give.")


class FixtureDefaults(_Target):
    """A test file's keys besides its cases: defaults each case may replace."""

    description: str = Field("", description="What the file's cases cover.")


class FixtureFile(FixtureDefaults):
    """A file of fixture cases under the project's tests/ folder."""

    cases: list[FixtureCase] = Field(min_length=1, description="The file's test cases.")


# --- a case ready to run, and its outcome -------------------------------------------------


@dataclass(frozen=True)
class ResolvedCase:
    """A case whose every name and value checked out against the project."""

    file: Path
    name: str
    integration: str
    tenant: str
    mapping: CompiledMapping
    records: list[Any]
    now: dt.datetime
    existing: dict[str, Rows]  # entity -> rows, values in the fields' types
    rows: Rows | None  # values in the fields' types
    rejected: list[ExpectedRejection] | None


@dataclass(frozen=True)
class ActualRejection:
    record: int
    rule: str
    field: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class Outcome:
    """What the real mapping and validation made of a case's records."""

    rows: Rows  # one per accepted record, in record order, every column of the entity
    row_records: list[int]  # the record each row came from
    rejections: list[ActualRejection]
    notes: list[str]


Status = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class CaseResult:
    name: str
    status: Status
    integration: str | None = None
    mapping: str | None = None
    differences: tuple[Difference, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[Diagnostic, ...] = ()  # why a case in error could not run
    seconds: float = 0.0


@dataclass(frozen=True)
class FileResult:
    file: Path
    cases: tuple[CaseResult, ...]
    problems: tuple[Diagnostic, ...] = ()  # of the file as a whole (it did not load)


@dataclass(frozen=True)
class FixtureReport:
    files: tuple[FileResult, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def cases(self) -> list[CaseResult]:
        return [case for file in self.files for case in file.cases]

    def count(self, status: Status) -> int:
        return sum(1 for case in self.cases if case.status == status)

    @property
    def passed(self) -> bool:
        return (
            bool(self.cases)
            and all(c.status == "passed" for c in self.cases)
            and not any(d.is_error for d in self.diagnostics)
        )
