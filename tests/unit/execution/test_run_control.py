"""Controlling runs: backfills, checkpoint resets, drift, cancellation, timeouts, leases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from isthmus.config import load_project
from isthmus.connectors import SourceBatch, StreamRequest
from isthmus.errors import NotFoundError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.execution.checkpoints import reset_checkpoints, show_checkpoints
from isthmus.store import RunStatus, StateStore
from isthmus.testing import FakeClock, MemorySource
from support import edit_yaml, sqlite_content, write_jsonl

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def incremental(root: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        for mapping in data["mappings"].values():
            mapping["read"] = "incremental"

    edit_yaml(root / "templates/people.yaml", change)


def run(root: Path, **settings: Any) -> Any:
    settings.setdefault("clock", FakeClock(START))
    return run_integration(load_project(root), "a-people", RunSettings(**settings))


def store(root: Path) -> StateStore:
    return StateStore.open(database_urls(load_project(root)).state)


def test_an_incremental_run_reads_only_files_it_has_not_read(tiny: Path) -> None:
    incremental(tiny)
    assert [s.records_read for s in run(tiny).streams] == [2, 3]
    assert [s.records_read for s in run(tiny).streams] == [0, 0]
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p4", "name": "Dee", "team": "t1"}])
    assert [s.records_read for s in run(tiny).streams] == [0, 1]


def test_a_full_run_reads_everything_once_without_changing_the_mode(tiny: Path) -> None:
    incremental(tiny)
    run(tiny)
    report = run(tiny, full=True)
    assert [s.records_read for s in report.streams] == [2, 3]
    assert report.note == "full read requested"
    # The configured mode is untouched: the next plain run is incremental again.
    assert [s.records_read for s in run(tiny).streams] == [0, 0]


def test_checkpoints_are_shown_from_the_destination_and_the_state_store(tiny: Path) -> None:
    incremental(tiny)
    report = run(tiny)
    views = {v.stream: v for v in show_checkpoints(load_project(tiny), "a-people")}
    people = views["people"]
    assert people.in_sync
    assert people.run_id == report.run_id
    assert list(people.token or {}) == ["files"]
    assert list((people.token or {})["files"]) == ["people.jsonl"]


def test_a_checkpoint_reset_is_recorded_and_the_next_run_reads_from_the_start(tiny: Path) -> None:
    incremental(tiny)
    run(tiny)
    run_id = reset_checkpoints(
        load_project(tiny), "a-people", "people", RunSettings(clock=FakeClock(START))
    )
    state = store(tiny)
    recorded = state.get_run(run_id)
    state.close()
    assert recorded is not None
    assert recorded.trigger == "reset"
    assert recorded.status is RunStatus.SUCCEEDED
    assert recorded.note == (
        "checkpoint reset for stream people: 1 removed; the next run reads from the start"
    )
    # Only the stream reset is read again.
    assert [s.records_read for s in run(tiny).streams] == [0, 3]


def test_resetting_an_unknown_stream_names_the_known_ones(tiny: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        reset_checkpoints(load_project(tiny), "a-people", "nope")
    assert caught.value.hint == "its streams: teams, people"


def test_a_new_field_in_the_source_fails_the_run_when_the_policy_says_fail(tiny: Path) -> None:
    edit_yaml(tiny / "templates/people.yaml", lambda d: d["sync"].update(schema_drift="fail"))
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p1", "name": "A", "shoe": "42"}])
    report = run(tiny)
    assert report.status is RunStatus.FAILED
    assert report.error == (
        "stream people: the source has fields the stream does not declare: shoe"
    )
    assert sqlite_content(tiny / ".isthmus/core.db")["person"] == []


def test_drift_is_listed_on_the_run_whatever_the_policy(tiny: Path) -> None:
    edit_yaml(tiny / "templates/people.yaml", lambda d: d["sync"].update(schema_drift="ignore"))
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p1", "name": "A", "shoe": "42"}])
    report = run(tiny)
    assert report.succeeded
    assert report.streams[1].drift == {"appeared": ["shoe"], "disappeared": ["age", "team"]}


class _Slow(MemorySource):
    """Moves a fake clock forward with every batch, and can act between batches."""

    def __init__(self, clock: FakeClock, seconds: float, between: Any = None) -> None:
        super().__init__({"teams": [{"id": f"t{i}", "title": "T"} for i in range(6)], "people": []})
        self.clock = clock
        self.seconds = seconds
        self.between = between

    def read(self, request: StreamRequest) -> Iterator[SourceBatch]:
        for number, batch in enumerate(super().read(request)):
            if number and self.between:
                self.between()
            self.clock.advance(self.seconds)
            yield batch


def test_a_run_past_its_timeout_stops_and_rolls_back(tiny: Path) -> None:
    edit_yaml(tiny / "templates/people.yaml", lambda d: d["sync"].update(timeout="1m"))
    clock = FakeClock(START)
    report = run(tiny, clock=clock, source=_Slow(clock, 40))
    assert report.status is RunStatus.TIMED_OUT
    assert report.error == f"run {report.run_id} took longer than its timeout of 0:01:00"
    assert sqlite_content(tiny / ".isthmus/core.db")["team"] == []


def test_a_cancel_request_stops_the_run_at_the_next_batch_and_rolls_it_back(tiny: Path) -> None:
    clock = FakeClock(START)

    def cancel() -> None:
        state = store(tiny)
        state.request_cancel(state.list_runs(limit=1)[0].id)
        state.close()

    report = run(tiny, clock=clock, source=_Slow(clock, 5, between=cancel))
    assert report.status is RunStatus.CANCELLED
    assert report.error == f"run {report.run_id} was cancelled on request"
    assert sqlite_content(tiny / ".isthmus/core.db")["team"] == []


def test_a_stop_request_from_the_scheduler_cancels_at_the_next_batch(tiny: Path) -> None:
    reasons = iter([None, "the scheduler is shutting down"])
    report = run(tiny, should_stop=lambda: next(reasons, "stop"))
    assert report.status is RunStatus.CANCELLED
    assert report.error == f"run {report.run_id} stopped: the scheduler is shutting down"


def test_a_run_whose_owner_died_is_marked_abandoned_when_its_lease_is_taken_over(
    tiny: Path,
) -> None:
    state = store(tiny)
    dead = state.create_run(
        integration="a-people",
        tenant="a",
        template="people",
        template_version="1.0.0",
        config_hash="0" * 64,
        trigger="manual",
        owner="gone:1",
        started_at=START,
    )
    state.acquire_lease(
        "a-people", run_id=dead, owner="gone:1", now=START, ttl=dt.timedelta(minutes=10)
    )
    state.close()
    refused = run(tiny, clock=FakeClock(START + dt.timedelta(minutes=5)))
    assert refused.status is RunStatus.FAILED
    assert f"run {dead} (owner gone:1) holds its lease" in (refused.error or "")
    taken = run(tiny, clock=FakeClock(START + dt.timedelta(minutes=11)))
    assert taken.succeeded
    state = store(tiny)
    abandoned = state.get_run(dead)
    state.close()
    assert abandoned is not None
    assert abandoned.status is RunStatus.ABANDONED
    assert abandoned.note == (
        f"its process stopped without finishing; run {taken.run_id} found it when it started"
    )


def test_a_run_that_lost_its_lease_does_not_commit(tiny: Path) -> None:
    stolen: list[bool] = []

    def steal() -> None:
        if stolen:
            return
        stolen.append(True)
        state = store(tiny)
        running = state.list_runs(limit=1)[0].id
        state.release_lease("a-people", run_id=running)
        state.acquire_lease(
            "a-people",
            run_id=running + 100,
            owner="thief:1",
            now=START,
            ttl=dt.timedelta(minutes=10),
        )
        state.close()

    clock = FakeClock(START)
    report = run(tiny, clock=clock, source=_Slow(clock, 1, between=steal))
    assert report.status is RunStatus.FAILED
    assert report.error == (
        f"run {report.run_id} lost its lease on integration 'a-people' "
        f"(run {report.run_id + 100} holds it now); it must not commit"
    )
    assert sqlite_content(tiny / ".isthmus/core.db")["team"] == []
