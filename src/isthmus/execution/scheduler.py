"""The scheduler: run each integration when its schedule says, a few at a time, stop cleanly.

One pass, :meth:`Scheduler.tick`, reloads the project when its files changed, deletes
quarantined records past ``quarantine.retention_days`` (at most once an hour), and starts
every due integration that is neither paused nor already running, up to
``scheduler.max_concurrent_runs`` at once, each in a worker thread with trigger
``schedule``. A run's outcome feeds the circuit breaker: after
``sync.max_consecutive_failures`` failed runs in a row the integration is paused, with a
reason naming the count, the last run and its error, until it is resumed.

Shutdown (:meth:`Scheduler.request_shutdown`, on SIGTERM or SIGINT): the first request
starts no more runs and waits for the running ones; the second asks them, through
``RunSettings.should_stop``, to stop at their next batch boundary, roll back and release
their leases.

Logs (structlog, ``isthmus.scheduler``) name integrations, run ids, statuses and errors:
never a secret, never a record's value.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import Any

from isthmus.config.durations import parse_duration
from isthmus.config.models import ProjectFile
from isthmus.config.project import (
    CORE_DIR,
    INTEGRATIONS_DIR,
    PROJECT_FILE,
    TEMPLATES_DIR,
    Project,
    load_project,
)
from isthmus.errors import ErrorClass, IsthmusError, ValidationFailedError
from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.models import RunReport
from isthmus.execution.preparation import RunSettings, database_urls
from isthmus.execution.runner import run_integration
from isthmus.execution.schedule import ALREADY_RUNNING, Outcome, Tick, due
from isthmus.logs import get_logger
from isthmus.store import QuarantineFilter, RunStatus, ScheduleState, StateStore
from isthmus.validation.schedules import IntegrationSchedule, integration_schedules

RunCallable = Callable[[Project, str, RunSettings], RunReport]
STOP_REASON = "the scheduler is shutting down: a second stop signal asked running runs to stop"
RETENTION_EVERY_S = 3600.0
SHUTDOWN_POLL_S = 1.0  # how often a draining scheduler looks at its running runs
SLEEP_SLICE_S = 1.0  # the longest sleep between two looks at a shutdown request
MAX_WORKERS = 64  # SchedulerSettings.max_concurrent_runs is at most this


class Scheduler:
    """Runs a project's integrations on their schedules (see the module's docstring).

    ``run`` is the engine, ``run_integration`` by default; tests pass a fake. Raises an
    IsthmusError when the project or its state store cannot be opened at all.
    """

    def __init__(
        self, project_root: Path, *, clock: Clock | None = None, run: RunCallable | None = None
    ) -> None:
        self.root = project_root
        self.clock = clock or SystemClock()
        self._run = run or run_integration
        self._log: Any = get_logger("isthmus.scheduler")
        self._lock = threading.Lock()
        self._running: dict[str, Future[Outcome]] = {}
        self._shutdown_requests = 0
        self._announced = 0
        self._last_retention: float | None = None
        self._fingerprint = fingerprint(project_root)
        self._project = load_for_scheduling(project_root)
        self._plan = self._plan_of(self._project)
        self._state_url = database_urls(self._project).state
        self._store = StateStore.open(self._state_url)
        # Sized for the largest limit the project file allows: threads start only as runs
        # need them, and the limit (which a reload may change) is kept by _consider.
        self._pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="isthmus-run")

    # --- public --------------------------------------------------------------------------

    def tick(self) -> Tick:
        """One pass: reload, retention, start due runs. One integration's error never stops
        it; only an unreachable state store does."""
        self._announce_shutdown()
        finished = self._reap()
        self._reload_if_changed()
        now = self.clock.now()
        self._apply_retention(now)
        started: list[str] = []
        skipped: list[tuple[str, str]] = []
        if not self.shutting_down:
            states = self._store.schedule_states()
            for item in self._longest_waiting_first(states):
                try:
                    why = self._consider(item, states.get(item.name), now, started)
                except Exception as exc:  # one integration's trouble is not the others'
                    why = f"could not be considered: {type(exc).__name__}"
                    self._log.error("scheduler.consider_failed", integration=item.name, error=why)
                if why is not None:
                    skipped.append((item.name, why))
        return Tick(tuple(started), tuple(skipped), tuple(finished))

    def run_forever(self, on_tick: Callable[[Tick], None] | None = None) -> None:
        """Tick every ``scheduler.tick`` until asked to shut down; then wait for the running
        runs (which a second request stops), and close. ``on_tick`` sees every pass, and a
        last one with the runs that finished while shutting down."""
        self._log.info("scheduler.started", project=str(self.root), integrations=len(self._plan))
        report = on_tick or (lambda _tick: None)
        try:
            while not self.shutting_down:
                try:
                    report(self.tick())
                except Exception as exc:  # e.g. the state store is briefly unreachable
                    first = str(exc).splitlines()[0] if str(exc) else ""
                    self._log.error("scheduler.tick_failed", error=f"{type(exc).__name__}: {first}")
                self._sleep(parse_duration(self._settings.scheduler.tick).total_seconds())
            self._finish_running()
            report(Tick(finished=tuple(self._reap())))
        finally:
            self.close()
        self._log.info("scheduler.stopped")

    def drain(self, timeout: float | None = None) -> list[Outcome]:
        """Wait for the running runs to finish; the outcomes no tick has reported yet."""
        with self._lock:
            futures = list(self._running.values())
        wait(futures, timeout=timeout)
        return self._reap()

    def request_shutdown(self) -> None:
        """The first request starts no new run; the second asks running runs to stop.
        Safe in a signal handler: it only counts."""
        self._shutdown_requests += 1

    @property
    def shutting_down(self) -> bool:
        return self._shutdown_requests >= 1

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT request a shutdown (call it from the main thread)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(name for name, future in self._running.items() if not future.done())

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._store.close()

    # --- deciding ------------------------------------------------------------------------

    def _consider(
        self,
        item: IntegrationSchedule,
        state: ScheduleState | None,
        now: dt.datetime,
        started: list[str],
    ) -> str | None:
        """Start ``item`` if it is due; why not, when it is due and does not start."""
        assert item.sync is not None
        limit = self._settings.scheduler.max_concurrent_runs
        with self._lock:
            busy, full = item.name in self._running, len(self._running) >= limit
        if busy or (state is not None and state.paused):
            return None
        stored = state.next_run_at if state else None
        decision = due(item.sync, item.name, stored, now)
        if decision.run and full:
            # Its fire time stays stored: it starts at a later tick, when a run finished.
            return "at the limit of concurrent runs"
        if decision.next_run_at != stored:
            self._store.set_next_run(item.name, decision.next_run_at)
        if decision.skipped:
            self._log.warning(
                "scheduler.missed_skipped", integration=item.name, missed=decision.missed
            )
            return f"skipped {decision.missed} missed fire time(s) (missed: skip)"
        if not decision.run or decision.fire_time is None:
            return None
        if self._held_elsewhere(item.name, now):
            return "already running: another run holds its lease"
        if decision.missed:
            self._log.info(
                "scheduler.missed_run_once", integration=item.name, missed=decision.missed
            )
        self._start(item, decision.fire_time)
        started.append(item.name)
        return None

    def _start(self, item: IntegrationSchedule, fire_time: dt.datetime) -> None:
        self._log.info("scheduler.run_started", integration=item.name, fire_time=str(fire_time))
        with self._lock:
            self._running[item.name] = self._pool.submit(
                self._execute, self._project, item, fire_time
            )

    def _held_elsewhere(self, name: str, now: dt.datetime) -> bool:
        holder = self._store.lease_holder(name)
        if holder is None or holder[2] <= now:
            return False
        self._log.info("scheduler.already_running", integration=name, run=holder[0])
        return True

    # --- running and recording (in worker threads) ---------------------------------------

    def _execute(
        self, project: Project, item: IntegrationSchedule, fire_time: dt.datetime
    ) -> Outcome:
        """Run, record the outcome, trip the breaker. Never raises."""
        name = item.name
        settings = RunSettings(trigger="schedule", clock=self.clock, should_stop=self._stop_reason)
        try:
            try:
                report = self._run(project, name, settings)
            except Exception as exc:  # it did not validate, a secret is missing, a bug…
                return self._record(item, fire_time, None, "error", *_raised(exc))
            if report.status is RunStatus.CANCELLED:  # stopped on purpose: not a failure
                self._log.info("scheduler.run_cancelled", integration=name, run=report.run_id)
                return Outcome(name, fire_time, str(report.status), report.run_id, report.error)
            if self._lease_refused(name, report):
                self._log.info("scheduler.already_running", integration=name, run=report.run_id)
                return Outcome(name, fire_time, ALREADY_RUNNING, report.run_id)
            return self._record(
                item, fire_time, report.run_id, str(report.status), report.error, report.error_class
            )
        except Exception as exc:  # the state store failed while recording
            self._log.error(
                "scheduler.record_failed", integration=name, error_type=type(exc).__name__
            )
            return Outcome(name, fire_time, "error", error=type(exc).__name__)

    def _record(
        self,
        item: IntegrationSchedule,
        fire_time: dt.datetime,
        run_id: int | None,
        status: str,
        error: str | None,
        error_class: str | None,
    ) -> Outcome:
        """Count the outcome (a success resets the count) and trip the breaker."""
        failed = status != RunStatus.SUCCEEDED
        count = self._store.record_outcome(item.name, run_id=run_id, failed=failed)
        error = error if failed else None
        paused = failed and self._trip_breaker(item, count, run_id, error)
        (self._log.warning if failed else self._log.info)(
            "scheduler.run_failed" if failed else "scheduler.run_succeeded",
            integration=item.name,
            run=run_id,
            status=status,
            error=_loggable(error, error_class),
            consecutive_failures=count,
        )
        return Outcome(item.name, fire_time, status, run_id, error, count, paused)

    def _trip_breaker(
        self, item: IntegrationSchedule, count: int, run_id: int | None, error: str | None
    ) -> bool:
        assert item.sync is not None
        limit = item.sync.max_consecutive_failures
        if limit == 0 or count < limit:
            return False
        last = (
            f"the last, run {run_id}," if run_id is not None else "the last, which never started,"
        )
        reason = f"paused after {count} consecutive failed runs; {last} failed: {error or '-'}"
        self._store.set_paused(item.name, paused=True, reason=reason, at=self.clock.now())
        self._log.warning(
            "scheduler.paused",
            integration=item.name,
            consecutive_failures=count,
            run=run_id,
            hint=f"fix the cause, then `isthmus resume {item.name}`",
        )
        return True

    def _lease_refused(self, name: str, report: RunReport) -> bool:
        """The run was refused because another run of the integration holds the lease."""
        return report.refused_by is not None

    def _stop_reason(self) -> str | None:
        return STOP_REASON if self._shutdown_requests >= 2 else None

    def _reap(self) -> list[Outcome]:
        """The outcomes of runs that finished since the last look; they stop counting as
        running."""
        with self._lock:
            done = [name for name, future in self._running.items() if future.done()]
            futures = [self._running.pop(name) for name in done]
        return [f.result() for f in futures if not f.cancelled() and f.exception() is None]

    # --- the project, housekeeping, shutdown --------------------------------------------

    @property
    def _settings(self) -> ProjectFile:
        assert self._project.settings is not None
        return self._project.settings.model

    def _plan_of(self, project: Project) -> list[IntegrationSchedule]:
        plan = integration_schedules(project)
        for item in plan:
            if item.problem is not None:
                self._log.warning(
                    "scheduler.unschedulable", integration=item.name, problem=item.problem
                )
        return [item for item in plan if item.sync is not None]

    def _longest_waiting_first(self, states: dict[str, ScheduleState]) -> list[IntegrationSchedule]:
        never = dt.datetime.max.replace(tzinfo=dt.UTC)

        def waiting_since(item: IntegrationSchedule) -> tuple[dt.datetime, str]:
            state = states.get(item.name)
            return (state.next_run_at if state and state.next_run_at else never, item.name)

        return sorted(self._plan, key=waiting_since)

    def _reload_if_changed(self) -> None:
        current = fingerprint(self.root)
        if current == self._fingerprint:
            return
        self._fingerprint = current  # a broken edit is reported once, not at every tick
        try:
            project = load_for_scheduling(self.root)
        except IsthmusError as exc:
            self._log.error("scheduler.reload_failed", error=exc.message, hint=exc.hint)
            return
        if database_urls(project).state != self._state_url:
            self._log.error(
                "scheduler.reload_failed",
                error="state.database changed; the scheduler keeps the state store it started with",
                hint="restart the scheduler to use the new state store",
            )
            return
        self._project, self._plan = project, self._plan_of(project)
        self._log.info("scheduler.reloaded", integrations=len(self._plan))

    def _apply_retention(self, now: dt.datetime) -> None:
        moment = self.clock.monotonic()
        if self._last_retention is not None and moment - self._last_retention < RETENTION_EVERY_S:
            return
        self._last_retention = moment
        days = self._settings.quarantine.retention_days
        selection = QuarantineFilter(older_than=now - dt.timedelta(days=days), status=None)
        try:
            purged = self._store.purge_quarantine(selection)
        except IsthmusError as exc:
            self._log.error("scheduler.retention_failed", error=exc.message)
            return
        if purged:
            self._log.info("scheduler.retention", purged=purged, retention_days=days)

    def _sleep(self, seconds: float) -> None:
        """Sleep between ticks in slices, so a shutdown request is noticed within a second."""
        remaining = seconds
        while remaining > 0 and not self.shutting_down:
            step = min(SLEEP_SLICE_S, remaining)
            self.clock.sleep(step)
            remaining -= step

    def _finish_running(self) -> None:
        while True:
            self._announce_shutdown()
            with self._lock:
                futures = [f for f in self._running.values() if not f.done()]
            if not futures:
                return
            # A wait on the runs' threads, not on the clock: it returns when a run ends.
            wait(futures, timeout=SHUTDOWN_POLL_S, return_when=FIRST_COMPLETED)

    def _announce_shutdown(self) -> None:
        # Logged here, not in the signal handler: a handler must not take the log's lock.
        requests = self._shutdown_requests
        if requests == self._announced:
            return
        self._announced = requests
        running = self.running()
        if requests == 1:
            # A warning while runs go on: whoever stops the scheduler learns why it waits.
            (self._log.warning if running else self._log.info)(
                "scheduler.draining",
                running=running,
                hint="a second signal stops running runs at their next batch",
            )
        else:
            self._log.warning("scheduler.stopping_runs", running=running)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request_shutdown()


def load_for_scheduling(root: Path) -> Project:
    """The project, or an error when not even its project file loads."""
    project = load_project(root)
    if project.settings is None:
        problems = [d for d in project.diagnostics if d.is_error]
        raise ValidationFailedError(
            f"{root / PROJECT_FILE} does not load, so there is nothing to schedule",
            [d for d in problems if d.location and d.location.file.name == PROJECT_FILE]
            or problems,
            hint="fix the errors below (`isthmus validate` lists them all)",
        )
    return project


def fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Path, modification time and size of every project file: a change means reload."""
    paths = [root / PROJECT_FILE]
    for folder in (CORE_DIR, TEMPLATES_DIR, INTEGRATIONS_DIR):
        if (root / folder).is_dir():
            paths += [p for p in (root / folder).rglob("*") if p.suffix in (".yaml", ".yml")]
    found = []
    for path in sorted(paths):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _raised(error: Exception) -> tuple[str, str]:
    """Message and class of an error a run raised; only the type of an unexpected one, whose
    text may quote a record's value."""
    if isinstance(error, IsthmusError):
        return error.message, str(error.error_class)
    return f"internal error: {type(error).__name__}", str(ErrorClass.INTERNAL)


def _loggable(error: str | None, error_class: str | None) -> str | None:
    """An error as a log may show it: an internal error's text may quote a record."""
    if error is None or error_class != str(ErrorClass.INTERNAL):
        return error
    return "internal error (the run record has the details)"
