"""Keeps a run honest while it runs: its lease, cancellation, timeout and shutdown.

The lease is renewed by a heartbeat thread, so a slow batch never loses it; the run checks
:meth:`RunGuard.check` at every batch boundary and :meth:`RunGuard.confirm` right before it
commits, so a run that lost its lease, was cancelled or ran out of time rolls back.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Callable

from isthmus.errors import IsthmusError
from isthmus.execution.clock import Clock
from isthmus.execution.errors import RunCancelledError, RunTimedOutError
from isthmus.store import StateStore

DEFAULT_LEASE_TTL = dt.timedelta(minutes=10)
CANCEL_POLL_SECONDS = 1.0


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RunGuard:
    def __init__(
        self,
        store: StateStore,
        integration: str,
        run_id: int,
        clock: Clock,
        *,
        ttl: dt.timedelta,
        timeout: dt.timedelta | None,
        should_stop: Callable[[], str | None] | None,
    ) -> None:
        self.store = store
        self.integration = integration
        self.run_id = run_id
        self.clock = clock
        self.ttl = ttl
        self.timeout = timeout
        self.should_stop = should_stop
        self.started = clock.monotonic()
        self.last_poll = float("-inf")
        self.problem: IsthmusError | None = None  # set by the heartbeat thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take the lease (LeaseHeldError if another run has it) and start the heartbeat."""
        self.store.acquire_lease(
            self.integration,
            run_id=self.run_id,
            owner=owner_name(),
            now=self.clock.now(),
            ttl=self.ttl,
        )
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.run_id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        # Real seconds between beats: a fake clock in tests must not spin this loop.
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            try:
                self.store.renew_lease(
                    self.integration, run_id=self.run_id, now=self.clock.now(), ttl=self.ttl
                )
            except IsthmusError as exc:
                self.problem = exc
                return

    def check(self) -> None:
        """Raise if the run must stop now: lease lost, cancelled, timed out, shutting down."""
        if self.problem is not None:
            raise self.problem
        if (
            self.timeout is not None
            and self.clock.monotonic() - self.started > self.timeout.total_seconds()
        ):
            raise RunTimedOutError(
                f"run {self.run_id} took longer than its timeout of {self.timeout}",
                hint="raise sync.timeout, or make the run smaller (fewer streams, "
                "incremental reads)",
            )
        if self.should_stop is not None:
            reason = self.should_stop()
            if reason:
                raise RunCancelledError(f"run {self.run_id} stopped: {reason}")
        now = self.clock.monotonic()
        if now - self.last_poll >= CANCEL_POLL_SECONDS:
            self.last_poll = now
            if self.store.heartbeat(self.run_id, self.clock.now()):
                raise RunCancelledError(
                    f"run {self.run_id} was cancelled on request",
                    hint="run it again when you are ready",
                )

    def confirm(self) -> None:
        """Right before committing: the lease must still be ours."""
        self.check()
        self.store.renew_lease(
            self.integration, run_id=self.run_id, now=self.clock.now(), ttl=self.ttl
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.release_lease(self.integration, run_id=self.run_id)
