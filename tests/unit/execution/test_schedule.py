"""Fire times of schedules: cron in a timezone across DST, epoch-anchored intervals,
deterministic jitter, the missed-run policy, and the static check of a schedule."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.config import load_project, resolve
from isthmus.config.sync import Sync
from isthmus.execution.schedule import (
    due,
    in_zone,
    jitter_offset,
    jitter_window,
    next_fire,
)
from isthmus.validation.schedules import check_schedule, integration_schedules

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def fires(sync: Sync, after: dt.datetime, count: int, name: str = "acme-crm") -> list[dt.datetime]:
    found = []
    for _ in range(count):
        moment = next_fire(sync, name, after)
        assert moment is not None
        found.append(moment)
        after = moment
    return found


BERLIN_NIGHTLY = Sync(schedule="30 2 * * *", timezone="Europe/Berlin", jitter="0s")


# --- cron in a timezone --------------------------------------------------------------------


def test_cron_in_berlin_skips_the_night_whose_0230_does_not_exist_in_spring() -> None:
    # 2026-03-29: at 02:00 CET clocks jump to 03:00 CEST; 02:30 never happens that night.
    times = fires(BERLIN_NIGHTLY, at(2026, 3, 27, 12), 3)
    assert times == [at(2026, 3, 28, 1, 30), at(2026, 3, 30, 0, 30), at(2026, 3, 31, 0, 30)]
    assert [in_zone(BERLIN_NIGHTLY, t).strftime("%d %H:%M %Z") for t in times] == [
        "28 02:30 CET",
        "30 02:30 CEST",
        "31 02:30 CEST",
    ]


def test_cron_in_berlin_fires_once_on_the_night_0230_happens_twice_in_autumn() -> None:
    # 2026-10-25: at 03:00 CEST clocks go back to 02:00 CET; 02:30 happens twice.
    times = fires(BERLIN_NIGHTLY, at(2026, 10, 24, 12), 2)
    assert times == [at(2026, 10, 25, 0, 30), at(2026, 10, 26, 1, 30)]
    # Asked during the repeated hour, after the first 02:30: not again that night.
    assert next_fire(BERLIN_NIGHTLY, "acme-crm", at(2026, 10, 25, 1, 10)) == at(2026, 10, 26, 1, 30)


def test_every_quarter_hour_in_berlin_keeps_going_across_spring_forward() -> None:
    sync = Sync(schedule="*/15 * * * *", timezone="Europe/Berlin", jitter="0s")
    # 01:45 CET is 00:45 UTC; the next wall time that exists is 03:00 CEST, 01:00 UTC.
    assert fires(sync, at(2026, 3, 29, 0, 40), 2) == [at(2026, 3, 29, 0, 45), at(2026, 3, 29, 1)]


def test_cron_without_timezone_is_read_in_utc() -> None:
    sync = Sync(schedule="0 6 * * 1-5", jitter="0s")  # weekdays at 06:00
    # 2026-01-02 is a Friday: the next weekday is Monday the 5th.
    assert fires(sync, at(2026, 1, 2, 7), 2) == [at(2026, 1, 5, 6), at(2026, 1, 6, 6)]


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        next_fire(BERLIN_NIGHTLY, "acme-crm", dt.datetime(2026, 1, 1))


@settings(max_examples=60, deadline=None)
@given(
    after=st.datetimes(
        min_value=dt.datetime(2024, 1, 1),
        max_value=dt.datetime(2028, 12, 31),
        timezones=st.just(UTC),
    ),
    expression=st.sampled_from(["*/15 * * * *", "30 2 * * *", "0 */6 * * 1-5", "5 4 1 * *"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
)
def test_the_next_fire_time_is_after_the_given_time_and_none_is_skipped_between(
    after: dt.datetime, expression: str, zone: str
) -> None:
    sync = Sync(schedule=expression, timezone=zone, jitter="0s")
    following = next_fire(sync, "acme-crm", after)
    assert following is not None
    assert following > after
    assert following.tzinfo is UTC
    # Asking again from just before it finds the same time: nothing lies in between.
    assert next_fire(sync, "acme-crm", following - dt.timedelta(microseconds=1)) == following


# --- intervals -----------------------------------------------------------------------------


def test_an_interval_fires_on_times_anchored_at_the_epoch_not_at_the_start() -> None:
    sync = Sync(interval="15m", jitter="0s")
    assert fires(sync, at(2026, 1, 1, 10, 7, 30), 3) == [
        at(2026, 1, 1, 10, 15),
        at(2026, 1, 1, 10, 30),
        at(2026, 1, 1, 10, 45),
    ]
    # Started at any other moment of the quarter, the grid is the same.
    assert next_fire(sync, "acme-crm", at(2026, 1, 1, 10, 0, 1)) == at(2026, 1, 1, 10, 15)
    # A time on the grid is not "after" itself.
    assert next_fire(sync, "acme-crm", at(2026, 1, 1, 10, 15)) == at(2026, 1, 1, 10, 30)


def test_an_interval_ignores_the_timezone_and_dst() -> None:
    sync = Sync(interval="1h", timezone="Europe/Berlin", jitter="0s")
    assert fires(sync, at(2026, 3, 29, 0, 30), 3) == [
        at(2026, 3, 29, 1),
        at(2026, 3, 29, 2),
        at(2026, 3, 29, 3),
    ]


# --- jitter --------------------------------------------------------------------------------


def test_auto_jitter_is_a_tenth_of_the_period_and_at_most_five_minutes() -> None:
    assert jitter_window(Sync(schedule="*/15 * * * *")) == dt.timedelta(seconds=90)
    assert jitter_window(Sync(interval="30s")) == dt.timedelta(seconds=3)
    assert jitter_window(Sync(interval="2h")) == dt.timedelta(minutes=5)
    # Weekdays only: the shortest gap (a day) is the period, not the weekend's three days.
    assert jitter_window(Sync(schedule="0 6 * * 1-5")) == dt.timedelta(minutes=5)
    assert jitter_window(Sync(schedule="0,5 * * * *")) == dt.timedelta(seconds=30)
    assert jitter_window(Sync(schedule="*/15 * * * *", jitter="2m")) == dt.timedelta(minutes=2)
    assert jitter_window(Sync(schedule="*/15 * * * *", jitter="0s")) == dt.timedelta(0)


def test_jitter_is_the_same_offset_for_a_name_every_time_and_inside_the_window() -> None:
    sync = Sync(schedule="*/15 * * * *")
    offset = jitter_offset(sync, "acme-crm")
    assert offset == jitter_offset(Sync(schedule="*/15 * * * *"), "acme-crm")
    assert dt.timedelta(0) <= offset < dt.timedelta(seconds=90)
    assert offset.microseconds == 0
    times = fires(sync, at(2026, 1, 1, 10, 2), 3)  # past the 10:00 window
    assert [t - offset for t in times] == [
        at(2026, 1, 1, 10, 15),
        at(2026, 1, 1, 10, 30),
        at(2026, 1, 1, 10, 45),
    ]


def test_jitter_spreads_500_integrations_on_one_schedule_over_the_window() -> None:
    sync = Sync(schedule="*/15 * * * *")
    names = [f"tenant-{n:03d}-crm" for n in range(500)]
    starts = [next_fire(sync, name, at(2026, 1, 1, 10, 2)) for name in names]
    seconds = [(s - at(2026, 1, 1, 10, 15)).total_seconds() for s in starts if s is not None]
    assert len(seconds) == 500
    assert all(0 <= s < 90 for s in seconds)
    per_second = Counter(seconds)
    assert len(per_second) >= 80  # of the 90 possible seconds
    assert max(per_second.values()) <= 20  # nowhere near 500 at once


def test_a_jittered_fire_time_is_after_the_given_time_even_inside_the_window() -> None:
    sync = Sync(schedule="*/15 * * * *")
    offset = jitter_offset(sync, "acme-crm")
    first = at(2026, 1, 1, 10, 15) + offset
    assert next_fire(sync, "acme-crm", first - dt.timedelta(seconds=1)) == first
    assert next_fire(sync, "acme-crm", first) == first + dt.timedelta(minutes=15)


# --- due: first sight, normal, missed ------------------------------------------------------

QUARTERLY = Sync(interval="15m", jitter="0s")


def test_no_schedule_is_never_due_and_stores_nothing() -> None:
    sync = Sync()
    assert next_fire(sync, "acme-crm", at(2026, 1, 1)) is None
    decision = due(sync, "acme-crm", at(2025, 1, 1), at(2026, 1, 1))
    assert (decision.run, decision.next_run_at) == (False, None)


def test_first_sight_stores_the_next_fire_time_and_does_not_run() -> None:
    decision = due(QUARTERLY, "acme-crm", None, at(2026, 1, 1, 10, 7))
    assert (decision.run, decision.next_run_at) == (False, at(2026, 1, 1, 10, 15))


def test_a_stored_time_still_ahead_is_not_due() -> None:
    decision = due(QUARTERLY, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 14, 59))
    assert (decision.run, decision.next_run_at) == (False, at(2026, 1, 1, 10, 15))


def test_a_passed_fire_time_runs_and_stores_the_next_one() -> None:
    decision = due(QUARTERLY, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 15, 3))
    assert decision.run
    assert decision.fire_time == at(2026, 1, 1, 10, 15)
    assert decision.next_run_at == at(2026, 1, 1, 10, 30)
    assert decision.missed == 0


def test_a_changed_schedule_replaces_a_stored_time_that_no_longer_fits() -> None:
    hourly = Sync(interval="1h", jitter="0s")
    decision = due(hourly, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 7))
    assert (decision.run, decision.next_run_at) == (False, at(2026, 1, 1, 11))


def test_run_once_runs_once_for_several_missed_fire_times_and_stores_a_future_one() -> None:
    sync = Sync(interval="15m", jitter="0s", missed="run_once")
    # Down from before 10:15 until 11:07: 10:15, 10:30, 10:45 and 11:00 passed.
    decision = due(sync, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 11, 7))
    assert decision.run
    assert decision.fire_time == at(2026, 1, 1, 11)
    assert decision.missed == 3
    assert decision.next_run_at == at(2026, 1, 1, 11, 15)


def test_skip_runs_nothing_for_several_missed_fire_times_and_stores_a_future_one() -> None:
    sync = Sync(interval="15m", jitter="0s", missed="skip")
    decision = due(sync, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 11, 7))
    assert not decision.run
    assert decision.skipped
    assert decision.missed == 4
    assert decision.next_run_at == at(2026, 1, 1, 11, 15)


def test_one_late_fire_time_runs_under_either_policy() -> None:
    for policy in ("skip", "run_once"):
        sync = Sync(interval="15m", jitter="0s", missed=policy)  # type: ignore[arg-type]
        decision = due(sync, "acme-crm", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 29))
        assert decision.run, policy


def test_months_of_missed_fire_times_are_counted_up_to_a_limit_and_run_once() -> None:
    sync = Sync(interval="1m", jitter="0s")
    decision = due(sync, "acme-crm", at(2026, 1, 1), at(2026, 3, 1, 0, 0, 30))
    assert decision.run
    assert decision.fire_time == at(2026, 3, 1)
    assert decision.next_run_at == at(2026, 3, 1, 0, 1)
    assert decision.missed == 999


def test_missed_cron_fire_times_across_a_dst_change_run_once_at_the_latest() -> None:
    sync = Sync(schedule="30 2 * * *", timezone="Europe/Berlin", jitter="0s")
    decision = due(sync, "acme-crm", at(2026, 3, 27, 1, 30), at(2026, 3, 31, 12))
    assert decision.fire_time == at(2026, 3, 31, 0, 30)
    assert decision.missed == 3  # the 28th, 30th and 31st ran as one; the 29th has none
    assert decision.next_run_at == at(2026, 4, 1, 0, 30)


# --- the static check ----------------------------------------------------------------------


def with_template_sync(root: Path, sync: str) -> None:
    path = root / "templates/people.yaml"
    text = path.read_text().replace("sync: {max_rejected_fraction: 0.5, batch_size: 2}", sync)
    path.write_text(text)


def test_an_invalid_cron_is_an_invalid_schedule_diagnostic_at_the_template_line(
    tiny: Path,
) -> None:
    with_template_sync(tiny, 'sync:\n  batch_size: 2\n  schedule: "61 * * * *"')
    project = load_project(tiny)
    resolved, _ = resolve(project, "a-people")
    assert resolved is not None
    [problem] = check_schedule(resolved.template.sync, resolved.locator, ("sync",))
    assert problem.code == "invalid-schedule"
    assert problem.location is not None
    assert problem.location.file == tiny / "templates/people.yaml"
    lines = problem.location.file.read_text().splitlines()
    assert lines[problem.location.line - 1].strip() == 'schedule: "61 * * * *"'
    assert "'61 * * * *' is not a cron expression" in problem.message
    assert problem.hint is not None
    assert "minute hour day-of-month month day-of-week" in problem.hint


def test_an_invalid_override_is_located_in_the_integration_file(tiny: Path) -> None:
    path = tiny / "integrations/a.yaml"
    path.write_text(path.read_text() + "overrides: {sync: {schedule: '0 0 30 2 *'}}\n")
    project = load_project(tiny)
    resolved, _ = resolve(project, "a-people")
    assert resolved is not None
    [problem] = check_schedule(resolved.template.sync, resolved.locator, ("sync",))
    assert problem.location is not None
    assert problem.location.file == path
    assert "never fires" in problem.message


def test_a_zero_interval_is_an_invalid_schedule(tiny: Path) -> None:
    with_template_sync(tiny, "sync: {interval: 0s}")
    project = load_project(tiny)
    loaded = project.templates["people"]
    template = next(iter(loaded.values()))
    [problem] = check_schedule(template.model.sync, template.document, ("sync",))
    assert problem.code == "invalid-schedule"
    assert "interval" in problem.message


def test_a_valid_schedule_has_no_diagnostic_and_every_integration_is_listed(tiny: Path) -> None:
    with_template_sync(tiny, "sync: {schedule: '*/15 * * * *', timezone: Europe/Berlin}")
    project = load_project(tiny)
    listed = integration_schedules(project)
    assert [(i.name, i.problem) for i in listed] == [("a-people", None), ("b-people", None)]
    assert all(i.sync is not None and i.sync.schedule == "*/15 * * * *" for i in listed)


def test_an_integration_with_an_invalid_schedule_is_listed_with_the_problem(tiny: Path) -> None:
    path = tiny / "integrations/b.yaml"
    path.write_text(path.read_text() + "overrides: {sync: {schedule: 'every day'}}\n")
    listed = {i.name: i for i in integration_schedules(load_project(tiny))}
    assert listed["a-people"].problem is None
    assert listed["b-people"].sync is None
    assert listed["b-people"].problem is not None
    assert "'every day' is not a cron expression" in listed["b-people"].problem
