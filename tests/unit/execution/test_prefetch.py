"""Prefetched: items mapped ahead by worker threads, handed over strictly in source order,
with a bounded number read ahead and errors raised where they happened; the last step of an
item runs on the loader's thread only while the loader would otherwise stand idle."""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from isthmus.execution.prefetch import Prefetched
from isthmus.execution.profile import Profile


def prefetched(
    items: Iterator[int], work, *, workers: int, depth: int = 2, complete=None
) -> Prefetched:  # type: ignore[no-untyped-def]
    return Prefetched(
        items,
        work,
        complete or (lambda value: value),
        depth=depth,
        workers=workers,
        profile=Profile(time.monotonic),
    )


def jittery_square(item: int) -> int:
    time.sleep(random.random() / 500)  # workers finish out of order
    return item * item


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_in_source_order_whatever_order_workers_finish_in(workers: int) -> None:
    results = list(prefetched(iter(range(200)), jittery_square, workers=workers))
    assert results == [n * n for n in range(200)]


@pytest.mark.parametrize("workers", [1, 2])
def test_no_more_than_depth_items_are_read_ahead_of_the_loader(workers: int) -> None:
    read: list[int] = []
    lock = threading.Lock()

    def items() -> Iterator[int]:
        for n in range(50):
            with lock:
                read.append(n)
            yield n

    batches = prefetched(items(), lambda n: n, workers=workers, depth=3)
    for taken, value in enumerate(batches):
        time.sleep(0.002)  # a slow loader: the workers would run ahead if they could
        with lock:
            ahead = len(read) - (taken + 1)
        assert ahead <= 3, f"{ahead} items read ahead after taking {value}"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failure_in_work_is_raised_after_the_results_before_it(workers: int) -> None:
    def work(n: int) -> int:
        if n == 7:
            raise ValueError("batch 7 is bad")
        return n

    seen: list[int] = []
    with pytest.raises(ValueError, match="batch 7 is bad"):
        seen.extend(prefetched(iter(range(20)), work, workers=workers))
    assert seen == list(range(7))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failure_in_reading_is_raised_after_the_items_before_it(workers: int) -> None:
    def items() -> Iterator[int]:
        yield from range(4)
        raise OSError("the export vanished")

    seen: list[int] = []
    with pytest.raises(OSError, match="the export vanished"):
        seen.extend(prefetched(items(), jittery_square, workers=workers))
    assert seen == [0, 1, 4, 9]


def test_leaving_early_stops_the_workers() -> None:
    before = threading.active_count()
    batches = prefetched(iter(range(10_000)), lambda n: n, workers=2)
    for value in batches:
        if value == 3:
            break
    batches.close()
    assert threading.active_count() == before


def completing_on() -> tuple[dict[int, str], object]:
    """A ``complete`` step that records the thread each item was completed on."""
    threads: dict[int, str] = {}

    def complete(value: int) -> int:
        threads[value] = threading.current_thread().name
        return value

    return threads, complete


def test_a_loader_waiting_for_a_slow_worker_completes_the_item_itself() -> None:
    threads, complete = completing_on()

    def slow(n: int) -> int:
        time.sleep(0.05)  # the loader is long idle by the time the work is done
        return n

    results = list(prefetched(iter(range(5)), slow, workers=1, complete=complete))
    assert results == list(range(5))
    assert threads == {n: threading.current_thread().name for n in range(5)}


def test_a_busy_loader_leaves_completing_to_the_workers() -> None:
    threads, complete = completing_on()
    results = []
    for value in prefetched(iter(range(20)), lambda n: n, workers=1, complete=complete):
        time.sleep(0.01)  # a slow load: the worker is always ahead of it
        results.append(value)
    assert results == list(range(20))
    # Only the first item can find the loader waiting: after it, the worker stays ahead.
    on_loader = [n for n, name in threads.items() if name == threading.current_thread().name]
    assert on_loader in ([], [0])
    assert sorted(threads) == list(range(20))


@pytest.mark.parametrize("slow_work", [True, False])
def test_a_failure_in_completing_is_raised_after_the_results_before_it(slow_work: bool) -> None:
    def work(n: int) -> int:
        if slow_work:
            time.sleep(0.01)
        return n

    def complete(n: int) -> int:
        if n == 3:
            raise ValueError("batch 3 does not split")
        return n

    seen: list[int] = []
    with pytest.raises(ValueError, match="batch 3 does not split"):
        seen.extend(prefetched(iter(range(10)), work, workers=1, complete=complete))
    assert seen == [0, 1, 2]


class Batch:
    """A stand-in for a batch of records: weakly referable, so a test sees when it is freed."""

    def __init__(self, number: int) -> None:
        self.number = number


def test_a_worker_holds_nothing_of_one_item_while_it_reads_the_next() -> None:
    """The worker reads item n+1 while item n's result waits for the loader: item n and what
    work made of it must be gone by then, or memory holds one batch more than it needs to."""
    alive_when_next_read: list[list[str]] = []
    previous: dict[str, weakref.ref[Batch]] = {}
    all_read = threading.Event()

    def items() -> Iterator[Batch]:
        for number in range(4):
            alive_when_next_read.append(sorted(k for k, ref in previous.items() if ref()))
            item = Batch(number)
            previous["item"] = weakref.ref(item)
            yield item
            del item
        all_read.set()

    def work(item: Batch) -> Batch:
        partial = Batch(item.number)
        previous["partial"] = weakref.ref(partial)
        return partial

    batches = prefetched(items(), work, workers=1, depth=5, complete=lambda partial: partial.number)
    # The worker reads every item before the loader takes any, so it completes each one
    # itself and a result holds only the number, never the partial.
    assert all_read.wait(timeout=30)
    assert list(batches) == [0, 1, 2, 3]
    assert alive_when_next_read == [[], [], [], []]


def _comes_true(condition: Callable[[], bool], *, within: float) -> bool:
    """Whether ``condition`` holds at some point in the next ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_the_loader_holds_nothing_of_a_loaded_item_while_it_waits_for_the_next() -> None:
    """Once the loader is done with an item and asks for the next, the item must go: held
    while the next one is mapped, it would be one batch more in memory."""
    loaded: list[weakref.ref[Batch]] = []
    freed_before_next: list[bool] = []

    def work(number: int) -> Batch:
        if number:  # the loader took item number - 1, and waits for this one
            assert _comes_true(lambda: len(loaded) == number, within=30)
            freed_before_next.append(_comes_true(lambda: loaded[-1]() is None, within=5))
        return Batch(number)

    for value in prefetched(iter(range(3)), work, workers=1, depth=1):
        loaded.append(weakref.ref(value))
        del value
    assert freed_before_next == [True, True]
