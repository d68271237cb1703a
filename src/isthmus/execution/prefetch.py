"""Read and map the next batches while the current one loads.

Worker threads take the source's items strictly in order (one at a time) and map them in
parallel (Polars releases the GIL while it parses and computes); the thread that holds the
transaction takes the results strictly in source order and loads them (the database driver
works in C, too). So every core works, and at most ``depth`` items are read but not yet
taken by the loader.

Work comes in two steps: ``work`` (the heavy one) always runs on a worker; ``complete`` runs
on the worker too, unless the loader already stands idle waiting for that very item. Then
the loader completes it itself: a fast load takes over the tail of the mapping instead of
waiting for it, and a slow load (which never waits) leaves all of it to the workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from isthmus.execution.profile import Profile

T = TypeVar("T")
P = TypeVar("P")
U = TypeVar("U")

_DONE = object()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


@dataclass(frozen=True)
class _Unfinished:
    """An item's ``work`` result, handed to the waiting loader to ``complete``."""

    partial: object


class Prefetched(Generic[T, P, U]):
    """Iterates ``complete(work(item))`` for each item of ``items``, in order, computed ahead
    by ``workers`` threads."""

    def __init__(
        self,
        items: Iterator[T],
        work: Callable[[T], P],
        complete: Callable[[P], U],
        *,
        depth: int,
        workers: int,
        profile: Profile,
    ) -> None:
        self._items = items
        self._work = work
        self._complete = complete
        self._depth = max(depth, workers)
        self._profile = profile
        self._reading = threading.Lock()  # one reader at a time keeps the source in order
        self._changed = threading.Condition()
        self._results: dict[int, object] = {}
        self._next = 0  # sequence number of the next item to read
        self._taken = 0  # sequence number of the next result the loader takes
        self._loader_waiting = False  # the loader stands idle until result _taken comes
        self._exhausted = False
        self._stop = False
        self._threads = [
            threading.Thread(target=self._produce, name=f"prefetch-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _produce(self) -> None:
        while True:
            with self._reading:
                with self._changed:
                    while not self._stop and self._next >= self._taken + self._depth:
                        self._changed.wait()
                    if self._stop or self._exhausted:
                        return
                    number = self._next
                    self._next += 1
                try:
                    with self._profile.stage("extract"):
                        item = next(self._items, _DONE)
                except BaseException as exc:  # handed to the loader, which raises it
                    self._finish(number, _Failure(exc))
                    return
                if item is _DONE:
                    self._finish(number, _DONE)
                    return
            self._put(number, self._made(number, item))  # type: ignore[arg-type]
            # Nothing of this batch may stay on the thread's stack while it reads and
            # parses the next one: that would be one batch more in memory.
            del item

    def _made(self, number: int, item: T) -> object:
        """Item ``number`` worked, and completed unless the loader waits to complete it."""
        try:
            with self._profile.stage("map and check"):
                partial = self._work(item)
                return _Unfinished(partial) if self._awaited(number) else self._complete(partial)
        except BaseException as exc:
            return _Failure(exc)

    def _awaited(self, number: int) -> bool:
        """Whether the loader stands idle waiting for item ``number``."""
        with self._changed:
            return self._loader_waiting and self._taken == number

    def _finish(self, number: int, value: object) -> None:
        with self._changed:
            self._exhausted = True
        self._put(number, value)

    def _put(self, number: int, value: object) -> None:
        with self._changed:
            self._results[number] = value
            self._changed.notify_all()

    def __iter__(self) -> Iterator[U]:
        try:
            while True:
                with self._profile.stage("waiting for batches"), self._changed:
                    self._loader_waiting = True
                    while self._taken not in self._results:
                        self._changed.wait()
                    self._loader_waiting = False
                    value = self._results.pop(self._taken)
                    self._taken += 1
                    self._changed.notify_all()
                if value is _DONE:
                    return
                if isinstance(value, _Failure):
                    raise value.error
                if isinstance(value, _Unfinished):
                    with self._profile.stage("map and check"):
                        value = self._complete(value.partial)  # type: ignore[arg-type]
                yield value  # type: ignore[misc]
                del value  # loaded by now: not to be held while the next one comes
        finally:
            self.close()

    def close(self) -> None:
        """Stop the threads (one may be mid-batch: that batch is dropped) and wait for them."""
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=60)
