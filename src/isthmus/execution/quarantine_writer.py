"""Write a stream's quarantine entries to the state store from a thread of their own.

The state store is another database than the core one, so its inserts need not wait for the
load, nor the load for them. Entries are written in the order they were handed over; leaving
the ``with`` block waits until every one is stored, and raises the error if one failed, so a
run never reports rejections the store does not hold.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType

from isthmus.execution.profile import Profile
from isthmus.store import QuarantineEntry, StateStore

_DONE: list[QuarantineEntry] = []


class QuarantineWriter:
    def __init__(self, store: StateStore, profile: Profile) -> None:
        self._store = store
        self._profile = profile
        # Entries of a few batches at most: a slow store holds the load back instead of
        # letting the entries pile up in memory.
        self._pending: queue.Queue[list[QuarantineEntry]] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="quarantine", daemon=True)

    def __enter__(self) -> QuarantineWriter:
        self._thread.start()
        return self

    def add(self, entries: list[QuarantineEntry]) -> None:
        self._raise_if_failed()
        if entries:
            self._pending.put(entries)

    def _write(self) -> None:
        while (entries := self._pending.get()) is not _DONE:
            if self._error is not None:
                continue  # keep draining, so add() never blocks on a dead writer
            try:
                with self._profile.stage("quarantine"):
                    self._store.add_quarantine(entries)
            except BaseException as exc:  # raised in the run's thread
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.put(_DONE)
        self._thread.join()
        if kind is None:
            self._raise_if_failed()
