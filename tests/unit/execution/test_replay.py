"""Replay: a run's quarantined records go through the fixed configuration again."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.errors import NotFoundError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.execution.replay import replay_run
from isthmus.store import QuarantineStatus, StateStore
from isthmus.testing import FakeClock
from support import edit_yaml, sqlite_content, write_jsonl


@pytest.fixture
def rejected_run(tiny: Path) -> int:
    """A run that loaded p3 and quarantined p1 ("31.0") and p2 ("x") on to_int(age)."""
    edit_yaml(tiny / "templates/people.yaml", lambda d: d["sync"].update(max_rejected_fraction=1.0))
    write_jsonl(
        tiny / "data/a/people.jsonl",
        [
            {"id": "p1", "name": "Ann", "age": "31.0", "team": "t1"},
            {"id": "p2", "name": "Bob", "age": "x", "team": "t1"},
            {"id": "p3", "name": "Cy", "age": "40", "team": "t2"},
        ],
    )
    report = run_integration(load_project(tiny), "a-people", RunSettings(clock=FakeClock()))
    assert report.succeeded
    assert [(r.rule, r.count) for r in report.reasons] == [("to_int", 2)]
    return report.run_id


def fix_the_mapping(root: Path) -> None:
    edit_yaml(
        root / "templates/people.yaml",
        lambda d: d["mappings"]["people"]["fields"].update(age="to_int(to_float(age))"),
    )


def entries(root: Path, run_id: int) -> list[tuple[str | None, str, str]]:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return sorted((e.record_id, e.rule, e.status) for e in store.quarantine_entries(run_id))
    finally:
        store.close()


def test_replay_loads_what_the_fix_repairs_and_keeps_the_rest_in_quarantine(
    tiny: Path, rejected_run: int
) -> None:
    fix_the_mapping(tiny)
    outcome = replay_run(load_project(tiny), rejected_run, RunSettings(clock=FakeClock()))
    assert (outcome.replayed, outcome.resolved, outcome.rejected_again) == (2, 1, 1)
    report = outcome.report
    assert report.succeeded
    assert report.note == f"replay of 2 records quarantined by run {rejected_run}"
    people = report.streams[0]
    assert (people.mapping, people.records_read, people.loaded, people.rejected) == (
        "people",
        2,
        1,
        1,
    )
    assert entries(tiny, rejected_run) == [
        ("p1", "to_int", QuarantineStatus.RESOLVED),
        ("p2", "to_int", QuarantineStatus.SUPERSEDED),
    ]
    assert entries(tiny, report.run_id) == [("p2", "to_float", QuarantineStatus.OPEN)]
    rows = {r[1]: r for r in sqlite_content(tiny / ".isthmus/core.db")["person"]}
    assert rows["p1"][3] == 31
    assert sorted(rows) == ["p1", "p3"]


def test_replay_does_not_read_the_source_or_move_checkpoints(tiny: Path, rejected_run: int) -> None:
    fix_the_mapping(tiny)
    (tiny / "data/a/people.jsonl").unlink()  # the source is gone; the quarantine is enough
    outcome = replay_run(load_project(tiny), rejected_run, RunSettings(clock=FakeClock()))
    assert outcome.report.succeeded
    store = StateStore.open(database_urls(load_project(tiny)).state)
    replay = store.get_run(outcome.report.run_id)
    checkpoint = store.checkpoints_of("a-people")["people"]
    store.close()
    assert replay is not None
    assert replay.trigger == "replay"
    assert checkpoint[1] == rejected_run


def test_a_run_with_nothing_left_to_replay_is_refused(tiny: Path, rejected_run: int) -> None:
    fix_the_mapping(tiny)
    replay_run(load_project(tiny), rejected_run, RunSettings(clock=FakeClock()))
    edit_yaml(
        tiny / "templates/people.yaml",
        lambda d: d["mappings"]["people"]["fields"].update(age="to_int(age)"),
    )
    with pytest.raises(NotFoundError) as caught:
        replay_run(load_project(tiny), rejected_run)
    assert caught.value.message == (f"run {rejected_run} has no open quarantined records to replay")


def test_replaying_an_unknown_run_is_refused(tiny: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        replay_run(load_project(tiny), 404)
    assert caught.value.message == "no run 404 in the state store"


def test_a_replay_is_not_held_to_the_rejection_limit(tiny: Path, rejected_run: int) -> None:
    # Every replayed record was rejected once, so a replay that repairs a few is a success
    # even where a normal run with that share of rejections would roll back.
    edit_yaml(tiny / "templates/people.yaml", lambda d: d["sync"].update(max_rejected_fraction=0.1))
    fix_the_mapping(tiny)
    outcome = replay_run(load_project(tiny), rejected_run, RunSettings(clock=FakeClock()))
    assert outcome.report.succeeded
    assert (outcome.resolved, outcome.rejected_again) == (1, 1)
    normal = run_integration(load_project(tiny), "a-people", RunSettings(clock=FakeClock()))
    assert not normal.succeeded
    assert "more than the 10.0% the template allows" in (normal.error or "")
