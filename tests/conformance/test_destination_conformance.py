"""One conformance suite every core database passes, run through the engine as a user runs
an integration: SQLite, PostgreSQL and MariaDB alike.

Each test gets a fresh core database of its kind (a file, or a new database on the local
server; see ``core_url``). Locally a server that is not running skips its tests with the
command that starts it; under CI=true they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from isthmus.config import load_project
from isthmus.connectors import SqlDestination
from isthmus.execution import RunSettings, run_integration
from isthmus.store import RunStatus
from isthmus.testing import FailingDestination, FakeClock
from support import edit_yaml, write_jsonl

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(params=DATABASES)
def core_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'core.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def project(tiny: Path, core_url: str) -> Path:
    """The tiny project (people and teams of tenants a and b) on the database under test."""
    edit_yaml(tiny / "isthmus.yaml", lambda d: d["core"].update(database=core_url))
    return tiny


@pytest.fixture
def core(core_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(core_url)
    yield engine
    engine.dispose()


def run(root: Path, integration: str = "a-people", **settings: Any) -> Any:
    return run_integration(
        load_project(root), integration, RunSettings(clock=FakeClock(), **settings)
    )


def people(core: sa.Engine) -> list[tuple[Any, ...]]:
    """Every person row: tenant, id, name, age, team, sorted."""
    table = sa.table(
        "person",
        sa.column("tenant_id"),
        sa.column("person_id"),
        sa.column("name"),
        sa.column("age"),
        sa.column("team_id"),
    )
    with core.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.c)).all()
    return [tuple(r) for r in rows]


def counts(report: Any, mapping: str) -> tuple[int, int, int, int, int]:
    stream = next(s for s in report.streams if s.mapping == mapping)
    return stream.records_read, stream.loaded, stream.inserted, stream.updated, stream.rejected


LOADED = [
    ("a", "p1", "a Ann", 31, "t1"),
    ("a", "p2", "a Bob", 45, "t2"),
    ("a", "p3", "a Cy", None, None),
]


def test_a_full_load_writes_every_row_with_exact_counts(project: Path, core: sa.Engine) -> None:
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert counts(report, "teams") == (2, 2, 2, 0, 0)
    assert counts(report, "people") == (3, 3, 3, 0, 0)
    assert people(core) == LOADED


def test_an_incremental_run_reads_only_what_is_new_since_the_checkpoint(
    project: Path, core: sa.Engine
) -> None:
    def incremental(template: dict[str, Any]) -> None:
        template["streams"]["people"]["path"] = "people*.jsonl"
        template["mappings"]["people"]["read"] = "incremental"

    edit_yaml(project / "templates/people.yaml", incremental)
    assert run(project).status is RunStatus.SUCCEEDED
    write_jsonl(
        project / "data/a/people-2.jsonl", [{"id": "p4", "name": "Di", "age": "22", "team": "t1"}]
    )
    again = run(project)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert counts(again, "people") == (1, 1, 1, 0, 0)  # people.jsonl is in the checkpoint
    assert people(core) == [*LOADED, ("a", "p4", "Di", 22, "t1")]


def test_an_upsert_changes_some_rows_and_adds_others(project: Path, core: sa.Engine) -> None:
    run(project)
    write_jsonl(
        project / "data/a/people.jsonl",
        [
            {"id": "p2", "name": "a Bob", "age": "46", "team": "t1"},
            {"id": "p4", "name": "a Di", "age": "22", "team": "t2"},
        ],
    )
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert counts(report, "people") == (2, 2, 1, 1, 0)
    assert people(core) == [
        ("a", "p1", "a Ann", 31, "t1"),
        ("a", "p2", "a Bob", 46, "t1"),
        ("a", "p3", "a Cy", None, None),
        ("a", "p4", "a Di", 22, "t2"),
    ]


def test_a_replace_swaps_in_the_new_rows_of_one_tenant_only(project: Path, core: sa.Engine) -> None:
    edit_yaml(
        project / "templates/people.yaml",
        lambda d: d["mappings"]["people"].update(write="replace"),
    )
    assert run(project, "b-people").status is RunStatus.SUCCEEDED
    run(project)
    write_jsonl(
        project / "data/a/people.jsonl", [{"id": "p9", "name": "Zed", "age": "50", "team": "t2"}]
    )
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert [r for r in people(core) if r[0] == "a"] == [("a", "p9", "Zed", 50, "t2")]
    assert [r[1] for r in people(core) if r[0] == "b"] == ["p1", "p2", "p3"]  # untouched


def test_a_failure_mid_load_leaves_the_destination_unchanged(
    project: Path, core: sa.Engine, core_url: str
) -> None:
    run(project)
    before = people(core)
    write_jsonl(
        project / "data/a/people.jsonl",
        [{"id": f"n{i}", "name": f"New {i}", "age": "20", "team": "t1"} for i in range(6)],
    )
    failing = FailingDestination(SqlDestination(core_url), fail_on_write=3)
    try:
        report = run(project, destination=failing)
    finally:
        failing.close()
    assert (report.status, report.committed) == (RunStatus.FAILED, False)
    assert "injected failure on write" in (report.error or "")
    assert people(core) == before


def test_bad_records_are_rejected_with_their_reason_and_the_rest_load(
    project: Path, core: sa.Engine
) -> None:
    write_jsonl(
        project / "data/a/people.jsonl",
        [
            {"id": "p1", "name": "Ann", "age": "abc", "team": "t1"},
            {"id": "p2", "name": "Bob", "age": "200", "team": "t2"},
            {"id": "p3", "name": "Cy", "age": "30", "team": "t9"},
            {"id": "p4", "name": "Di", "age": "40", "team": "t1"},
            {"id": "p5", "name": "Ed", "age": "41", "team": "t2"},
        ],
    )
    edit_yaml(
        project / "templates/people.yaml", lambda d: d["sync"].update(max_rejected_fraction=0.6)
    )
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert counts(report, "people") == (5, 2, 2, 0, 3)
    assert sorted((r.rule, r.field, r.count) for r in report.reasons) == [
        ("max", "age", 1),
        ("reference", "team_id", 1),
        ("to_int", "age", 1),
    ]
    assert people(core) == [("a", "p4", "Di", 40, "t1"), ("a", "p5", "Ed", 41, "t2")]
