"""Where a run's time goes, stage by stage: `isthmus run --profile` prints it.

Timing a stage costs two clock reads per batch, nothing per record. Stages that overlap (the
next batch is read and mapped while the current one loads) each count their own time, so
their sum can pass the wall time; "waiting for batches" is the time the load stood idle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Profile:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = self._monotonic()
        try:
            yield
        finally:
            elapsed = self._monotonic() - started
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    def merged(self, other: Profile) -> None:
        with self._lock:
            for name, seconds in other.seconds.items():
                self.seconds[name] = self.seconds.get(name, 0.0) + seconds
