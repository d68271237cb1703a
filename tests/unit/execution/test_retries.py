"""Transient failures are retried with backoff and jitter; every attempt is recorded."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from isthmus.config import load_project
from isthmus.connectors import SqlDestination
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore
from isthmus.testing import FailingDestination, FakeClock
from support import edit_yaml, sqlite_content


def retry_policy(root: Path, **policy: Any) -> None:
    def change(data: dict[str, Any]) -> None:
        data["sync"]["retry"] = {
            "attempts": 3,
            "initial_delay": "2s",
            "max_delay": "10s",
            "max_elapsed": "10m",
            **policy,
        }

    edit_yaml(root / "templates/people.yaml", change)


def failing(root: Path, **knobs: Any) -> FailingDestination:
    return FailingDestination(SqlDestination(database_urls(load_project(root)).core), **knobs)


def test_a_transient_failure_is_retried_and_the_run_succeeds(tiny: Path) -> None:
    retry_policy(tiny)
    clock = FakeClock()
    destination = failing(tiny, fail_on_write=2, transient=True)
    report = run_integration(
        load_project(tiny),
        "a-people",
        RunSettings(clock=clock, destination=destination, rng=random.Random(7)),
    )
    destination.close()
    assert report.status is RunStatus.SUCCEEDED
    runs = [a for a in report.attempts if a.scope == "run"]
    assert [(a.attempt, a.error_class) for a in runs] == [(1, "transient"), (2, None)]
    assert runs[0].error == "injected failure on write to person, write 2"
    # Full jitter: the wait before try 2 is within [0, initial_delay].
    assert runs[0].wait_s is not None
    assert 0 <= runs[0].wait_s <= 2
    assert clock.sleeps == [runs[0].wait_s]
    people = sqlite_content(tiny / ".isthmus/core.db")["person"]
    assert sorted(r[1] for r in people) == ["p1", "p2", "p3"]


def test_retry_after_sets_the_least_wait(tiny: Path) -> None:
    retry_policy(tiny)
    clock = FakeClock()
    destination = failing(tiny, fail_on_write=1, transient=True, retry_after=30.0)
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=clock, destination=destination)
    )
    destination.close()
    assert report.succeeded
    assert clock.sleeps == [30.0]


def test_a_permanent_failure_is_not_retried(tiny: Path) -> None:
    retry_policy(tiny)
    clock = FakeClock()
    destination = failing(tiny, fail_on_write=1)
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=clock, destination=destination)
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    assert report.error_class == "destination"
    assert [a.attempt for a in report.attempts if a.scope == "run"] == [1]
    assert clock.sleeps == []


def test_retries_stop_after_the_configured_attempts_and_the_waits_grow(tiny: Path) -> None:
    retry_policy(tiny, attempts=4, initial_delay="1s", max_delay="1m")
    clock = FakeClock()
    destination = failing(tiny, fail_on_write=1, transient=True, times=10)
    destination.fail_on_write = None  # fail every write: counted from the first
    destination.maybe_fail = _always(destination)  # type: ignore[method-assign]
    report = run_integration(
        load_project(tiny),
        "a-people",
        RunSettings(clock=clock, destination=destination, rng=_Ceiling()),
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    assert report.error_class == "transient"
    attempts = [a for a in report.attempts if a.scope == "run"]
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    # With jitter at its ceiling the waits double: 1, 2, 4 seconds; none after the last try.
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert [a.wait_s for a in attempts] == [1.0, 2.0, 4.0, None]
    assert sqlite_content(tiny / ".isthmus/core.db").get("person", []) == []


def test_retries_stop_once_the_elapsed_time_is_spent(tiny: Path) -> None:
    retry_policy(tiny, attempts=10, initial_delay="1m", max_delay="1m", max_elapsed="2m")
    clock = FakeClock()
    destination = failing(tiny, transient=True, times=10)
    destination.maybe_fail = _always(destination)  # type: ignore[method-assign]
    report = run_integration(
        load_project(tiny),
        "a-people",
        RunSettings(clock=clock, destination=destination, rng=_Ceiling()),
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    assert len([a for a in report.attempts if a.scope == "run"]) == 3
    assert sum(clock.sleeps) == 120.0


def test_a_retried_try_does_not_quarantine_its_records_twice(tiny: Path) -> None:
    retry_policy(tiny)
    path = tiny / "data/a/people.jsonl"
    path.write_text(path.read_text() + '{"id": "bad", "name": "X", "age": "old", "team": "t1"}\n')
    destination = failing(tiny, fail_on_write=2, transient=True)
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=FakeClock(), destination=destination)
    )
    destination.close()
    assert report.succeeded
    store = StateStore.open(database_urls(load_project(tiny)).state)
    entries = store.quarantine_entries(report.run_id)
    store.close()
    assert [(e.rule, e.record_id) for e in entries] == [("to_int", "bad")]
    assert report.streams[1].rejected == 1


class _Ceiling(random.Random):
    """Jitter at its ceiling, so the waits are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _always(destination: FailingDestination) -> Any:
    original = FailingDestination.maybe_fail

    def fail(what: str, count: int, wanted: int | None) -> None:
        if what.startswith("write"):
            original(destination, what, count, count)

    return fail


def test_attempt_times_come_from_the_injected_clock(tiny: Path) -> None:
    clock = FakeClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    report = run_integration(load_project(tiny), "a-people", RunSettings(clock=clock))
    assert {a.started_at for a in report.attempts} == {clock.now()}
