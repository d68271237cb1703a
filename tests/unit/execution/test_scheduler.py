"""The scheduler on the two-tenant `tiny` project: due runs, pauses, the circuit breaker,
retention, concurrency and shutdown. Time is a FakeClock; runs are a fake engine except
where the engine is the point."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from isthmus.config import Project, load_project
from isthmus.errors import SecretError
from isthmus.execution import RunReport, RunSettings, database_urls
from isthmus.execution.scheduler import STOP_REASON, Scheduler
from isthmus.store import QuarantineEntry, QuarantineFilter, RunStatus, StateStore
from isthmus.testing import FakeClock
from support import sqlite_content

UTC = dt.UTC
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
WAIT = 30.0  # the longest any test waits for a worker thread, in real seconds


def scheduled(
    root: Path, sync: str = "schedule: '*/15 * * * *'", *, max_runs: int = 4, extra: str = ""
) -> Path:
    """Give the tiny project's template a schedule (no jitter) and the scheduler settings."""
    template = root / "templates/people.yaml"
    template.write_text(
        template.read_text().replace(
            "sync: {max_rejected_fraction: 0.5, batch_size: 2}",
            f"sync: {{max_rejected_fraction: 0.5, batch_size: 2, jitter: 0s, {sync}}}",
        )
    )
    with (root / "isthmus.yaml").open("a") as file:
        file.write(f"scheduler: {{tick: 5s, max_concurrent_runs: {max_runs}}}\n{extra}")
    return root


def add_integrations(root: Path, *tenants: str) -> None:
    for tenant in tenants:
        (root / f"integrations/{tenant}.yaml").write_text(
            f"integration: {tenant}-people\ntenant: {tenant}\ntemplate: people@^1\n"
            f"owner: {{team: ops, contact: ops@example.com}}\nconnection: {{root: data/{tenant}}}\n"
        )


def store_of(root: Path) -> StateStore:
    return StateStore.open(database_urls(load_project(root)).state)


class FakeRuns:
    """A fake engine: each integration's planned results in turn ("succeeded", "failed", or
    an exception to raise); succeeded once the plan is used up. ``gate`` holds runs back."""

    def __init__(self, plan: dict[str, list[str | Exception]] | None = None) -> None:
        self.plan = plan or {}
        self.calls: list[tuple[str, str]] = []
        self.settings: list[RunSettings] = []
        self.lock = threading.Lock()
        self.next_id = 100
        self.gate: threading.Event | None = None
        self.started = threading.Semaphore(0)
        self.active = self.most_active = 0
        self.before_return: Callable[[RunSettings], str | None] | None = None

    def __call__(self, project: Project, name: str, settings: RunSettings) -> RunReport:
        with self.lock:
            self.calls.append((name, settings.trigger))
            self.settings.append(settings)
            self.next_id += 1
            run_id = self.next_id
            planned = self.plan.get(name, [])
            result = planned.pop(0) if planned else "succeeded"
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        self.started.release()
        try:
            if self.gate is not None:
                assert self.gate.wait(WAIT), "the test never opened the gate"
            if self.before_return is not None:
                stop = self.before_return(settings)
                if stop:
                    return report(name, run_id, "cancelled", stop)
            if isinstance(result, Exception):
                raise result
            return report(name, run_id, result, "boom" if result == "failed" else None)
        finally:
            with self.lock:
                self.active -= 1

    def names(self) -> list[str]:
        return sorted(name for name, _ in self.calls)

    def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert self.started.acquire(timeout=WAIT), "a run did not start"


def report(name: str, run_id: int, status: str, error: str | None) -> RunReport:
    return RunReport(
        run_id=run_id,
        integration=name,
        tenant=name.split("-", maxsplit=1)[0],
        status=RunStatus(status),
        committed=status == "succeeded",
        streams=(),
        reasons=(),
        duration_s=0.1,
        config_hash="0" * 64,
        core_database="sqlite://",
        state_database="sqlite://",
        error=error,
        error_class="data" if error else None,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def runs() -> FakeRuns:
    return FakeRuns()


@pytest.fixture
def make(clock: FakeClock, runs: FakeRuns) -> Iterator[Callable[[Path], Scheduler]]:
    made: list[Scheduler] = []

    def build(root: Path) -> Scheduler:
        scheduler = Scheduler(root, clock=clock, run=runs)
        made.append(scheduler)
        return scheduler

    yield build
    for scheduler in made:
        if runs.gate is not None:
            runs.gate.set()
        scheduler.close()


def at_quarter(clock: FakeClock, hour: int, minute: int, second: int = 0) -> None:
    clock.current = START.replace(hour=hour, minute=minute, second=second)


# --- due runs --------------------------------------------------------------------------


def test_due_integrations_run_once_per_fire_time_with_trigger_schedule(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny))
    assert scheduler.tick().started == ()  # first sight: the next fire time is stored
    at_quarter(clock, 10, 15, 2)
    assert sorted(scheduler.tick().started) == ["a-people", "b-people"]
    outcomes = scheduler.drain(WAIT)
    assert sorted((o.integration, o.status) for o in outcomes) == [
        ("a-people", "succeeded"),
        ("b-people", "succeeded"),
    ]
    assert {o.fire_time for o in outcomes} == {START.replace(minute=15)}
    at_quarter(clock, 10, 16)
    assert scheduler.tick().started == ()  # the 10:15 fire time ran already
    at_quarter(clock, 10, 30)
    assert sorted(scheduler.tick().started) == ["a-people", "b-people"]
    scheduler.drain(WAIT)
    assert runs.names() == ["a-people", "a-people", "b-people", "b-people"]
    assert {trigger for _, trigger in runs.calls} == {"schedule"}
    store = store_of(tiny)
    assert store.schedule_state("a-people").next_run_at == START.replace(minute=45)
    store.close()


def test_an_integration_without_a_schedule_never_runs(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(tiny)  # the tiny template has no schedule
    scheduler.tick()
    clock.advance(86_400)
    assert scheduler.tick().started == ()
    assert runs.calls == []


def test_a_paused_integration_does_not_run_and_a_resumed_one_does(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny))
    scheduler.tick()
    store = store_of(tiny)
    store.set_paused("a-people", paused=True, reason="maintenance", at=clock.now())
    at_quarter(clock, 10, 15)
    assert scheduler.tick().started == ("b-people",)
    scheduler.drain(WAIT)
    store.set_paused("a-people", paused=False, reason=None, at=clock.now())
    at_quarter(clock, 10, 30)
    assert sorted(scheduler.tick().started) == ["a-people", "b-people"]
    scheduler.drain(WAIT)
    store.close()


def test_a_changed_schedule_is_picked_up_at_the_next_tick_without_a_restart(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock
) -> None:
    scheduler = make(scheduled(tiny))
    scheduler.tick()
    template = tiny / "templates/people.yaml"
    template.write_text(template.read_text().replace("'*/15 * * * *'", "'0 12 * * *'"))
    scheduler.tick()
    store = store_of(tiny)
    assert store.schedule_state("a-people").next_run_at == START.replace(hour=12)
    store.close()


# --- the circuit breaker ---------------------------------------------------------------


def test_the_circuit_breaker_pauses_after_n_failures_naming_count_run_and_error(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny, "schedule: '*/15 * * * *', max_consecutive_failures: 3"))
    runs.plan = {"a-people": ["failed"] * 10}
    scheduler.tick()
    outcomes = []
    with capture_logs() as logs:
        for minute in (15, 30, 45):
            at_quarter(clock, 10, minute)
            scheduler.tick()
            outcomes += [o for o in scheduler.drain(WAIT) if o.integration == "a-people"]
    assert [(o.consecutive_failures, o.paused) for o in outcomes] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    last_run = outcomes[-1].run_id
    store = store_of(tiny)
    state = store.schedule_state("a-people")
    assert state.paused
    assert state.paused_reason == (
        f"paused after 3 consecutive failed runs; the last, run {last_run}, failed: boom"
    )
    paused_logs = [e for e in logs if e["event"] == "scheduler.paused"]
    assert paused_logs == [
        {
            "event": "scheduler.paused",
            "log_level": "warning",
            "integration": "a-people",
            "consecutive_failures": 3,
            "run": last_run,
            "hint": "fix the cause, then `isthmus resume a-people`",
        }
    ]
    at_quarter(clock, 11, 0)
    assert scheduler.tick().started == ("b-people",)  # paused: a-people is left out
    scheduler.drain(WAIT)
    # Resuming (what `isthmus resume` does) clears the pause and the count.
    store.set_paused("a-people", paused=False, reason=None, at=clock.now())
    assert store.schedule_state("a-people").consecutive_failures == 0
    at_quarter(clock, 11, 15)
    assert "a-people" in scheduler.tick().started
    scheduler.drain(WAIT)
    assert store.schedule_state("a-people").consecutive_failures == 1
    store.close()


def test_a_success_resets_the_count_of_consecutive_failures(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny, "schedule: '*/15 * * * *', max_consecutive_failures: 3"))
    runs.plan = {"a-people": ["failed", "failed", "succeeded", "failed", "failed"]}
    scheduler.tick()
    counts = []
    for hour, minute in ((10, 15), (10, 30), (10, 45), (11, 0), (11, 15)):
        at_quarter(clock, hour, minute)
        scheduler.tick()
        counts += [o.consecutive_failures for o in scheduler.drain(WAIT) if o.integration[0] == "a"]
    assert counts == [1, 2, 0, 1, 2]
    store = store_of(tiny)
    assert not store.schedule_state("a-people").paused
    store.close()


def test_max_consecutive_failures_zero_never_pauses(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny, "schedule: '*/15 * * * *', max_consecutive_failures: 0"))
    runs.plan = {"a-people": ["failed"] * 8}
    scheduler.tick()
    for _ in range(8):
        clock.advance(15 * 60)
        scheduler.tick()
        scheduler.drain(WAIT)
    store = store_of(tiny)
    state = store.schedule_state("a-people")
    assert (state.paused, state.consecutive_failures) == (False, 8)
    store.close()


def test_a_run_that_raises_counts_as_a_failure_and_the_others_still_run(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    add_integrations(tiny, "c")
    scheduler = make(scheduled(tiny, "schedule: '*/15 * * * *', max_consecutive_failures: 2"))
    runs.plan = {
        "a-people": [SecretError("secret 'token' is bound to env:TOKEN, which is not set")] * 2,
        "b-people": [RuntimeError("bad value alice@example.com")] * 2,
    }
    scheduler.tick()
    with capture_logs() as logs:
        at_quarter(clock, 10, 15)
        scheduler.tick()
        first = {o.integration: o for o in scheduler.drain(WAIT)}
        at_quarter(clock, 10, 30)
        scheduler.tick()
        second = {o.integration: o for o in scheduler.drain(WAIT)}
    assert first["c-people"].status == second["c-people"].status == "succeeded"
    assert (first["a-people"].status, first["a-people"].consecutive_failures) == ("error", 1)
    assert first["b-people"].error == "internal error: RuntimeError"
    assert second["a-people"].paused
    store = store_of(tiny)
    assert store.schedule_state("a-people").paused_reason == (
        "paused after 2 consecutive failed runs; the last, which never started, failed: "
        "secret 'token' is bound to env:TOKEN, which is not set"
    )
    store.close()
    assert "alice@example.com" not in repr(logs)  # an unexpected error's text stays out


# --- concurrency -----------------------------------------------------------------------


def test_no_more_runs_go_at_once_than_max_concurrent_runs_and_the_rest_follow(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    add_integrations(tiny, "c", "d")
    scheduler = make(scheduled(tiny, max_runs=2))
    scheduler.tick()
    runs.gate = threading.Event()
    at_quarter(clock, 10, 15)
    first = scheduler.tick()
    assert len(first.started) == 2
    assert {why for _, why in first.skipped} == {"at the limit of concurrent runs"}
    runs.wait_started(2)
    runs.gate.set()
    scheduler.drain(WAIT)
    second = scheduler.tick()  # the same fire time: the two that waited start now
    assert sorted(first.started + second.started) == [f"{t}-people" for t in "abcd"]
    scheduler.drain(WAIT)
    assert runs.most_active == 2
    assert runs.names() == [f"{t}-people" for t in "abcd"]


def test_an_integration_still_running_at_its_next_fire_time_is_not_started_twice(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny))
    scheduler.tick()
    runs.gate = threading.Event()
    at_quarter(clock, 10, 15)
    scheduler.tick()
    runs.wait_started(2)
    at_quarter(clock, 10, 30, 1)
    assert scheduler.tick().started == ()
    runs.gate.set()
    scheduler.drain(WAIT)
    assert sorted(scheduler.tick().started) == ["a-people", "b-people"]  # 10:30, late
    scheduler.drain(WAIT)
    assert runs.names() == ["a-people", "a-people", "b-people", "b-people"]


def test_a_lease_held_by_another_run_skips_the_fire_time_quietly(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny))
    scheduler.tick()
    store = store_of(tiny)
    other = store.create_run(
        integration="a-people",
        tenant="a",
        template="people",
        template_version="1.0.0",
        config_hash="0" * 64,
        trigger="manual",
        owner="elsewhere:1",
        started_at=clock.now(),
    )
    store.acquire_lease(
        "a-people", run_id=other, owner="elsewhere:1", now=clock.now(), ttl=dt.timedelta(hours=1)
    )
    at_quarter(clock, 10, 15)
    tick = scheduler.tick()
    assert tick.started == ("b-people",)
    assert tick.skipped == (("a-people", "already running: another run holds its lease"),)
    scheduler.drain(WAIT)
    assert store.schedule_state("a-people").consecutive_failures == 0
    store.close()


# --- quarantine retention --------------------------------------------------------------


def quarantined(store: StateStore, created_at: dt.datetime, record_id: str) -> None:
    run_id = store.create_run(
        integration="a-people",
        tenant="a",
        template="people",
        template_version="1.0.0",
        config_hash="0" * 64,
        trigger="manual",
        owner="test",
        started_at=created_at,
    )
    store.add_quarantine(
        [
            QuarantineEntry(
                run_id=run_id,
                integration="a-people",
                tenant="a",
                mapping="people",
                stream="people",
                entity="person",
                origin="people.jsonl",
                position=1,
                record_id=record_id,
                rule="required",
                field="name",
                value=None,
                message="name is required",
                record="{}",
                created_at=created_at,
            )
        ]
    )


def test_retention_deletes_only_quarantined_records_older_than_retention_days_hourly(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock
) -> None:
    scheduled(tiny, extra="quarantine: {retention_days: 30}\n")
    store = store_of(tiny)
    quarantined(store, START - dt.timedelta(days=31), "old")
    quarantined(store, START - dt.timedelta(days=29), "recent")
    scheduler = make(tiny)
    scheduler.tick()

    def kept() -> list[str | None]:
        return [e.record_id for e in store.find_quarantine(QuarantineFilter(status=None))]

    assert kept() == ["recent"]
    quarantined(store, START - dt.timedelta(days=40), "older")
    clock.advance(59 * 60)
    scheduler.tick()
    assert kept() == ["recent", "older"]  # at most once an hour
    clock.advance(60)
    scheduler.tick()
    assert kept() == ["recent"]
    store.close()


# --- shutdown --------------------------------------------------------------------------


def test_the_first_shutdown_request_starts_nothing_new_and_lets_running_runs_finish(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny, max_runs=1))
    scheduler.tick()
    runs.gate = threading.Event()
    at_quarter(clock, 10, 15)
    assert len(scheduler.tick().started) == 1
    runs.wait_started(1)
    scheduler.request_shutdown()
    assert scheduler.tick().started == ()  # the other one, due too, does not start
    assert runs.settings[0].should_stop is not None
    assert runs.settings[0].should_stop() is None  # running runs are left alone
    runs.gate.set()
    [outcome] = scheduler.drain(WAIT)
    assert outcome.status == "succeeded"
    assert len(runs.calls) == 1


def test_the_second_shutdown_request_asks_running_runs_to_stop_and_they_cancel(
    tiny: Path, make: Callable[[Path], Scheduler], clock: FakeClock, runs: FakeRuns
) -> None:
    scheduler = make(scheduled(tiny))
    scheduler.tick()
    runs.gate = threading.Event()
    runs.before_return = lambda settings: settings.should_stop() if settings.should_stop else None
    at_quarter(clock, 10, 15)
    scheduler.tick()
    runs.wait_started(2)
    scheduler.request_shutdown()
    scheduler.request_shutdown()
    runs.gate.set()  # the runs reach their next batch boundary and ask
    outcomes = scheduler.drain(WAIT)
    assert sorted((o.integration, o.status, o.error) for o in outcomes) == [
        ("a-people", "cancelled", STOP_REASON),
        ("b-people", "cancelled", STOP_REASON),
    ]
    store = store_of(tiny)
    assert store.schedule_state("a-people").consecutive_failures == 0  # not a failure
    store.close()


class ShutdownAfterSleeps(FakeClock):
    """A fake clock that asks the scheduler to shut down after a number of sleeps."""

    def __init__(self, start: dt.datetime, sleeps: int) -> None:
        super().__init__(start)
        self.left = sleeps
        self.scheduler: Scheduler | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.left -= 1
        if self.left == 0 and self.scheduler is not None:
            self.scheduler.request_shutdown()


def test_run_forever_ticks_every_tick_setting_and_returns_after_a_shutdown_request(
    tiny: Path, runs: FakeRuns
) -> None:
    clock = ShutdownAfterSleeps(START.replace(minute=14, second=50), sleeps=30)
    scheduler = Scheduler(scheduled(tiny), clock=clock, run=runs)
    clock.scheduler = scheduler
    ticks = []
    scheduler.run_forever(on_tick=ticks.append)
    assert set(clock.sleeps) == {1.0}  # a 5s tick, slept in 1s slices
    assert clock.now() == START.replace(minute=15, second=20)
    assert runs.names() == ["a-people", "b-people"]  # 10:15, once
    finished = [o.integration for t in ticks for o in t.finished]
    assert sorted(finished) == ["a-people", "b-people"]


# --- through the real engine -----------------------------------------------------------


def test_a_scheduled_run_through_the_engine_loads_data_and_records_trigger_schedule(
    tiny: Path, clock: FakeClock
) -> None:
    # One run at a time: StateStore.open is not yet safe in two threads at once (alembic's
    # global context), so concurrent real runs in one process are left to the fakes above.
    scheduler = Scheduler(scheduled(tiny, max_runs=1), clock=clock)
    try:
        scheduler.tick()
        at_quarter(clock, 10, 15)
        first = scheduler.tick().started
        outcomes = scheduler.drain(WAIT)
        second = scheduler.tick().started  # the same fire time, once the first finished
        outcomes += scheduler.drain(WAIT)
    finally:
        scheduler.close()
    assert sorted(first + second) == ["a-people", "b-people"]
    assert sorted((o.integration, o.status) for o in outcomes) == [
        ("a-people", "succeeded"),
        ("b-people", "succeeded"),
    ]
    store = store_of(tiny)
    recorded = store.list_runs()
    assert sorted((r.integration, r.trigger, str(r.status)) for r in recorded) == [
        ("a-people", "schedule", "succeeded"),
        ("b-people", "schedule", "succeeded"),
    ]
    assert store.schedule_state("a-people").last_run_id in {r.id for r in recorded}
    assert store.lease_holder("a-people") is None
    store.close()
    people = sqlite_content(tiny / ".isthmus/core.db")["person"]
    assert len(people) == 6
