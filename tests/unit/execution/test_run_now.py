"""now_utc() in a run: every row of every batch gets the run's recorded start time, however
long the run takes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from isthmus.config import load_project
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import StateStore
from isthmus.testing import FakeClock
from support import sqlite_content

START = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


class TickingClock(FakeClock):
    """A clock a second later at every reading, as a slow run would see it."""

    def now(self) -> dt.datetime:
        self.advance(1)
        return self.current


def _stamp_people(root: Path) -> None:
    person = root / "core/person.yaml"
    person.write_text(
        person.read_text(encoding="utf-8") + "  seen_at: {type: timestamp}\n", encoding="utf-8"
    )
    template = root / "templates/people.yaml"
    text = template.read_text(encoding="utf-8")
    old = "team_id: team}"
    assert text.count(old) == 1
    template.write_text(text.replace(old, "team_id: team, seen_at: now_utc()}"), encoding="utf-8")


def test_every_row_of_a_run_carries_its_recorded_start_time(tiny: Path) -> None:
    _stamp_people(tiny)
    project = load_project(tiny)
    report = run_integration(project, "a-people", RunSettings(clock=TickingClock(START)))
    assert report.succeeded
    store = StateStore.open(database_urls(project).state)
    recorded = store.get_run(report.run_id)
    store.close()
    assert recorded is not None
    people = sqlite_content(tiny / ".isthmus/core.db")["person"]
    assert len(people) == 3  # in two batches: the project's batch size is 2
    stamps = {row[-1] for row in people}
    assert len(stamps) == 1
    (stamp,) = stamps
    assert dt.datetime.fromisoformat(str(stamp)).replace(tzinfo=dt.UTC) == recorded.started_at
    assert recorded.started_at > START  # the clock did tick: the value is not a constant
