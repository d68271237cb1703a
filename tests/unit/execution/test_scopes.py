"""Units of commit: per stream, a failure stays in its stream and skips what depends on it;
independent streams may run at the same time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from isthmus.config import load_project
from isthmus.connectors import SourceBatch, StreamRequest
from isthmus.connectors.sql import SqlDestination
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StreamStatus
from isthmus.testing import FailingDestination, FakeClock, MemoryDestination, MemorySource
from support import edit_yaml, sqlite_content


def stream_commit(root: Path, **sync: Any) -> None:
    edit_yaml(root / "templates/people.yaml", lambda d: d["sync"].update(commit="stream", **sync))


def test_with_stream_commits_a_failed_stream_skips_the_streams_that_depend_on_it(
    tiny: Path,
) -> None:
    stream_commit(tiny)
    destination = FailingDestination(
        SqlDestination(database_urls(load_project(tiny)).core), fail_on_write=1
    )
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=FakeClock(), destination=destination)
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    teams, people = report.streams
    assert teams.status is StreamStatus.FAILED
    assert people.status is StreamStatus.SKIPPED
    assert people.error == "its dependency teams failed"
    assert sqlite_content(tiny / ".isthmus/core.db").get("person", []) == []


def test_with_stream_commits_a_later_failure_keeps_the_committed_streams(tiny: Path) -> None:
    stream_commit(tiny)
    # teams is written in one batch (write 1); people's second batch (write 3) fails.
    destination = FailingDestination(
        SqlDestination(database_urls(load_project(tiny)).core), fail_on_write=3
    )
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=FakeClock(), destination=destination)
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    assert [s.status for s in report.streams] == [StreamStatus.SUCCEEDED, StreamStatus.FAILED]
    assert report.note == "1 of 2 streams committed"
    content = sqlite_content(tiny / ".isthmus/core.db")
    assert sorted(r[1] for r in content["team"]) == ["t1", "t2"]
    assert content["person"] == []


def test_with_run_commit_one_failure_rolls_back_every_stream(tiny: Path) -> None:
    destination = FailingDestination(
        SqlDestination(database_urls(load_project(tiny)).core), fail_on_write=3
    )
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=FakeClock(), destination=destination)
    )
    destination.close()
    assert report.status is RunStatus.FAILED
    content = sqlite_content(tiny / ".isthmus/core.db")
    assert content["team"] == []
    assert content["person"] == []


class _Meeting(MemorySource):
    """Each stream waits at a barrier: it only passes when both read at the same time."""

    def __init__(self, records: dict[str, list[dict[str, Any]]], barrier: threading.Barrier):
        super().__init__(records)
        self.barrier = barrier
        self.threads: set[int] = set()

    def read(self, request: StreamRequest) -> Iterator[SourceBatch]:
        self.threads.add(threading.get_ident())
        self.barrier.wait()
        yield from super().read(request)


def two_independent_streams(root: Path) -> None:
    """Make people independent of teams (no reference), so both may run at once."""
    edit_yaml(root / "core/person.yaml", lambda d: d["fields"]["team_id"].pop("references"))


def test_independent_streams_run_at_the_same_time_up_to_the_limit(tiny: Path) -> None:
    stream_commit(tiny, max_concurrent_streams=2)
    two_independent_streams(tiny)
    source = _Meeting(
        {"teams": [{"id": "t1", "title": "T"}], "people": [{"id": "p1", "name": "P"}]},
        threading.Barrier(2, timeout=10),
    )
    # In memory: SQLite has one writer, so its streams are written one at a time anyway.
    destination = MemoryDestination()
    report = run_integration(
        load_project(tiny),
        "a-people",
        RunSettings(clock=FakeClock(), source=source, destination=destination),
    )
    assert report.status is RunStatus.SUCCEEDED
    assert len(source.threads) == 2
    assert [r["person_id"] for r in destination.rows("person")] == ["p1"]
    assert [r["team_id"] for r in destination.rows("team")] == ["t1"]


def test_with_a_limit_of_one_streams_run_one_after_the_other(tiny: Path) -> None:
    stream_commit(tiny, max_concurrent_streams=1)
    two_independent_streams(tiny)
    order: list[str] = []

    class _Recording(MemorySource):
        def read(self, request: StreamRequest) -> Iterator[SourceBatch]:
            order.append(f"start {request.name}")
            yield from super().read(request)
            order.append(f"end {request.name}")

    source = _Recording(
        {"teams": [{"id": "t1", "title": "T"}], "people": [{"id": "p1", "name": "P"}]}
    )
    report = run_integration(
        load_project(tiny), "a-people", RunSettings(clock=FakeClock(), source=source)
    )
    assert report.status is RunStatus.SUCCEEDED
    assert order in (
        ["start people", "end people", "start teams", "end teams"],
        ["start teams", "end teams", "start people", "end people"],
    )
