"""Guardrails on when and how strictly an integration runs: schedule frequency, and the
ceiling of an overridden rejection threshold."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import lru_cache

from isthmus.config.durations import parse_duration
from isthmus.config.policy import Policy
from isthmus.config.resolve import ResolvedIntegration
from isthmus.validation.guardrails.rules import RULES, Violation
from isthmus.validation.schedules import cron_problem

# Cron gaps are measured over a fixed window, so the check is reproducible.
_PROBE_START = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
_PROBE_FIRINGS = 400


@lru_cache(maxsize=256)  # every integration of a template asks about the same schedule
def shortest_cron_gap(expression: str) -> dt.timedelta | None:
    """The shortest time between two firings of ``expression`` (None if it does not parse)."""
    if cron_problem(expression) is not None:
        return None
    from croniter import croniter  # noqa: PLC0415 - loaded only when a schedule is checked

    times = croniter(expression, _PROBE_START)
    fired: list[dt.datetime] = [times.get_next(dt.datetime) for _ in range(_PROBE_FIRINGS)]
    gaps: list[dt.timedelta] = [b - a for a, b in itertools.pairwise(fired)]
    return min(gaps)


def schedule_min_interval(resolved: ResolvedIntegration, policy: Policy) -> list[Violation]:
    rule = RULES["schedule-min-interval"]
    minimum_text = policy.schedule_min_interval.min_interval
    minimum = parse_duration(minimum_text)
    sync = resolved.template.sync
    found = []
    if sync.schedule is not None:
        gap = shortest_cron_gap(sync.schedule)
        if gap is not None and gap < minimum:
            found.append(
                Violation(
                    rule,
                    "sync.schedule",
                    f"sync.schedule {sync.schedule!r} fires every {_minutes(gap)}, more often "
                    f"than the policy's minimum of {minimum_text}: {rule.why}",
                    resolved.locator.location(("sync", "schedule")),
                )
            )
    if sync.interval is not None:
        every = parse_duration(sync.interval)
        if dt.timedelta(0) < every < minimum:
            found.append(
                Violation(
                    rule,
                    "sync.interval",
                    f"sync.interval {sync.interval} is shorter than the policy's minimum of "
                    f"{minimum_text}: {rule.why}",
                    resolved.locator.location(("sync", "interval")),
                )
            )
    return found


def _minutes(gap: dt.timedelta) -> str:
    seconds = int(gap.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def rejected_fraction_ceiling(resolved: ResolvedIntegration, policy: Policy) -> list[Violation]:
    rule = RULES["max-rejected-fraction-ceiling"]
    ceiling = policy.max_rejected_fraction_ceiling.ceiling
    path = ("sync", "max_rejected_fraction")
    value = resolved.template.sync.max_rejected_fraction
    if not resolved.locator.overridden(path) or value <= ceiling:
        return []
    return [
        Violation(
            rule,
            "sync.max_rejected_fraction",
            f"integration {resolved.name!r} raises sync.max_rejected_fraction to {value}, above "
            f"the policy's ceiling of {ceiling}: {rule.why}",
            resolved.locator.location(path),
        )
    ]
