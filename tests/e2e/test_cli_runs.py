"""`isthmus run --full`, `plan`, `checkpoint show|reset`, `cancel`, `replay`, and what run
summaries show (notes, deletes, schema drift), run as a user runs them: a real process on a
project in a temporary folder. Every wait is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from isthmus.demo import DemoProject
from support import sqlite_content, write_jsonl

BOUND = 30.0  # seconds: the longest any wait may take
# A wide terminal, whatever the one running the tests says (readline may export COLUMNS=80).
ENV = {**os.environ, "COLUMNS": "160"}


def isthmus(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=ENV,
    )


def clean(result: subprocess.CompletedProcess[str], code: int = 0) -> str:
    """The exit code, never a traceback; stdout and stderr together."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    return output


def as_json(*args: str, project: Path) -> Any:
    result = isthmus(*args, "--format", "json", project=project)
    clean(result)
    return json.loads(result.stdout)


def people(run: dict[str, Any]) -> dict[str, Any]:
    stream: dict[str, Any] = next(s for s in run["streams"] if s["mapping"] == "people")
    return stream


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_to_people_mapping(tiny: Path, line: str) -> None:
    """A key of the tiny template's people mapping, e.g. ``read: incremental``."""
    edit(tiny / "templates/people.yaml", "    write: upsert\n", f"    write: upsert\n    {line}\n")


def read_people_incrementally(tiny: Path) -> None:
    add_to_people_mapping(tiny, "read: incremental")


def table_rows(output: str, header: str, count: int) -> list[list[str]]:
    """``count`` rows of the table under the line that starts with ``header``, split on
    spaces."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    return [line.split() for line in lines[start + 1 : start + 1 + count]]


# --- run --full ------------------------------------------------------------------------------


def test_run_full_reads_everything_once_and_the_read_mode_stays_incremental(tiny: Path) -> None:
    read_people_incrementally(tiny)
    assert people(as_json("run", "a-people", project=tiny))["read"] == 3
    assert people(as_json("run", "a-people", project=tiny))["read"] == 0  # nothing new

    output = clean(isthmus("run", "a-people", "--full", project=tiny))
    assert "run 3  a-people (tenant a)  succeeded  committed" in output
    assert "note: full read requested" in output
    full = as_json("runs", "show", "3", project=tiny)
    assert (full["note"], people(full)["read"], people(full)["updated"]) == (
        "full read requested",
        3,
        3,
    )

    after = as_json("run", "a-people", project=tiny)
    assert (after["note"], people(after)["read"]) == (None, 0)
    plan = as_json("plan", "a-people", project=tiny)
    assert [(s["mapping"], s["read"]) for s in plan["streams"]] == [
        ("teams", "full"),
        ("people", "incremental"),
    ]


# --- plan ------------------------------------------------------------------------------------


def test_run_profile_shows_the_time_of_each_stage_and_json_always_carries_it(
    tiny: Path,
) -> None:
    output = clean(isthmus("run", "a-people", "--profile", project=tiny))
    assert "where the time went (" in output
    for stage in ("extract", "map and check", "load", "commit"):
        assert stage in output
    assert "shares can add up to more than 100%" in output
    plain = clean(isthmus("run", "a-people", project=tiny))
    assert "where the time went" not in plain
    profile = as_json("run", "a-people", project=tiny)["profile"]
    assert {"extract", "map and check", "load", "commit", "bookkeeping"} <= set(profile)
    assert all(isinstance(s, float) and s >= 0 for s in profile.values())


def test_plan_lists_streams_in_run_order_with_levels_dependencies_and_run_settings(
    tiny: Path,
) -> None:
    output = clean(isthmus("plan", "a-people", project=tiny))
    lines = output.splitlines()
    assert lines[0].startswith("plan of a-people (tenant a)  template people 1.0.0  config ")
    assert lines[1] == (
        "commit run  at most 1 stream(s) at once  batches of 2 records  3 attempt(s) per "
        "unit of commit  timeout -"
    )
    assert table_rows(output, "order", 2) == [
        ["1", "0", "teams", "teams", "team", "full", "upsert", "none", "-", "-"],
        ["2", "1", "people", "people", "person", "full", "upsert", "none", "-", "teams"],
    ]

    plan = as_json("plan", "a-people", project=tiny)
    assert len(plan.pop("config_hash")) == 64
    stream = {"write": "upsert", "deletes": "none", "cursor_field": None, "read": "full"}
    assert plan == {
        "integration": "a-people",
        "tenant": "a",
        "template": "people",
        "version": "1.0.0",
        "commit": "run",
        "max_concurrent_streams": 1,
        "batch_size": 2,
        "retry_attempts": 3,
        "timeout": None,
        "streams": [
            {**stream, "mapping": "teams", "stream": "teams", "entity": "team",
             "depends_on": [], "level": 0},
            {**stream, "mapping": "people", "stream": "people", "entity": "person",
             "depends_on": ["teams"], "level": 1},
        ],
    }  # fmt: skip
    assert as_json("runs", project=tiny) == {"runs": []}  # a plan runs nothing


def test_plan_of_an_unknown_integration_names_the_known_ones(tiny: Path) -> None:
    output = clean(isthmus("plan", "c-people", project=tiny), 1)
    assert "error: no integration named 'c-people'" in output
    assert "hint: integrations in this project: a-people, b-people" in output


# --- checkpoint show / reset -----------------------------------------------------------------


def test_checkpoint_show_gives_each_streams_checkpoint_its_copy_and_the_run_that_saved_it(
    tiny: Path,
) -> None:
    before = clean(isthmus("checkpoint", "show", "a-people", project=tiny))
    assert "people  read full  no checkpoint: the next run reads from the start" in before
    clean(isthmus("run", "a-people", project=tiny))

    shown = as_json("checkpoint", "show", "a-people", project=tiny)
    assert shown["integration"] == "a-people"
    assert [s["stream"] for s in shown["streams"]] == ["teams", "people"]
    for stream in shown["streams"]:
        assert stream["checkpoint"] == stream["state_store_copy"]
        assert list(stream["checkpoint"]["files"]) == [f"{stream['stream']}.jsonl"]
        assert (stream["in_sync"], stream["run_id"], stream["read"]) == (True, 1, "full")
        assert stream["saved_at"] is not None

    human = clean(isthmus("checkpoint", "show", "a-people", project=tiny))
    assert "people  read full  saved by run 1 at " in human
    assert " UTC  the state store's copy agrees" in human
    assert '  checkpoint:       {"files": {"people.jsonl": {' in human


def test_checkpoint_reset_makes_the_next_run_read_from_the_start_and_is_a_run_with_trigger_reset(
    tiny: Path,
) -> None:
    read_people_incrementally(tiny)
    clean(isthmus("run", "a-people", project=tiny))

    output = clean(isthmus("checkpoint", "reset", "a-people", "--stream", "people", project=tiny))
    assert output.splitlines() == [
        "checkpoint reset for stream people: 1 removed; the next run reads from the start",
        "recorded as run 2 (trigger reset); `isthmus runs` lists it",
    ]
    runs = as_json("runs", project=tiny)["runs"]
    assert [(r["id"], r["trigger"], r["status"]) for r in runs] == [
        (2, "reset", "succeeded"),
        (1, "manual", "succeeded"),
    ]
    assert "2  a-people     succeeded" in clean(isthmus("runs", project=tiny))
    shown = as_json("checkpoint", "show", "a-people", project=tiny)["streams"]
    assert [(s["stream"], s["checkpoint"] is None) for s in shown] == [
        ("teams", False),
        ("people", True),
    ]
    assert people(as_json("run", "a-people", project=tiny))["read"] == 3  # from the start

    everything = clean(isthmus("checkpoint", "reset", "a-people", project=tiny))
    assert everything.startswith("checkpoint reset for all streams (teams, people): 2 removed")


def test_checkpoint_reset_of_an_unknown_stream_names_the_streams_and_records_nothing(
    tiny: Path,
) -> None:
    output = clean(isthmus("checkpoint", "reset", "a-people", "-s", "persons", project=tiny), 1)
    assert "error: integration 'a-people' has no stream 'persons'" in output
    assert "hint: its streams: teams, people" in output
    assert as_json("runs", project=tiny) == {"runs": []}


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_of_a_finished_run_is_refused_with_its_status(tiny: Path) -> None:
    clean(isthmus("run", "a-people", project=tiny))
    result = isthmus("cancel", "1", project=tiny)
    output = clean(result, 1)
    assert result.stdout == ""
    assert (
        "error: run 1 (a-people) is not running: its status is succeeded, so there is nothing "
        "to cancel"
    ) in output
    assert "hint: `isthmus runs show 1` shows how it ended" in output
    assert as_json("runs", "show", "1", project=tiny)["status"] == "succeeded"


def test_cancel_of_an_unknown_run_points_to_the_run_list(tiny: Path) -> None:
    output = clean(isthmus("cancel", "42", project=tiny), 1)
    assert "error: no run 42 in the state store" in output
    assert "hint: `isthmus runs` lists recent runs" in output


def test_cancel_stops_a_running_run_at_its_next_batch_and_it_rolls_back(
    demo: DemoProject,
) -> None:
    project = demo.root
    edit(project / "templates/crm-contacts-2.1.0.yaml", "batch_size: 5000", "batch_size: 1")
    running = subprocess.Popen(
        [sys.executable, "-m", "isthmus", "run", "acme-crm", "--project", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        wait_until_running(project, run_id=1)
        output = clean(isthmus("cancel", "1", project=project))
        assert output.splitlines() == [
            "run 1 (acme-crm) asked to stop: it stops at its next batch boundary and rolls back",
            "`isthmus runs show 1` shows when it has stopped",
        ]
        stdout, stderr = running.communicate(timeout=BOUND)
    finally:
        if running.poll() is None:
            running.kill()
            running.communicate()
    assert running.returncode == 1, stdout + stderr
    assert "run 1  acme-crm (tenant acme)  cancelled  rolled back: nothing was written" in stdout
    assert "run 1 was cancelled on request" in stdout
    run = as_json("runs", "show", "1", project=project)
    assert (run["status"], run["committed"]) == ("cancelled", False)
    core = sqlite_content(project / ".isthmus/core.db")
    assert not any(core.get(table) for table in ("account", "customer"))


def wait_until_running(project: Path, run_id: int) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        ready = (project / ".isthmus/state.db").exists()
        runs = as_json("runs", project=project)["runs"] if ready else []
        if any(r["id"] == run_id and r["status"] == "running" for r in runs):
            return
        time.sleep(0.2)
    pytest.fail(f"run {run_id} was not running within {BOUND} s")


# --- replay ----------------------------------------------------------------------------------


@pytest.fixture
def rejected_run(tiny: Path) -> Path:
    """Run 1 of a-people quarantined p1 ("31.0") and p2 ("x") on to_int(age), and a line that
    is not JSON; then the mapping was fixed to read "31.0"."""
    # A replay is held to the threshold like any run, and half of what it replays here is
    # rejected again.
    edit(tiny / "templates/people.yaml", "max_rejected_fraction: 0.5", "max_rejected_fraction: 1.0")
    write_jsonl(
        tiny / "data/a/people.jsonl",
        [
            {"id": "p1", "name": "Ann", "age": "31.0", "team": "t1"},
            {"id": "p2", "name": "Bob", "age": "x", "team": "t1"},
            {"id": "p3", "name": "Cy", "age": "40", "team": "t2"},
        ],
    )
    with (tiny / "data/a/people.jsonl").open("a", encoding="utf-8") as file:
        file.write('{"id": "p4", "name": \n')
    run = as_json("run", "a-people", project=tiny)
    assert (run["status"], people(run)["loaded"], people(run)["rejected"]) == ("succeeded", 1, 3)
    edit(tiny / "templates/people.yaml", "age: to_int(age)", "age: to_int(to_float(age))")
    return tiny


def test_replay_after_a_mapping_fix_loads_what_it_repairs_and_keeps_the_rest_quarantined(
    rejected_run: Path,
) -> None:
    result = isthmus("replay", "1", project=rejected_run)
    output = clean(result)
    assert "run 2  a-people (tenant a)  succeeded  committed" in output
    assert "trigger replay" in output
    assert "note: replay of 2 records quarantined by run 1" in output
    assert result.stdout.splitlines()[-1] == (
        "replayed 2 records: 1 loaded and left the quarantine, 1 rejected again (now "
        "quarantined by run 2), 1 malformed records left as they were"
    )
    listing = as_json("quarantine", "list", "--status", "all", project=rejected_run)["records"]
    assert sorted(
        (r["run_id"], r["record_id"] or "-", r["rule"], r["status"]) for r in listing
    ) == [
        (1, "-", "malformed", "open"),
        (1, "p1", "to_int", "resolved"),
        (1, "p2", "to_int", "superseded"),
        (2, "p2", "to_float", "open"),
    ]
    rows = sqlite_content(rejected_run / ".isthmus/core.db")["person"]
    assert sorted(row[1] for row in rows if row[0] == "a") == ["p1", "p3"]


def test_replay_as_json_carries_the_replay_run_and_its_counts(rejected_run: Path) -> None:
    replay = as_json("replay", "1", project=rejected_run)
    assert replay["replay"] == {
        "of_run": 1,
        "replayed": 2,
        "resolved": 1,
        "rejected_again": 1,
        "left_malformed": 1,
    }
    assert (replay["id"], replay["trigger"], replay["status"]) == (2, "replay", "succeeded")
    assert replay["note"] == "replay of 2 records quarantined by run 1"
    assert (people(replay)["read"], people(replay)["loaded"]) == (2, 1)
    assert [(r["rule"], r["field"], r["count"]) for r in replay["rejections"]] == [
        ("to_float", "age", 1)
    ]


def test_replay_of_an_unknown_run_points_to_the_run_list(tiny: Path) -> None:
    output = clean(isthmus("replay", "9", project=tiny), 1)
    assert "error: no run 9 in the state store" in output
    assert "hint: `isthmus runs` lists recent runs" in output


# --- what a run's summary shows --------------------------------------------------------------


def test_a_summary_shows_schema_drift_and_a_deleted_column_only_when_a_run_deleted_rows(
    tiny: Path,
) -> None:
    records = [
        {"id": "p1", "name": "Ann", "age": "31", "team": "t1", "nick": "annie"},
        {"id": "p2", "name": "Bob", "age": "45", "team": "t2"},
    ]
    write_jsonl(tiny / "data/a/people.jsonl", records)
    add_to_people_mapping(tiny, "deletes: hard")
    grant = (
        "exceptions:\n  - {rule: delete-propagation-requires-exception, justification: the "
        "export is always complete, approved_by: ops, expires: 2999-12-31}\n"
    )
    for name in ("a", "b"):
        with (tiny / f"integrations/{name}.yaml").open("a", encoding="utf-8") as file:
            file.write(grant)

    first = clean(isthmus("run", "a-people", project=tiny))
    header = "stream  status     read  loaded  inserted  updated  rejected  skipped  duration"
    assert header in first
    assert "schema drift in people: appeared: nick; disappeared: -" in first

    write_jsonl(tiny / "data/a/people.jsonl", records[1:])  # p1 is gone from the export
    second = clean(isthmus("run", "a-people", project=tiny))
    assert table_rows(second, "stream", 2)[1][:8] == [
        "people", "succeeded", "1", "1", "0", "1", "1", "0",
    ]  # fmt: skip
    assert "deleted" in second.splitlines()[3]
    assert "schema drift" not in second
    shown = as_json("runs", "show", "2", project=tiny)
    assert (people(shown)["deleted"], people(shown)["drift"]) == (1, None)
    first_shown = as_json("runs", "show", "1", project=tiny)
    assert people(first_shown)["drift"] == {"appeared": ["nick"], "disappeared": []}
