"""Retries of a unit of commit: transient failures only, exponential backoff, full jitter.

Whether to retry is decided by the error's type (TransientError), never by its message. The
wait before try n is uniform in [0, min(max_delay, initial_delay * 2^(n-1))] — "full
jitter", so many integrations failing together do not retry together — and at least what
the far side asked for (Retry-After). Retrying stops after ``attempts`` tries or once
``max_elapsed`` has passed. Every try is recorded on the run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from isthmus.config.durations import parse_duration
from isthmus.config.sync import RetryPolicy
from isthmus.errors import IsthmusError, TransientError
from isthmus.execution.clock import Clock
from isthmus.store import AttemptRecord

T = TypeVar("T")


class Attempts:
    """Runs a unit of commit with retries, and records each try through ``record``."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        record: Callable[[AttemptRecord], None],
        *,
        rng: random.Random | None = None,
    ):
        self.policy = policy
        self.clock = clock
        self.record = record
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.initial = parse_duration(policy.initial_delay).total_seconds()
        self.max_delay = parse_duration(policy.max_delay).total_seconds()
        self.max_elapsed = parse_duration(policy.max_elapsed).total_seconds()

    def run(self, scope: str, unit: Callable[[], T]) -> T:
        started = self.clock.monotonic()
        began = [self.clock.now()]

        def attempt() -> T:
            began[0] = self.clock.now()
            return unit()

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else None
            self.record(
                AttemptRecord(
                    state.attempt_number,
                    scope,
                    began[0],
                    self.clock.now(),
                    _message(error),
                    _class(error),
                    wait,
                )
            )

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.policy.attempts) | self._stop_after_elapsed(started),
            wait=self._wait,
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            result = retrying(attempt)
        except BaseException as exc:
            number = int(retrying.statistics.get("attempt_number", 1))
            self.record(
                AttemptRecord(
                    number, scope, began[0], self.clock.now(), _message(exc), _class(exc), None
                )
            )
            raise
        number = int(retrying.statistics.get("attempt_number", 1))
        self.record(AttemptRecord(number, scope, began[0], self.clock.now(), None, None, None))
        return result

    def _stop_after_elapsed(self, started: float) -> _StopAfterElapsed:
        return _StopAfterElapsed(self.clock, started, self.max_elapsed)

    def _wait(self, state: RetryCallState) -> float:
        ceiling = min(self.max_delay, self.initial * 2 ** (state.attempt_number - 1))
        wait = self.rng.uniform(0, ceiling)
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        return max(wait, float(asked)) if asked is not None else wait


class _StopAfterElapsed(stop_base):
    """tenacity's stop_after_delay reads the real clock; this one reads the injected one."""

    def __init__(self, clock: Clock, started: float, limit: float) -> None:
        self.clock = clock
        self.started = started
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.clock.monotonic() - self.started >= self.limit


def _message(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, IsthmusError):
        return error.message
    return f"{type(error).__name__}: {error}"


def _class(error: BaseException | None) -> str | None:
    if error is None:
        return None
    return str(error.error_class) if isinstance(error, IsthmusError) else "internal"
