"""Helpers of the crash-safety tests: a prepared project, its two states, and kills.

The project is the ``tiny`` fixture's, made incremental: both mappings read only files they
have not read before (the stream paths become globs), two records a batch. A first run of
both tenants commits state S0; new files for tenant ``a`` then change some rows and add
others, so the next run of ``a-people`` has work. The state that run must reach is S1.

A state is the full content of the core tables, as sorted rows, plus the checkpoint of each
stream as the destination holds it: data and checkpoint are compared together, because the
promise is that they always commit together.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, inspect, text

from isthmus.config import load_project
from isthmus.connectors import SqlDestination
from isthmus.execution import RunReport, RunSettings, database_urls, run_integration
from isthmus.execution.failpoints import ENVIRONMENT_VARIABLE
from isthmus.store import RunRecord, StateStore
from isthmus.testing import FakeClock
from support import write_jsonl

INTEGRATION = "a-people"
STREAMS = ("teams", "people")
SUBPROCESS_TIMEOUT_S = 60
LEASE_EXPIRED = dt.timedelta(minutes=11)  # the lease lasts 10 minutes

# Columns in a fixed order, so rows read from SQLite and PostgreSQL compare equal.
CORE_COLUMNS = {
    "person": ("tenant_id", "person_id", "name", "age", "team_id"),
    "team": ("tenant_id", "team_id", "title"),
}

# What the template of `tiny` is changed into: (text it has, text it gets).
TEMPLATE_EDITS = (
    ("    path: people.jsonl\n", '    path: "people*.jsonl"\n'),
    ("{path: teams.jsonl,", '{path: "teams*.jsonl",'),
    ("    entity: person\n", "    entity: person\n    read: incremental\n"),
    ("    entity: team\n", "    entity: team\n    read: incremental\n"),
)

# New files for tenant a: 3 teams (2 batches), 5 people (3 batches).
NEW_FILES: dict[str, list[dict[str, Any]]] = {
    "teams_2.jsonl": [
        {"id": "t2", "title": "a two, renamed"},
        {"id": "t3", "title": "a three"},
        {"id": "t4", "title": "a four"},
    ],
    "people_2.jsonl": [
        {"id": "p1", "name": "a Ann Lee", "age": "32", "team": "t3"},
        {"id": "p3", "name": "a Cy", "age": "28", "team": "t1"},
        {"id": "p4", "name": "a Dee", "age": "19", "team": "t4"},
        {"id": "p5", "name": "a Eve", "age": "52", "team": "t2"},
        {"id": "p6", "name": " a Fay ", "age": "40", "team": "t3"},
    ],
}


def _tenant_rows(tenant: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "person": [
            (tenant, "p1", f"{tenant} Ann", 31, "t1"),
            (tenant, "p2", f"{tenant} Bob", 45, "t2"),
            (tenant, "p3", f"{tenant} Cy", None, None),
        ],
        "team": [(tenant, "t1", f"{tenant} one"), (tenant, "t2", f"{tenant} two")],
    }


def _sorted(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}


# The core tables after the first run of both tenants ...
S0_ROWS = _sorted(
    {t: _tenant_rows("a")[t] + _tenant_rows("b")[t] for t in CORE_COLUMNS},
)
# ... and after tenant a's run of the new files; tenant b's rows never change.
S1_ROWS = _sorted(
    {
        "person": [
            ("a", "p1", "a Ann Lee", 32, "t3"),
            ("a", "p2", "a Bob", 45, "t2"),
            ("a", "p3", "a Cy", 28, "t1"),
            ("a", "p4", "a Dee", 19, "t4"),
            ("a", "p5", "a Eve", 52, "t2"),
            ("a", "p6", "a Fay", 40, "t3"),
            *_tenant_rows("b")["person"],
        ],
        "team": [
            ("a", "t1", "a one"),
            ("a", "t2", "a two, renamed"),
            ("a", "t3", "a three"),
            ("a", "t4", "a four"),
            *_tenant_rows("b")["team"],
        ],
    }
)


@dataclass(frozen=True)
class CoreState:
    """The core tables' rows and the destination's checkpoint of each stream."""

    rows: dict[str, list[tuple[Any, ...]]]
    checkpoints: dict[str, dict[str, Any] | None]


def core_state(url: str) -> CoreState:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = {
                table: sorted(
                    (
                        tuple(r)
                        for r in connection.execute(
                            text(f"SELECT {', '.join(columns)} FROM {table}")
                        )
                    ),
                    key=repr,
                )
                for table, columns in CORE_COLUMNS.items()
            }
    finally:
        engine.dispose()
    destination = SqlDestination(url)
    try:
        checkpoints = {s: destination.checkpoint(INTEGRATION, s) for s in STREAMS}
    finally:
        destination.close()
    return CoreState(rows, checkpoints)


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def named(state: CoreState, s0: CoreState, s1: CoreState) -> str:
    """S0, S1, or what the state mixes: for assertion messages."""
    for name, known in (("S0", s0), ("S1", s1)):
        if state == known:
            return name
    data = {n for n, k in (("S0", s0), ("S1", s1)) if state.rows == k.rows} or {"neither"}
    marks = {n for n, k in (("S0", s0), ("S1", s1)) if state.checkpoints == k.checkpoints} or {
        "neither"
    }
    return (
        f"a mix: data of {'/'.join(sorted(data))}, checkpoints of {'/'.join(sorted(marks))}\n"
        f"rows={state.rows}\ncheckpoints={json.dumps(state.checkpoints, sort_keys=True)}"
    )


# --- projects ------------------------------------------------------------------------------


def make_incremental(root: Path) -> None:
    """Turn the tiny project's template into incremental reads over globs of files."""
    path = root / "templates/people.yaml"
    template = path.read_text(encoding="utf-8")
    for old, new in TEMPLATE_EDITS:
        assert template.count(old) == 1, f"the tiny template no longer has {old!r}"
        template = template.replace(old, new)
    assert "batch_size: 2" in template  # several batches per stream
    path.write_text(template, encoding="utf-8")


def point_databases_at(root: Path, *, core: str | None = None, state: str | None = None) -> None:
    """Rewrite isthmus.yaml so the core database and/or the state store live at a URL."""
    path = root / "isthmus.yaml"
    settings = path.read_text(encoding="utf-8")
    for key, url in (("core", core), ("state", state)):
        if url is None:
            continue
        old = f'{key}: {{database: "sqlite:///.isthmus/{key}.db"}}'
        assert old in settings, f"isthmus.yaml has no {old!r}"
        settings = settings.replace(old, f'{key}: {{database: "{url}"}}')
    path.write_text(settings, encoding="utf-8")


def copy_project(source: Path, target: Path) -> Path:
    """A copy keeping files' modification times, which the checkpoints record."""
    shutil.copytree(source, target)  # copy2: sizes and mtimes kept
    return target


def add_new_files(new_files: Path, root: Path) -> None:
    for path in sorted(new_files.iterdir()):
        shutil.copy2(path, root / "data/a" / path.name)


def write_new_files(folder: Path) -> Path:
    for name, records in NEW_FILES.items():
        write_jsonl(folder / name, records)
    return folder


def run_in_process(root: Path, name: str, **settings: Any) -> RunReport:
    return run_integration(load_project(root), name, RunSettings(**settings))


def commit_s0(root: Path) -> None:
    """The first run of both tenants, which commits S0."""
    for name in ("a-people", "b-people"):
        report = run_in_process(root, name)
        assert report.committed, report.error


def urls(root: Path) -> tuple[str, str]:
    found = database_urls(load_project(root))
    return found.core, found.state


# --- the kill ------------------------------------------------------------------------------


def run_killed_at(root: Path, point: str) -> subprocess.CompletedProcess[str]:
    """``isthmus run`` in its own process with a failpoint set: it must die of SIGKILL."""
    process = subprocess.run(
        [sys.executable, "-m", "isthmus", "run", INTEGRATION, "--project", str(root)],
        env={**os.environ, ENVIRONMENT_VARIABLE: point},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, (
        f"the run with {ENVIRONMENT_VARIABLE}={point} ended with {process.returncode}, "
        f"not SIGKILL\nstdout:\n{process.stdout}\nstderr:\n{process.stderr}"
    )
    return process


def after_lease_expiry() -> FakeClock:
    """A clock past the expiry of any lease a killed run took just now."""
    return FakeClock(dt.datetime.now(dt.UTC) + LEASE_EXPIRED)


# --- the state store -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoreView:
    runs: dict[int, RunRecord]
    lease: tuple[int, str, dt.datetime] | None


def store_view(state_url: str) -> StoreView:
    store = StateStore.open(state_url)
    try:
        runs = {r.id: r for r in store.list_runs(integration=INTEGRATION, limit=100)}
        return StoreView(runs, store.lease_holder(INTEGRATION))
    finally:
        store.close()


def sqlite_integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


# --- PostgreSQL ----------------------------------------------------------------------------


def terminate_other_backends(url: str) -> int:
    """Terminate every other connection to the database at ``url`` (a SQLAlchemy URL) and
    wait until each is gone; how many were terminated."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as admin:
        # The timeout makes pg_terminate_backend wait for the backend to exit, so the next
        # statement of the terminated connection surely meets a closed connection.
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchall()
    assert all(done for (done,) in rows), rows
    return len(rows)
