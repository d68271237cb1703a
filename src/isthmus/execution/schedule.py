"""When an integration's schedule fires: pure functions of its sync settings and the time,
and the records the scheduler reports (Decision, Outcome, Tick, ScheduleView).

- **Cron** (``sync.schedule``) is read in ``sync.timezone``. The expression is evaluated on
  the zone's wall clock, then each wall time is placed on the UTC timeline: a wall time that
  does not exist (the hour clocks skip in spring) is skipped, and one that happens twice (the
  hour clocks repeat in autumn) fires once, at its first occurrence.
- **Intervals** (``sync.interval``) are anchored at the Unix epoch, UTC: ``15m`` fires at
  :00, :15, :30 and :45 of every hour, whenever the scheduler started.
- **Jitter** moves every fire time of an integration by the same offset in ``[0, jitter)``,
  derived from a hash of its name: predictable, stable across restarts, and spreading many
  integrations on one schedule over the window. ``auto`` is a tenth of the schedule's
  period (its shortest gap between two fire times), at most five minutes.

Every time in and out is timezone-aware; results are UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from isthmus.config.durations import parse_duration
from isthmus.config.sync import Sync
from isthmus.store import RunStatus, ScheduleState
from isthmus.validation.schedules import IntegrationSchedule, cron_problem

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MAX_AUTO_JITTER = dt.timedelta(minutes=5)
ALREADY_RUNNING = "already_running"
MISSED_COUNT_LIMIT = 1000
"""Missed fire times are counted up to this many (for the log); more count as this many."""

# Wall times tried before concluding that a cron expression fires no more (a 7-field
# expression whose years are over). A per-second schedule crossing a DST gap needs 3600.
_SEARCH_STEPS = 10_000
# Fire times sampled to find a cron schedule's period, from a fixed wall time.
_PERIOD_SAMPLES = 16
_PERIOD_START = dt.datetime(2000, 1, 3)  # a Monday


@dataclass(frozen=True)
class Decision:
    """What to do about one integration now, and the next fire time to store."""

    run: bool
    next_run_at: dt.datetime | None
    fire_time: dt.datetime | None = None
    """The fire time a run serves (the latest one that passed)."""
    missed: int = 0
    """Fire times that passed without a run of their own (counted up to MISSED_COUNT_LIMIT)."""

    @property
    def skipped(self) -> bool:
        """Missed fire times were skipped (policy ``skip``), nothing runs."""
        return not self.run and self.missed > 0


@dataclass(frozen=True)
class Outcome:
    """How one scheduled run ended, as the scheduler recorded it."""

    integration: str
    fire_time: dt.datetime
    status: str
    """A RunStatus value; ``error`` when the run raised before it was recorded;
    ``already_running`` when another run held the integration's lease."""
    run_id: int | None = None
    error: str | None = None
    consecutive_failures: int = 0
    paused: bool = False

    @property
    def failed(self) -> bool:
        return self.status not in (RunStatus.SUCCEEDED, RunStatus.CANCELLED, ALREADY_RUNNING)


@dataclass(frozen=True)
class Tick:
    """What one pass did: runs started, due runs not started (and why), and the runs that
    finished since the previous pass."""

    started: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    finished: tuple[Outcome, ...] = ()


def has_schedule(sync: Sync) -> bool:
    return sync.schedule is not None or sync.interval is not None


def describe(sync: Sync) -> str:
    """The schedule as a person reads it: the cron expression, ``every 15m``, or ``-``."""
    if sync.schedule is not None:
        return sync.schedule
    if sync.interval is not None:
        return f"every {sync.interval}"
    return "-"


def period(sync: Sync) -> dt.timedelta | None:
    """The interval, or the shortest gap between two fire times of the cron expression."""
    if sync.interval is not None:
        return parse_duration(sync.interval)
    if sync.schedule is not None:
        return _cron_period(sync.schedule)
    return None


def jitter_window(sync: Sync) -> dt.timedelta:
    """How far after its scheduled time an integration may start, in whole seconds."""
    if sync.jitter != "auto":
        return parse_duration(sync.jitter)
    length = period(sync)
    if length is None:
        return dt.timedelta(0)
    window = min(length / 10, MAX_AUTO_JITTER)
    return dt.timedelta(seconds=int(window.total_seconds()))


def jitter_offset(sync: Sync, integration: str) -> dt.timedelta:
    """This integration's offset in ``[0, jitter_window)``, fixed by a hash of its name."""
    seconds = int(jitter_window(sync).total_seconds())
    if seconds <= 0:
        return dt.timedelta(0)
    digest = hashlib.sha256(integration.encode("utf-8")).digest()
    return dt.timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def next_fire(sync: Sync, integration: str, after: dt.datetime) -> dt.datetime | None:
    """The first fire time of ``integration`` strictly after ``after`` (UTC), jitter included;
    None when it has no schedule or its cron expression fires no more.

    Raises ValueError for a schedule that validation rejects (``invalid-schedule``).
    """
    _require_aware(after)
    if not has_schedule(sync):
        return None
    offset = jitter_offset(sync, integration)
    base = _next_base(sync, after.astimezone(UTC) - offset)
    return None if base is None else base + offset


def due(
    sync: Sync, integration: str, state_next_run_at: dt.datetime | None, now: dt.datetime
) -> Decision:
    """Whether ``integration`` runs now, given the fire time stored for it.

    - No schedule: never due, nothing stored.
    - Nothing stored yet (first sight) or a stored time still ahead: not due; store the next
      fire time (which is the stored one unless the schedule changed).
    - The stored time has passed, and no later fire time has: run.
    - Several fire times passed (the scheduler was down): ``missed: run_once`` runs once for
      all of them; ``missed: skip`` runs none.

    Either way the fire time to store next is in the future.
    """
    if not has_schedule(sync):
        return Decision(run=False, next_run_at=None)
    upcoming = next_fire(sync, integration, now)  # None once a cron expression's years end
    if state_next_run_at is None or state_next_run_at > now:
        return Decision(run=False, next_run_at=upcoming)
    passed, latest = _passed(sync, integration, state_next_run_at, now)
    if passed == 1:
        return Decision(run=True, next_run_at=upcoming, fire_time=latest)
    if sync.missed == "run_once":
        return Decision(run=True, next_run_at=upcoming, fire_time=latest, missed=passed - 1)
    return Decision(run=False, next_run_at=upcoming, missed=passed)


def in_zone(sync: Sync, moment: dt.datetime) -> dt.datetime:
    """``moment`` on the wall clock of the schedule's timezone."""
    return moment.astimezone(ZoneInfo(sync.timezone))


@dataclass(frozen=True)
class ScheduleView:
    """One integration's schedule and state, as ``isthmus schedule`` shows it."""

    integration: str
    schedule: str | None
    timezone: str | None
    next_run_at: dt.datetime | None
    """UTC; the fire time already passed when ``due`` (the scheduler runs it at its next
    tick); None when paused or without a schedule."""
    due: bool
    paused: bool
    paused_reason: str | None
    consecutive_failures: int
    last_run_id: int | None
    problem: str | None
    """Why the integration cannot be scheduled (it does not resolve, its schedule is
    invalid)."""
    next_run_local: dt.datetime | None = None

    def to_dict(self) -> dict[str, object]:
        def iso(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "integration": self.integration,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "next_run_at": iso(self.next_run_at),
            "next_run_local": iso(self.next_run_local),
            "due": self.due,
            "paused": self.paused,
            "paused_reason": self.paused_reason,
            "consecutive_failures": self.consecutive_failures,
            "last_run_id": self.last_run_id,
            "problem": self.problem,
        }


def view(item: IntegrationSchedule, state: ScheduleState | None, now: dt.datetime) -> ScheduleView:
    """What the scheduler will do next about ``item``, given its stored ``state``."""
    sync = item.sync
    paused = state is not None and state.paused
    moment, is_due = None, False
    if sync is not None and has_schedule(sync) and not paused:
        decision = due(sync, item.name, state.next_run_at if state else None, now)
        moment, is_due = (
            (decision.fire_time, True) if decision.run else (decision.next_run_at, False)
        )
    return ScheduleView(
        integration=item.name,
        schedule=describe(sync) if sync is not None and has_schedule(sync) else None,
        timezone=sync.timezone if sync is not None and has_schedule(sync) else None,
        next_run_at=moment,
        next_run_local=in_zone(sync, moment) if sync is not None and moment else None,
        due=is_due,
        paused=paused,
        paused_reason=state.paused_reason if state else None,
        consecutive_failures=state.consecutive_failures if state else 0,
        last_run_id=state.last_run_id if state else None,
        problem=item.problem,
    )


# --- internals ---------------------------------------------------------------------------


def _passed(
    sync: Sync, integration: str, first: dt.datetime, now: dt.datetime
) -> tuple[int, dt.datetime]:
    """How many fire times passed from ``first`` (included) to ``now``, and the latest."""
    count, latest = 1, first
    while count < MISSED_COUNT_LIMIT:
        following = next_fire(sync, integration, latest)
        if following is None or following > now:
            return count, latest
        count, latest = count + 1, following
    return count, _latest_passed(sync, integration, latest, now)


def _latest_passed(
    sync: Sync, integration: str, floor: dt.datetime, now: dt.datetime
) -> dt.datetime:
    """The latest fire time in ``[floor, now]``, looking back from ``now`` in widening steps
    rather than walking forward from a ``floor`` that may be months ago."""
    window = period(sync) or dt.timedelta(days=1)
    while True:
        probe = max(floor, now - window)
        found = next_fire(sync, integration, probe)
        if found is not None and found <= now:
            while (following := next_fire(sync, integration, found)) is not None and (
                following <= now
            ):
                found = following
            return found
        if probe == floor:
            return floor
        window *= 2


def _next_base(sync: Sync, after: dt.datetime) -> dt.datetime | None:
    if sync.interval is not None:
        step = parse_duration(sync.interval)
        if step <= dt.timedelta(0):
            raise ValueError(f"interval {sync.interval!r} is not positive")
        return EPOCH + ((after - EPOCH) // step + 1) * step
    assert sync.schedule is not None
    return _next_cron(sync.schedule, ZoneInfo(sync.timezone), after)


def _next_cron(expression: str, zone: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    _check_cron(expression)
    # The wall clock as a timeline without DST: croniter steps through it uneventfully.
    wall = after.astimezone(zone).replace(tzinfo=None)
    times = croniter(expression, wall.replace(tzinfo=UTC))
    for _ in range(_SEARCH_STEPS):
        candidate = _wall_step(times)
        if candidate is None:
            return None
        moment = _on_timeline(candidate, zone)
        # Skipped: a wall time that does not exist, or the first occurrence of a repeated
        # wall time that was already behind ``after``.
        if moment is not None and moment > after:
            return moment
    return None


def _wall_step(times: croniter) -> dt.datetime | None:
    try:
        moment = cast(dt.datetime, times.get_next(dt.datetime))
    except CroniterBadDateError:  # no further date matches
        return None
    return moment.replace(tzinfo=None)


def _on_timeline(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall time: its first occurrence, or None if it does not exist."""
    moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return moment


@functools.lru_cache(maxsize=1024)
def _cron_period(expression: str) -> dt.timedelta | None:
    _check_cron(expression)
    times = croniter(expression, _PERIOD_START.replace(tzinfo=UTC))
    walls = [w for w in (_wall_step(times) for _ in range(_PERIOD_SAMPLES)) if w is not None]
    gaps = [later - earlier for earlier, later in itertools.pairwise(walls)]
    return min(gaps) if gaps else None


@functools.lru_cache(maxsize=1024)
def _check_cron(expression: str) -> None:
    problem = cron_problem(expression)
    if problem is not None:
        raise ValueError(problem)


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment} has no timezone; schedules work on aware datetimes")
