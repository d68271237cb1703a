"""The run engine on a small two-tenant project: order, counts, rollback and tenancy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.connectors import SqlDestination
from isthmus.demo import DemoProject
from isthmus.demo.generator import ALL_KINDS, write_contacts
from isthmus.errors import NotFoundError, ValidationFailedError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore, StreamStatus
from isthmus.testing import FailingDestination, FakeClock, MemoryDestination
from support import sqlite_content, write_jsonl


def run(root: Path, name: str, **settings: object):  # type: ignore[no-untyped-def]
    return run_integration(load_project(root), name, RunSettings(**settings))  # type: ignore[arg-type]


def core_rows(root: Path, table: str) -> list[tuple[object, ...]]:
    return sqlite_content(root / ".isthmus/core.db").get(table, [])


def test_streams_run_in_reference_order_and_counts_reconcile(tiny: Path) -> None:
    report = run(tiny, "a-people")
    assert report.status is RunStatus.SUCCEEDED
    assert report.committed
    assert [s.mapping for s in report.streams] == ["teams", "people"]
    for stream in report.streams:
        assert stream.records_read == stream.loaded + stream.rejected + stream.skipped
    teams, people = report.streams
    assert (teams.records_read, teams.loaded, teams.inserted, teams.rejected) == (2, 2, 2, 0)
    assert (people.records_read, people.loaded, people.inserted, people.rejected) == (3, 3, 3, 0)
    assert core_rows(tiny, "person") == [
        ("a", "p1", "a Ann", 31, "t1"),
        ("a", "p2", "a Bob", 45, "t2"),
        ("a", "p3", "a Cy", None, None),
    ]


def test_a_second_run_updates_instead_of_inserting(tiny: Path) -> None:
    run(tiny, "a-people")
    report = run(tiny, "a-people")
    people = report.streams[1]
    assert (people.loaded, people.inserted, people.updated) == (3, 0, 3)
    assert len(core_rows(tiny, "person")) == 3


def test_bad_rows_are_quarantined_with_rule_field_value_and_position_even_in_a_failed_run(
    tiny: Path,
) -> None:
    path = tiny / "data/a/people.jsonl"
    write_jsonl(
        path,
        [
            {"id": "p1", "name": "Ann", "age": "abc", "team": "t1"},
            {"id": "p2", "name": "Bob", "age": "200", "team": "t1"},
            {"id": "p3", "name": "Cy", "age": "3", "team": "t9"},
            {"id": "p4", "name": "  ", "age": "3", "team": "t1"},
        ],
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "p5", "name": \n')
    report = run(tiny, "a-people")
    assert report.status is RunStatus.FAILED  # every record rejected: past the threshold
    store = StateStore.open(database_urls(load_project(tiny)).state)
    entries = store.quarantine_entries(report.run_id)
    store.close()
    found = {(e.rule, e.field, e.value, e.position, e.record_id) for e in entries}
    assert found == {
        ("to_int", "age", "abc", 1, "p1"),
        ("max", "age", "200", 2, "p2"),
        ("reference", "team_id", "t9", 3, "p3"),
        ("required", "name", "", 4, "p4"),
        ("malformed", None, None, 5, None),
    }
    malformed = next(e for e in entries if e.rule == "malformed")
    assert malformed.record == '{"id": "p5", "name": '
    assert malformed.message.startswith("not valid JSON")
    people = report.streams[1]
    assert (people.records_read, people.loaded, people.rejected) == (5, 0, 5)


def test_a_run_past_the_rejection_threshold_leaves_the_core_database_unchanged(tiny: Path) -> None:
    run(tiny, "a-people")
    before = sqlite_content(tiny / ".isthmus/core.db")
    write_jsonl(tiny / "data/a/teams.jsonl", [{"id": "t3", "title": "three"}])
    write_jsonl(
        tiny / "data/a/people.jsonl",
        [
            {"id": "p7", "name": "Ok", "age": "1", "team": "t3"},
            {"id": "p8", "name": "Bad", "age": "x", "team": "t3"},
            {"id": "p9", "name": "Bad", "age": "y", "team": "t3"},
        ],
    )
    report = run(tiny, "a-people")
    assert report.status is RunStatus.FAILED
    assert not report.committed
    assert report.error_class == "data"
    assert "rejected 2 of 3 records (66.7%)" in (report.error or "")
    assert "to_int/age: 2" in (report.error or "")
    assert sqlite_content(tiny / ".isthmus/core.db") == before
    assert report.streams[1].status is StreamStatus.FAILED


def test_an_exception_mid_load_rolls_back_every_stream(tiny: Path) -> None:
    run(tiny, "a-people")
    before = sqlite_content(tiny / ".isthmus/core.db")
    write_jsonl(tiny / "data/a/teams.jsonl", [{"id": "t5", "title": "five"}])
    write_jsonl(
        tiny / "data/a/people.jsonl",
        [{"id": f"n{i}", "name": "New", "age": "5", "team": "t5"} for i in range(6)],
    )
    url = database_urls(load_project(tiny)).core
    # Writes: 1 teams batch, then people in batches of 2; the third write fails mid-stream.
    destination = FailingDestination(SqlDestination(url), fail_on_write=3)
    report = run(tiny, "a-people", destination=destination)
    destination.close()
    assert report.status is RunStatus.FAILED
    assert "injected failure on write to person, write 3" in (report.error or "")
    assert sqlite_content(tiny / ".isthmus/core.db") == before


def test_a_failed_first_run_writes_no_rows(tiny: Path) -> None:
    url = database_urls(load_project(tiny)).core
    destination = FailingDestination(SqlDestination(url), fail_on_write=2)
    report = run(tiny, "a-people", destination=destination)
    destination.close()
    assert report.status is RunStatus.FAILED
    content = sqlite_content(tiny / ".isthmus/core.db")
    assert all(rows == [] for rows in content.values())


def test_two_tenants_on_one_entity_never_touch_each_others_rows(tiny: Path) -> None:
    run(tiny, "a-people")
    a_rows = [r for r in core_rows(tiny, "person") if r[0] == "a"]
    # Tenant b uses the same ids with other values, then replaces its people with one row.
    run(tiny, "b-people")
    assert [r for r in core_rows(tiny, "person") if r[0] == "a"] == a_rows
    template = tiny / "templates/people.yaml"
    template.write_text(template.read_text().replace("write: upsert", "write: replace"))
    write_jsonl(
        tiny / "data/b/people.jsonl", [{"id": "p1", "name": "only", "age": "1", "team": "t1"}]
    )
    report = run(tiny, "b-people")
    assert report.succeeded
    rows = core_rows(tiny, "person")
    assert [r for r in rows if r[0] == "a"] == a_rows
    assert [r for r in rows if r[0] == "b"] == [("b", "p1", "only", 1, "t1")]


def test_a_reference_to_another_tenants_row_is_rejected(tiny: Path) -> None:
    run(tiny, "a-people")
    write_jsonl(tiny / "data/b/teams.jsonl", [{"id": "tb", "title": "b team"}])
    write_jsonl(tiny / "data/b/people.jsonl", [{"id": "q1", "name": "Q", "age": "1", "team": "t1"}])
    report = run(tiny, "b-people")
    assert report.succeeded is False
    assert [(r.rule, r.field, r.count) for r in report.reasons] == [("reference", "team_id", 1)]


def test_a_second_run_while_the_lease_is_held_is_refused_with_the_holders_run_id(
    tiny: Path,
) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    store = StateStore.open(database_urls(load_project(tiny)).state)
    store.acquire_lease(
        "a-people", run_id=99, owner="elsewhere:1", now=clock.now(), ttl=dt.timedelta(minutes=10)
    )
    store.close()
    report = run(tiny, "a-people", clock=clock)
    assert report.status is RunStatus.FAILED
    assert "run 99 (owner elsewhere:1) holds its lease" in (report.error or "")
    assert core_rows(tiny, "person") == []
    clock.advance(11 * 60)
    assert run(tiny, "a-people", clock=clock).succeeded


def test_the_run_records_the_configuration_hash_and_its_streams(tiny: Path) -> None:
    report = run(tiny, "a-people")
    store = StateStore.open(database_urls(load_project(tiny)).state)
    recorded = store.get_run(report.run_id)
    store.close()
    assert recorded is not None
    assert recorded.config_hash == report.config_hash
    assert len(recorded.config_hash) == 64
    assert [s.mapping for s in recorded.streams] == ["teams", "people"]
    assert recorded.status is RunStatus.SUCCEEDED
    assert recorded.committed


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_batch_size_does_not_change_rows_quarantine_or_checkpoint(
    demo: DemoProject, batch_size: int
) -> None:
    # A smaller export than the demo's, spoiled more often, so batches of 1 stay quick.
    accounts = demo.data[0].accounts
    write_contacts(
        demo.root / "data/acme/contacts.jsonl",
        count=300,
        seed=3,
        fmt="jsonl",
        account_ids=accounts.good_ids,
        bad_fraction=0.2,
        kinds=ALL_KINDS,
    )
    single = run(demo.root, "acme-crm", batch_size=100_000)
    single_rows = sqlite_content(demo.root / ".isthmus/core.db")
    single_checkpoints = checkpoints(demo.root)
    (demo.root / ".isthmus/core.db").unlink()
    report = run(demo.root, "acme-crm", batch_size=batch_size)
    assert sqlite_content(demo.root / ".isthmus/core.db") == single_rows
    assert checkpoints(demo.root) == single_checkpoints
    assert quarantined(demo.root, report.run_id) == quarantined(demo.root, single.run_id)
    counts = [(s.records_read, s.loaded, s.inserted, s.updated, s.rejected) for s in report.streams]
    assert counts == [
        (s.records_read, s.loaded, s.inserted, s.updated, s.rejected) for s in single.streams
    ]


def checkpoints(root: Path) -> dict[str, object]:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return {m: store.checkpoint("acme-crm", m) for m in ("accounts", "contacts")}
    finally:
        store.close()


def quarantined(root: Path, run_id: int) -> list[tuple[object, ...]]:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return sorted(
            (e.origin, e.position, e.rule, e.field, e.value, e.record, e.record_id)
            for e in store.quarantine_entries(run_id)
        )
    finally:
        store.close()


def test_an_unknown_integration_is_refused_with_the_known_ones(tiny: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        run(tiny, "nope")
    assert caught.value.message.startswith("no integration named 'nope'")
    assert caught.value.hint == "integrations in this project: a-people, b-people"


def test_an_invalid_integration_is_refused_before_anything_runs(tiny: Path) -> None:
    template = tiny / "templates/people.yaml"
    template.write_text(template.read_text().replace("age: to_int(age)", "age: age"))
    with pytest.raises(ValidationFailedError) as caught:
        run(tiny, "a-people")
    assert [d.code for d in caught.value.diagnostics] == ["type-mismatch"]
    assert not (tiny / ".isthmus/core.db").exists()


def test_the_memory_destination_runs_the_same_pipeline(tiny: Path) -> None:
    destination = MemoryDestination()
    report = run(tiny, "a-people", destination=destination)
    assert report.succeeded
    assert sorted(r["person_id"] for r in destination.rows("person")) == ["p1", "p2", "p3"]
