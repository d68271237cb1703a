"""A run killed with SIGKILL at any instant loses nothing and corrupts nothing.

For every failpoint of the engine and for both databases (SQLite files; PostgreSQL holding
the core database and the state store), ``isthmus run`` is killed in its own process while
it loads new files over a committed state S0. The core database must then hold exactly S0
or exactly S1 (data and checkpoint together, never a mix); the next run, once the dead run's
lease has expired, must finish S1 with every row once; and a run after that has nothing to
read. A connection dropped mid-load on PostgreSQL is retried as a transient failure.

See support_crash.py for the project, the states S0 and S1, and the helpers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.connectors import SOURCES, PendingBatch, SourceBatch, SourceContext, StreamRequest
from isthmus.execution.checkpoints import show_checkpoints
from isthmus.execution.failpoints import POINTS
from isthmus.store import RunStatus
from isthmus.testing import FakeClock
from support_crash import (
    INTEGRATION,
    S0_ROWS,
    S1_ROWS,
    CoreState,
    add_new_files,
    after_lease_expiry,
    commit_s0,
    copy_project,
    core_state,
    make_incremental,
    named,
    point_databases_at,
    run_in_process,
    run_killed_at,
    sqlite_integrity,
    store_view,
    table_names,
    terminate_other_backends,
    urls,
    write_new_files,
)

# --- the prepared states -------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    pristine: Path  # the incremental tiny project, never run
    new_files: Path  # tenant a's new files, written once so every copy has the same mtimes
    sqlite_s0: Path  # pristine after the first run of both tenants, new files added
    s0: CoreState
    s1: CoreState  # from a copy of sqlite_s0 run to the end without a kill


class _Preparation:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.prepared: Prepared | None = None

    def get(self, tiny: Path) -> Prepared:
        if self.prepared is None:
            self.prepared = _prepare(tiny, self.folder)
        return self.prepared


def _prepare(tiny: Path, folder: Path) -> Prepared:
    pristine = copy_project(tiny, folder / "pristine")
    make_incremental(pristine)
    new_files = write_new_files(folder / "new")
    sqlite_s0 = copy_project(pristine, folder / "sqlite-s0")
    commit_s0(sqlite_s0)
    add_new_files(new_files, sqlite_s0)
    s0 = core_state(urls(sqlite_s0)[0])
    reference = copy_project(sqlite_s0, folder / "reference")
    report = run_in_process(reference, INTEGRATION)
    assert report.committed, report.error
    s1 = core_state(urls(reference)[0])
    assert (s0.rows, s1.rows) == (S0_ROWS, S1_ROWS)
    assert None not in (*s0.checkpoints.values(), *s1.checkpoints.values())
    assert s0.checkpoints != s1.checkpoints
    return Prepared(pristine, new_files, sqlite_s0, s0, s1)


@pytest.fixture(scope="module")
def preparation(tmp_path_factory: pytest.TempPathFactory) -> _Preparation:
    return _Preparation(tmp_path_factory.mktemp("crash"))


@pytest.fixture
def prepared(preparation: _Preparation, tiny: Path) -> Prepared:
    """Built once per module (from the first test's tiny project); tests copy its folders."""
    return preparation.get(tiny)


@dataclass(frozen=True)
class Project:
    root: Path
    core: str
    state: str
    on_sqlite: bool


SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRESQL = pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def at_s0(request: pytest.FixtureRequest, prepared: Prepared, tmp_path: Path) -> Project:
    """A project whose core database holds S0, with new files waiting for the next run."""
    if request.param == "sqlite":
        root = copy_project(prepared.sqlite_s0, tmp_path / "project")
    else:
        url = request.getfixturevalue("postgres_url")
        root = copy_project(prepared.pristine, tmp_path / "project")
        point_databases_at(root, core=url, state=url)
        commit_s0(root)
        add_new_files(prepared.new_files, root)
    core, state = urls(root)
    assert core_state(core) == prepared.s0
    return Project(root, core, state, on_sqlite=request.param == "sqlite")


# --- kills at every failpoint --------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    point: str  # the ISTHMUS_FAILPOINT setting
    committed: bool  # whether the destination had committed S1 when the process died
    recorded: RunStatus  # the killed run's status once the next run took over


# Batches of the run that is killed: teams 1-2 (teams_2.jsonl), then people 3-5.
KILLS = (
    # The run record exists, the lease not yet: the next run, once it holds the lease, knows
    # no other run of the integration can be alive, and marks this one abandoned too.
    Kill("run-created", committed=False, recorded=RunStatus.ABANDONED),
    # Before the commit the destination holds S0 and the run record says running; the
    # next run takes over the expired lease and marks the dead run abandoned.
    Kill("lease-taken", committed=False, recorded=RunStatus.ABANDONED),
    Kill("batch-read:2", committed=False, recorded=RunStatus.ABANDONED),  # teams, mid-stream
    Kill("batch-written:4", committed=False, recorded=RunStatus.ABANDONED),  # people, mid-stream
    Kill("stream-done", committed=False, recorded=RunStatus.ABANDONED),  # teams done, people not
    Kill("before-commit", committed=False, recorded=RunStatus.ABANDONED),
    # The destination committed S1 with its checkpoints, but the run record was never
    # finished: the dead run is abandoned, and recorded as committed, because the
    # destination's checkpoints name it.
    Kill("after-commit", committed=True, recorded=RunStatus.ABANDONED),
    Kill("checkpoint-saved", committed=True, recorded=RunStatus.ABANDONED),
    # The run record was finished as succeeded before the kill, only the lease was left;
    # a takeover abandons only a run still recorded as running.
    Kill("run-finished", committed=True, recorded=RunStatus.SUCCEEDED),
)


def test_the_kills_cover_every_failpoint_of_the_engine() -> None:
    assert sorted({k.point.partition(":")[0] for k in KILLS}) == sorted(POINTS)


def kill_matrix() -> list[object]:
    return [
        pytest.param(
            database.values[0], kill, id=f"{database.id}-{kill.point}", marks=database.marks
        )
        for database in (SQLITE, POSTGRESQL)
        for kill in KILLS
    ]


@pytest.mark.parametrize(("at_s0", "kill"), kill_matrix(), indirect=["at_s0"])
def test_a_run_killed_at_any_instant_leaves_s0_or_s1_and_the_next_run_completes_s1(
    at_s0: Project,
    kill: Kill,
    prepared: Prepared,
) -> None:
    s0, s1 = prepared.s0, prepared.s1
    runs_before = set(store_view(at_s0.state).runs)
    tables_before = table_names(at_s0.core)

    run_killed_at(at_s0.root, kill.point)

    after_kill = core_state(at_s0.core)
    wanted, wanted_name = (s1, "S1") if kill.committed else (s0, "S0")
    assert after_kill == wanted, (
        f"killed at {kill.point}: wanted exactly {wanted_name}, found {named(after_kill, s0, s1)}"
    )
    assert table_names(at_s0.core) == tables_before  # no staging table left behind
    if at_s0.on_sqlite:
        for path in (at_s0.root / ".isthmus/core.db", at_s0.root / ".isthmus/state.db"):
            assert sqlite_integrity(path) == "ok", path
    killed = set(store_view(at_s0.state).runs) - runs_before
    assert len(killed) == 1, f"killed at {kill.point}: new runs {sorted(killed)}"
    killed_id = killed.pop()

    clock = after_lease_expiry()
    recovery = run_in_process(at_s0.root, INTEGRATION, clock=clock)
    assert recovery.status is RunStatus.SUCCEEDED, recovery.error
    # It resumes from the committed checkpoint: only the new files, unless they were in.
    assert [s.records_read for s in recovery.streams] == ([0, 0] if kill.committed else [3, 5])
    recovered = core_state(at_s0.core)
    assert recovered == s1, f"after the next run: {named(recovered, s0, s1)}"
    view = store_view(at_s0.state)
    assert view.lease is None
    assert view.runs[killed_id].status is kill.recorded, view.runs[killed_id]
    assert view.runs[killed_id].committed is kill.committed, view.runs[killed_id]
    # The state store's copy of the checkpoints is the destination's again.
    assert all(v.in_sync for v in show_checkpoints(load_project(at_s0.root), INTEGRATION))

    clock.advance(60)
    again = run_in_process(at_s0.root, INTEGRATION, clock=clock)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert [s.records_read for s in again.streams] == [0, 0]
    assert core_state(at_s0.core) == s1


def test_a_run_killed_before_it_took_its_lease_is_recorded_abandoned_by_the_next_run(
    at_s0: Project,
) -> None:
    runs_before = set(store_view(at_s0.state).runs)
    run_killed_at(at_s0.root, "run-created")
    (killed_id,) = set(store_view(at_s0.state).runs) - runs_before
    recovery = run_in_process(at_s0.root, INTEGRATION, clock=after_lease_expiry())
    assert recovery.status is RunStatus.SUCCEEDED, recovery.error
    killed = store_view(at_s0.state).runs[killed_id]
    assert killed.status is RunStatus.ABANDONED, killed


# --- a connection dropped mid-load ---------------------------------------------------------


class DroppingSource:
    """Reads tenant a's files; the first time it reaches batch ``at``, it terminates every
    other connection to the core database, the destination's open transaction among them."""

    def __init__(self, root: Path, core_url: str, *, at: int = 2) -> None:
        connector = SOURCES["file"]
        self.inner = connector.factory(
            SourceContext(
                options=connector.options(),
                connection=connector.connection(root="data/a"),
                project_root=root,
            )
        )
        self.core_url = core_url
        self.at = at
        self.batches = 0
        self.terminated = 0

    def size_hint(self, request: StreamRequest) -> int | None:
        return self.inner.size_hint(request)

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        for batch in self.inner.read(request):
            self.batches += 1
            if self.batches == self.at and not self.terminated:
                self.terminated = terminate_other_backends(self.core_url)
            yield batch

    def close(self) -> None:
        self.inner.close()


@pytest.mark.postgres
def test_a_connection_dropped_mid_load_is_retried_as_transient_and_loads_s1_once(
    prepared: Prepared, postgres_url: str, tmp_path: Path
) -> None:
    root = copy_project(prepared.pristine, tmp_path / "project")
    point_databases_at(root, core=postgres_url)  # the state store stays on SQLite
    commit_s0(root)
    add_new_files(prepared.new_files, root)
    assert core_state(postgres_url) == prepared.s0
    source = DroppingSource(root, postgres_url)  # batch 2: the last of teams_2.jsonl
    clock = FakeClock(dt.datetime.now(dt.UTC))

    report = run_in_process(root, INTEGRATION, clock=clock, source=source, rng=random.Random(7))

    assert source.terminated >= 1, "no connection of the destination was terminated"
    assert report.status is RunStatus.SUCCEEDED, report.error
    tries = [(a.attempt, a.error_class) for a in report.attempts if a.scope == "run"]
    assert tries == [(1, "transient"), (2, None)], report.attempts
    failed = next(a for a in report.attempts if a.scope == "run")
    assert "cannot write to core table 'team'" in (failed.error or ""), failed
    assert clock.sleeps == [failed.wait_s]  # the retry waited on the fake clock only
    assert [s.records_read for s in report.streams] == [3, 5]  # read again, whole
    assert core_state(postgres_url) == prepared.s1
