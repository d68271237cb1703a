"""Check an integration's schedule statically: a cron expression that parses and fires, an
interval longer than nothing.

Used for every template version (located in the template file) and for every resolved
integration (located at the integration's override when it overrides the schedule).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from isthmus.config.documents import Locator, PathKey
from isthmus.config.durations import parse_duration
from isthmus.config.project import Project
from isthmus.config.resolve import resolve
from isthmus.config.sync import Sync
from isthmus.diagnostics import Diagnostic

INVALID_SCHEDULE = "invalid-schedule"
CRON_HINT = (
    "write five fields: minute hour day-of-month month day-of-week, e.g. '*/30 * * * *' "
    "(every 30 minutes) or '0 6 * * 1-5' (06:00 on weekdays)"
)
# Where "does it ever fire" is asked from: any fixed time, so the check is reproducible.
_PROBE_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a usable cron schedule, or None when it is."""
    # croniter (with dateutil) takes about 50 ms to import: only integrations with a
    # schedule pay for it.
    from croniter import CroniterBadCronError, CroniterBadDateError, croniter  # noqa: PLC0415

    try:
        croniter(expression, _PROBE_START).get_next(dt.datetime)
    except CroniterBadCronError as exc:
        return f"{expression!r} is not a cron expression: {_reason(exc)}"
    except CroniterBadDateError:
        return f"{expression!r} never fires (no date matches it, e.g. 30 February)"
    return None


def check_schedule(sync: Sync, locator: Locator, base_path: PathKey) -> list[Diagnostic]:
    """Diagnostics (code ``invalid-schedule``) for the schedule of ``sync``, which was written
    at ``base_path`` (e.g. ``("sync",)``) of ``locator``'s file."""
    problems = []
    if sync.schedule is not None:
        problem = cron_problem(sync.schedule)
        if problem is not None:
            problems.append(
                Diagnostic(
                    INVALID_SCHEDULE,
                    f"sync.schedule: {problem}",
                    locator.location((*base_path, "schedule")),
                    hint=CRON_HINT,
                )
            )
    if sync.interval is not None and parse_duration(sync.interval) <= dt.timedelta(0):
        problems.append(
            Diagnostic(
                INVALID_SCHEDULE,
                f"sync.interval: {sync.interval!r} would run without pause",
                locator.location((*base_path, "interval")),
                hint="give a positive interval such as 15m, or remove it to run only on demand",
            )
        )
    return problems


def _reason(error: Exception) -> str:
    text = str(error)
    # croniter repeats the expression in brackets before the reason: keep only the reason.
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    return text.rstrip(".")


@dataclass(frozen=True)
class IntegrationSchedule:
    """An integration's resolved sync settings, or why it cannot be scheduled."""

    name: str
    sync: Sync | None
    problem: str | None = None


def integration_schedules(project: Project) -> list[IntegrationSchedule]:
    """Every loaded integration, by name, with the sync settings its resolved template gives
    it; one that does not resolve, or whose schedule is invalid, carries the first problem."""
    found = []
    for name in sorted(project.integrations):
        resolved, problems = resolve(project, name)
        if resolved is not None:
            sync = resolved.template.sync
            problems = [*problems, *check_schedule(sync, resolved.locator, ("sync",))]
        errors = [p for p in problems if p.is_error]
        if resolved is None or errors:
            first = errors[0] if errors else None
            problem = f"{first.location}: {first.message}" if first else "it does not resolve"
            found.append(IntegrationSchedule(name, None, problem))
        else:
            found.append(IntegrationSchedule(name, resolved.template.sync))
    return found
