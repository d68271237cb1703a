"""now_utc() in a mapping: every row of every batch gets the run's start time, which the
row plan adds to each batch as a column of run context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from isthmus.config import load_project
from isthmus.validation import CompiledMapping, check_for_run
from isthmus.validation.rows import CHECK, RowPlan

PERSON_FIELDS = "  team_id: {type: string, references: team.team_id}\n"
STAMPED = PERSON_FIELDS + "  seen_at: {type: timestamp}\n  note: {type: string}\n"
MAPPING = "fields: {person_id: id, name: trim(name), age: to_int(age), team_id: team}"
STAMPED_MAPPING = (
    "fields: {person_id: id, name: trim(name), age: to_int(age), team_id: team,\n"
    "             seen_at: now_utc(), note: \"concat(trim(name), ' ', to_string(now_utc()))\"}"
)
START = datetime(2026, 3, 1, 9, 30, 15, 250, tzinfo=UTC)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def mapping(tiny: Path) -> CompiledMapping:
    """tiny's people mapping, filling a timestamp and a note from now_utc()."""
    _replace(tiny / "core/person.yaml", PERSON_FIELDS, STAMPED)
    _replace(tiny / "templates/people.yaml", MAPPING, STAMPED_MAPPING)
    compiled, problems = check_for_run(load_project(tiny), "a-people")
    assert compiled is not None, "\n".join(map(str, problems))
    return next(m for m in compiled.mappings if m.name == "people")


def _batch(count: int) -> pl.DataFrame:
    rows = [{"id": f"p{n}", "name": f" P{n} ", "age": "30", "team": "t1"} for n in range(count)]
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))


def test_every_row_of_every_batch_gets_the_runs_start_time(mapping: CompiledMapping):
    plan = RowPlan(mapping)
    for size in (3, 1):
        out = plan.evaluate(_batch(size), now=START)
        assert out[CHECK].to_list() == [None] * size
        assert out["seen_at"].to_list() == [START] * size
        assert out["note"][0] == "P0 2026-03-01T09:30:15.000250Z"


def test_the_start_time_is_read_in_utc(mapping: CompiledMapping):
    berlin = START.astimezone(timezone(timedelta(hours=1)))
    out = RowPlan(mapping).evaluate(_batch(1), now=berlin)
    assert out["seen_at"].to_list() == [START]


def test_a_start_time_without_a_zone_is_refused(mapping: CompiledMapping):
    with pytest.raises(ValueError, match="the run's start time must be timezone-aware"):
        RowPlan(mapping).evaluate(_batch(1), now=START.replace(tzinfo=None))
