"""The file source's conformance suite: the same runs for JSON Lines, CSV and Parquet drops, as
a user runs an integration: a full load, an incremental run that reads only the new file, a
changed file read again, bad records rejected with their reason, and a file missing a
declared column failing the run with nothing loaded."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from isthmus.config import load_project
from isthmus.execution import RunSettings, run_integration
from isthmus.store import RunStatus
from isthmus.testing import FakeClock
from support import edit_yaml, sqlite_content, write_jsonl

Records = list[dict[str, Any]]
COLUMNS = ["id", "name", "age", "team"]


def _frame(records: Records) -> pl.DataFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in COLUMNS} for r in records],
        schema=dict.fromkeys(COLUMNS, pl.String),
    )


WRITERS: dict[str, Callable[[Path, Records], None]] = {
    "jsonl": write_jsonl,
    "csv": lambda path, records: _frame(records).write_csv(path),
    "parquet": lambda path, records: _frame(records).write_parquet(path),
}


@pytest.fixture(params=list(WRITERS))
def fmt(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def project(tiny: Path, fmt: str) -> Path:
    """The tiny project whose people come as files of one format, read incrementally."""

    def people_files(template: dict[str, Any]) -> None:
        template["streams"]["people"]["path"] = f"people*.{fmt}"
        template["mappings"]["people"]["read"] = "incremental"

    edit_yaml(tiny / "templates/people.yaml", people_files)
    (tiny / "data/a/people.jsonl").unlink()
    drop(tiny, fmt, "people", PEOPLE)
    return tiny


PEOPLE = [
    {"id": "p1", "name": "Ann", "age": "31", "team": "t1"},
    {"id": "p2", "name": "Bob", "age": "45", "team": "t2"},
    {"id": "p3", "name": "Cy", "age": None, "team": None},
]


def drop(root: Path, fmt: str, stem: str, records: Records) -> Path:
    path = root / f"data/a/{stem}.{fmt}"
    WRITERS[fmt](path, records)
    return path


def run(root: Path) -> Any:
    return run_integration(load_project(root), "a-people", RunSettings(clock=FakeClock()))


def people_counts(report: Any) -> tuple[int, int, int, int, int]:
    s = next(s for s in report.streams if s.mapping == "people")
    return s.records_read, s.loaded, s.inserted, s.updated, s.rejected


def people_rows(root: Path) -> list[tuple[Any, ...]]:
    return [r[:4] for r in sqlite_content(root / ".isthmus/core.db").get("person", [])]


def test_a_full_load_reads_every_record(project: Path) -> None:
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert people_counts(report) == (3, 3, 3, 0, 0)
    assert people_rows(project) == [
        ("a", "p1", "Ann", 31),
        ("a", "p2", "Bob", 45),
        ("a", "p3", "Cy", None),
    ]


def test_an_incremental_run_reads_only_the_new_file(project: Path, fmt: str) -> None:
    run(project)
    drop(project, fmt, "people-2", [{"id": "p4", "name": "Di", "age": "22", "team": "t1"}])
    again = run(project)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert people_counts(again) == (1, 1, 1, 0, 0)
    assert run(project).streams[-1].records_read == 0  # nothing new


def test_a_changed_file_is_read_again_and_upserted(project: Path, fmt: str) -> None:
    run(project)
    path = drop(project, fmt, "people", [*PEOPLE[:2], {"id": "p3", "name": "Cyd", "age": "9"}])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = run(project)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert people_counts(again) == (3, 3, 0, 3, 0)
    assert ("a", "p3", "Cyd", 9) in people_rows(project)


def test_bad_records_are_rejected_with_their_reason(project: Path, fmt: str) -> None:
    drop(
        project,
        fmt,
        "people",
        [
            *PEOPLE,
            {"id": "p4", "name": "Di", "age": "abc"},
            {"id": "p5", "name": "Ed", "age": "999"},
        ],
    )
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert people_counts(report) == (5, 3, 3, 0, 2)
    assert sorted((r.rule, r.field, r.count) for r in report.reasons) == [
        ("max", "age", 1),
        ("to_int", "age", 1),
    ]


# A JSON Lines record may leave any field out (it reads as null): only the formats with a
# header or a schema can miss a column.
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_missing_a_declared_column_fails_the_run_and_loads_nothing(
    project: Path, fmt: str
) -> None:
    path = project / f"data/a/people.{fmt}"
    frame = _frame(PEOPLE).drop("age")
    if fmt == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    report = run(project)
    assert (report.status, report.committed) == (RunStatus.FAILED, False)
    assert f"people.{fmt}" in (report.error or "")
    assert "'age'" in (report.error or "")
    assert people_rows(project) == []
