"""Units of commit: the whole run in one transaction, or each stream in its own.

Each unit is tried again when it fails transiently (see ``attempts.py``); a unit that fails
for good rolls back, so the destination holds exactly what it held before that unit. With
``commit: stream``, independent streams may run at the same time, and a stream whose
dependency failed is skipped with that reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from isthmus.connectors.base import Checkpoint, Destination, Transaction
from isthmus.errors import IsthmusError
from isthmus.execution.errors import RunCancelledError, RunTimedOutError
from isthmus.execution.failpoints import failpoint
from isthmus.execution.profile import Profile
from isthmus.store.errors import LeaseLostError
from isthmus.store.models import StreamStatus

# Errors that end the whole run, not just the stream that met them.
RUN_ENDING = (RunCancelledError, RunTimedOutError, LeaseLostError)


class Scopes:
    """Runs streams in units of commit. ``stream_body(name, transaction)`` writes one stream
    and returns its checkpoint (or None); ``on_committed(checkpoints)`` runs after a commit;
    ``attempt(scope, streams, unit)`` runs a unit with retries; ``confirm()`` is called right before
    each commit; ``mark(name, status, reason)`` records a stream's outcome."""

    def __init__(
        self,
        destination: Destination,
        *,
        profile: Profile,
        stream_body: Callable[[str, Transaction], Checkpoint | None],
        on_committed: Callable[[dict[str, Checkpoint]], None],
        attempt: Callable[[str, list[str], Callable[[], None]], None],
        confirm: Callable[[], None],
        mark: Callable[[str, StreamStatus, str | None], None],
    ) -> None:
        self.destination = destination
        self.profile = profile
        self.stream_body = stream_body
        self.on_committed = on_committed
        self.attempt = attempt
        self.confirm = confirm
        self.mark = mark

    def commit_unit(self, names: list[str]) -> None:
        """Write ``names`` in one transaction and commit; roll back on any failure."""
        transaction = self.destination.begin()
        checkpoints: dict[str, Checkpoint] = {}
        try:
            for name in names:
                token = self.stream_body(name, transaction)
                if token is not None:
                    checkpoints[name] = token
                failpoint("stream-done")
            self.confirm()
            failpoint("before-commit")
            with self.profile.stage("commit"):
                transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        failpoint("after-commit")
        with self.profile.stage("bookkeeping"):
            self.on_committed(checkpoints)

    def run_as_one(self, order: list[str]) -> None:
        """commit: run — every stream in one transaction; the first failure ends the run."""
        try:
            self.attempt("run", order, lambda: self.commit_unit(order))
        except BaseException:
            for name in order:
                self.mark(name, StreamStatus.SKIPPED, "the run's transaction was rolled back")
            raise

    def run_each(
        self, order: list[str], depends_on: dict[str, frozenset[str]], concurrency: int
    ) -> list[BaseException]:
        """commit: stream — each stream in its own transaction; failures are collected."""
        return _StreamScheduler(self, order, depends_on, concurrency).run()


class _StreamScheduler:
    def __init__(
        self,
        scopes: Scopes,
        order: list[str],
        depends_on: dict[str, frozenset[str]],
        concurrency: int,
    ) -> None:
        self.scopes = scopes
        self.pending = list(order)
        self.depends_on = depends_on
        self.concurrency = concurrency
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()

    def run(self) -> list[BaseException]:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="stream") as pool:
            running: dict[Future[None], str] = {}
            while self.pending or running:
                self._skip_blocked()
                for name in self._ready(len(running)):
                    running[pool.submit(self._one, name)] = name
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._collect(running.pop(future), future)
        return self.errors

    def _ready(self, busy: int) -> list[str]:
        if self.stopping.is_set():
            return []
        ready = [n for n in self.pending if self.depends_on.get(n, frozenset()) <= self.done]
        chosen = ready[: max(self.concurrency - busy, 0)]
        for name in chosen:
            self.pending.remove(name)
        return chosen

    def _skip_blocked(self) -> None:
        for name in list(self.pending):
            blocked = self.depends_on.get(name, frozenset()) & self.failed
            if blocked or self.stopping.is_set():
                self.pending.remove(name)
                self.failed.add(name)
                reason = (
                    f"its dependency {', '.join(sorted(blocked))} failed"
                    if blocked
                    else "the run stopped before it started"
                )
                self.scopes.mark(name, StreamStatus.SKIPPED, reason)

    def _one(self, name: str) -> None:
        self.scopes.attempt(name, [name], lambda: self.scopes.commit_unit([name]))

    def _collect(self, name: str, future: Future[None]) -> None:
        error = future.exception()
        if error is None:
            self.done.add(name)
            return
        self.failed.add(name)
        self.errors.append(error)
        if isinstance(error, RUN_ENDING) or not isinstance(error, IsthmusError):
            self.stopping.set()
