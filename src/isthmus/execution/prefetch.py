"""Read and map the next batches while the current one loads.

A background thread pulls batches from the source and maps them (Polars releases the GIL
while it parses and computes); the thread that holds the transaction takes them strictly in
source order and loads them (the database driver works in C, too). So both cores work, and
at most ``depth`` mapped batches wait in memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from isthmus.execution.profile import Profile

T = TypeVar("T")
U = TypeVar("U")

_DONE = object()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


class Prefetched(Generic[T, U]):
    """Iterates ``work(item)`` for each item of ``items``, computed ahead in a thread."""

    def __init__(
        self, items: Iterator[T], work: Callable[[T], U], *, depth: int, profile: Profile
    ) -> None:
        self._items = items
        self._work = work
        self._profile = profile
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while not self._stop.is_set():
                with self._profile.stage("extract"):
                    item = next(self._items, _DONE)
                if item is _DONE:
                    break
                with self._profile.stage("map and check"):
                    done = self._work(item)  # type: ignore[arg-type]
                self._put((item, done))
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Failure(exc))
            return
        self._put(_DONE)

    def _put(self, value: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[T, U]]:
        try:
            while True:
                with self._profile.stage("waiting for batches"):
                    value = self._queue.get()
                if value is _DONE:
                    return
                if isinstance(value, _Failure):
                    raise value.error
                yield value  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (it may be mid-batch: that batch is dropped) and wait for it."""
        self._stop.set()
        self._thread.join(timeout=60)
