"""Write modes: upserts ordered by a cursor, replace through staging, delete propagation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from isthmus.config import load_project
from isthmus.diagnostics import Severity
from isthmus.errors import ValidationFailedError
from isthmus.execution import RunSettings, run_integration
from isthmus.testing import FakeClock
from isthmus.validation import validate_project
from support import edit_yaml, sqlite_content, write_jsonl

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
GRANT = {
    "rule": "delete-propagation-requires-exception",
    "justification": "CRM is the source of truth for people",
    "approved_by": "cto@example.com",
    "expires": "2026-12-31",
}


def with_changes(
    root: Path,
    *,
    person: dict[str, Any] | None = None,
    people: dict[str, Any] | None = None,
    grant: bool = False,
) -> None:
    if person:
        edit_yaml(root / "core/person.yaml", lambda d: d["fields"].update(person))
    if people:
        edit_yaml(root / "templates/people.yaml", lambda d: d["mappings"]["people"].update(people))
    if grant:
        for tenant in ("a", "b"):
            edit_yaml(root / f"integrations/{tenant}.yaml", lambda d: d.update(exceptions=[GRANT]))


def run(root: Path) -> Any:
    return run_integration(load_project(root), "a-people", RunSettings(clock=FakeClock(NOW)))


def people(root: Path) -> list[tuple[Any, ...]]:
    return [r for r in sqlite_content(root / ".isthmus/core.db")["person"] if r[0] == "a"]


def test_with_a_cursor_an_older_version_never_replaces_a_newer_one(tiny: Path) -> None:
    with_changes(
        tiny,
        person={"version": {"type": "integer"}},
        people={
            "cursor_field": "version",
            "fields": {
                "person_id": "id",
                "name": "trim(name)",
                "age": "to_int(age)",
                "team_id": "team",
                "version": "to_int(v)",
            },
        },
    )
    edit_yaml(
        tiny / "templates/people.yaml",
        lambda d: d["streams"]["people"]["schema"].update(v="string"),
    )
    write_jsonl(
        tiny / "data/a/people.jsonl",
        [
            {"id": "p1", "name": "one", "v": "2"},
            {"id": "p1", "name": "older", "v": "1"},  # same batch (size 2), older: skipped
            {"id": "p1", "name": "newest", "v": "3"},  # next batch, newer: applied
            {"id": "p2", "name": "two", "v": "1"},
        ],
    )
    report = run(tiny)
    stream = report.streams[1]
    assert (stream.records_read, stream.loaded, stream.skipped, stream.inserted) == (4, 3, 1, 2)
    assert stream.records_read == stream.loaded + stream.rejected + stream.skipped
    assert [(r[1], r[2]) for r in people(tiny)] == [("p1", "newest"), ("p2", "two")]
    # A later run bringing an older version of p1 skips it; the table keeps the newest.
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p1", "name": "stale", "v": "2"}])
    again = run(tiny).streams[1]
    assert (again.loaded, again.skipped) == (0, 1)
    assert [(r[1], r[2]) for r in people(tiny)] == [("p1", "newest"), ("p2", "two")]


def test_replace_swaps_the_tenants_rows_and_counts_what_went(tiny: Path) -> None:
    run(tiny)
    with_changes(tiny, people={"write": "replace"})
    write_jsonl(
        tiny / "data/a/people.jsonl", [{"id": "p1", "name": "kept"}, {"id": "p9", "name": "new"}]
    )
    stream = run(tiny).streams[1]
    assert (stream.loaded, stream.inserted, stream.updated, stream.deleted) == (2, 1, 1, 2)
    assert [(r[1], r[2]) for r in people(tiny)] == [("p1", "kept"), ("p9", "new")]


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_a_full_read_propagates_deletes_of_rows_the_source_no_longer_has(
    tiny: Path, mode: str
) -> None:
    with_changes(
        tiny, person={"deleted_at": {"type": "timestamp"}}, people={"deletes": mode}, grant=True
    )
    run(tiny)
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p1", "name": "Ann", "team": "t1"}])
    stream = run(tiny).streams[1]
    assert stream.deleted == 2
    rows = {r[1]: r for r in people(tiny)}
    if mode == "hard":
        assert sorted(rows) == ["p1"]
    else:
        assert sorted(rows) == ["p1", "p2", "p3"]
        assert rows["p1"][-1] is None
        assert rows["p2"][-1] is not None
        assert rows["p3"][-1] is not None
    # Other tenants' rows are never touched.
    run_integration(load_project(tiny), "b-people", RunSettings(clock=FakeClock(NOW)))
    assert len([r for r in sqlite_content(tiny / ".isthmus/core.db")["person"] if r[0] == "b"]) == 3


def test_a_soft_deleted_row_that_comes_back_is_undeleted(tiny: Path) -> None:
    with_changes(
        tiny, person={"deleted_at": {"type": "timestamp"}}, people={"deletes": "soft"}, grant=True
    )
    run(tiny)
    original = (tiny / "data/a/people.jsonl").read_text()
    write_jsonl(tiny / "data/a/people.jsonl", [{"id": "p1", "name": "Ann", "team": "t1"}])
    run(tiny)
    (tiny / "data/a/people.jsonl").write_text(original)
    assert run(tiny).streams[1].deleted == 0
    assert all(r[-1] is None for r in people(tiny))


def test_deletes_are_not_propagated_when_a_record_could_not_be_identified(tiny: Path) -> None:
    with_changes(tiny, people={"deletes": "hard"}, grant=True)
    run(tiny)
    path = tiny / "data/a/people.jsonl"
    write_jsonl(path, [{"id": "p1", "name": "Ann", "team": "t1"}])
    path.write_text(path.read_text() + '{"id": "p2", "name": \n')
    report = run(tiny)
    assert report.streams[1].deleted == 0
    assert "deletes were not propagated, because 1 records had no key" in (report.note or "")
    assert len(people(tiny)) == 3


def test_delete_propagation_needs_an_active_exception(tiny: Path) -> None:
    with_changes(tiny, person={"deleted_at": {"type": "timestamp"}}, people={"deletes": "soft"})
    found = validate_project(load_project(tiny), today=NOW.date())
    # One for each integration of the template: neither holds an exception.
    assert [d.code for d in found] == ["delete-propagation-requires-exception"] * 2
    assert "integration 'a-people' has no exception for rule" in found[0].message
    with_changes(tiny, grant=True)
    granted = validate_project(load_project(tiny), today=NOW.date())
    # Each waived violation stays visible as a note naming the exception.
    assert [(d.code, d.severity) for d in granted] == [
        ("delete-propagation-requires-exception", Severity.INFO)
    ] * 2
    expired = validate_project(load_project(tiny), today=dt.date(2027, 1, 1))
    assert [d.code for d in expired] == ["delete-propagation-requires-exception"] * 2
    assert "expired on 2026-12-31" in expired[0].message
    with pytest.raises(ValidationFailedError):
        run_integration(
            load_project(tiny),
            "a-people",
            RunSettings(clock=FakeClock(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))),
        )


def test_deletes_with_an_incremental_read_or_replace_are_refused(tiny: Path) -> None:
    with_changes(tiny, people={"deletes": "hard", "read": "incremental"}, grant=True)
    assert problems(tiny) == ["deletes-need-full-read"]
    with_changes(tiny, people={"read": "full", "write": "replace"})
    assert problems(tiny) == ["deletes-with-replace"]


def problems(root: Path) -> list[str]:
    """The codes of the errors and warnings (not the notes of waived rules)."""
    found = validate_project(load_project(root), today=NOW.date())
    return [d.code for d in found if d.severity is not Severity.INFO]
