"""QuarantineWriter: entries reach the store in order, all of them before the block ends, and
a store that fails makes the stream fail instead of losing rejections quietly."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest

from isthmus.execution.profile import Profile
from isthmus.execution.quarantine_writer import QuarantineWriter
from isthmus.store import QuarantineEntry, StateStore


class SlowStore:
    def __init__(self, fail_on_call: int | None = None) -> None:
        self.stored: list[Any] = []
        self.calls = 0
        self.fail_on_call = fail_on_call
        self.threads: set[str] = set()

    def add_quarantine(self, entries: list[Any]) -> int:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(0.005)
        if self.calls == self.fail_on_call:
            raise OSError("state store is gone")
        self.stored.extend(entries)
        return len(entries)


def writer(store: SlowStore) -> QuarantineWriter:
    return QuarantineWriter(cast(StateStore, store), Profile(time.monotonic))


def batch(start: int) -> list[QuarantineEntry]:
    return cast(list[QuarantineEntry], list(range(start, start + 3)))


def test_every_entry_is_stored_in_order_by_the_time_the_block_ends() -> None:
    store = SlowStore()
    with writer(store) as quarantine:
        for start in range(0, 30, 3):
            quarantine.add(batch(start))
        quarantine.add([])  # a batch without rejections writes nothing
    assert store.stored == list(range(30))
    assert store.calls == 10
    assert store.threads == {"quarantine"}


def write_three_batches(store: SlowStore) -> None:
    with writer(store) as quarantine:
        quarantine.add(batch(0))
        quarantine.add(batch(3))
        time.sleep(0.05)  # the writer has met the failure by now
        quarantine.add(batch(6))


def test_a_failed_write_fails_the_block_at_the_next_hand_over() -> None:
    store = SlowStore(fail_on_call=2)
    with pytest.raises(OSError, match="state store is gone"):
        write_three_batches(store)
    assert store.stored == [0, 1, 2]


def test_a_failed_last_write_fails_the_block_when_it_ends() -> None:
    store = SlowStore(fail_on_call=3)
    with pytest.raises(OSError, match="state store is gone"):
        write_three_batches(store)
    assert store.stored == [0, 1, 2, 3, 4, 5]


def fail_while_writing(store: SlowStore) -> None:
    with writer(store) as quarantine:
        quarantine.add(batch(0))
        raise ValueError("the load failed")


def test_an_error_in_the_stream_is_not_hidden_by_the_writer() -> None:
    with pytest.raises(ValueError, match="the load failed"):
        fail_while_writing(SlowStore(fail_on_call=1))
