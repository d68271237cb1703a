"""The benchmark's project (bench/contacts) on a small export of the same workload: it is
valid, a run quarantines exactly what the generator spoiled, and batching changes nothing.

This is the path where batches are split, deduplicated and encoded ahead of the load (no
cursor field, no references), which the demo's own project does not take."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.demo.generator import ACCOUNT_STEP, DEFAULT_ACCOUNT_POOL, id_maker, write_contacts
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import StateStore
from isthmus.validation import validate_project
from support import sqlite_content

BENCH_PROJECT = Path(__file__).parents[3] / "bench/contacts"


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    root = tmp_path / "bench"
    shutil.copytree(BENCH_PROJECT, root)
    (root / "data").mkdir()
    return root


def export(root: Path, count: int) -> dict[str, int]:
    report = write_contacts(
        root / "data/contacts.jsonl",
        count=count,
        seed=11,
        fmt="jsonl",
        account_ids=[id_maker("001", 11, ACCOUNT_STEP)(i) for i in range(DEFAULT_ACCOUNT_POOL)],
        bad_fraction=0.05,
        dup_fraction=0.05,
    )
    return {
        "records": report.records,
        "good": report.good,
        "rejected": report.total_spoiled,
        "customers": report.distinct_good_ids,
    }


def run(root: Path, batch_size: int):  # type: ignore[no-untyped-def]
    return run_integration(load_project(root), "bench", RunSettings(batch_size=batch_size))


def quarantined(root: Path, run_id: int) -> list[tuple[object, ...]]:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return sorted(
            (e.position, e.rule, e.field, e.value, e.record_id)
            for e in store.quarantine_entries(run_id)
        )
    finally:
        store.close()


def test_the_bench_project_is_valid(bench: Path) -> None:
    assert validate_project(load_project(bench)) == []


def test_a_run_loads_and_quarantines_exactly_what_the_generator_made(bench: Path) -> None:
    expected = export(bench, 2000)
    report = run(bench, 50_000)
    (stream,) = report.streams
    assert report.succeeded
    assert {
        "records": stream.records_read,
        "good": stream.loaded,
        "rejected": stream.rejected,
        "customers": len(sqlite_content(bench / ".isthmus/core.db")["customer"]),
    } == expected
    assert stream.inserted == expected["customers"]
    assert stream.updated == expected["good"] - expected["customers"]


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_batch_size_does_not_change_rows_quarantine_or_counts(bench: Path, batch_size: int) -> None:
    export(bench, 300 if batch_size == 1 else 2000)
    single = run(bench, 100_000)
    rows = sqlite_content(bench / ".isthmus/core.db")["customer"]
    (bench / ".isthmus/core.db").unlink()
    report = run(bench, batch_size)
    assert sqlite_content(bench / ".isthmus/core.db")["customer"] == rows
    assert quarantined(bench, report.run_id) == quarantined(bench, single.run_id)
    counts = [(s.records_read, s.loaded, s.inserted, s.updated, s.rejected) for s in report.streams]
    assert counts == [
        (s.records_read, s.loaded, s.inserted, s.updated, s.rejected) for s in single.streams
    ]
