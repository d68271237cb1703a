"""`isthmus scheduler`, `pause`, `resume` and `schedule`, run as a user runs them: a real
process on the demo project. Every wait is bounded."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.demo import DemoProject
from isthmus.execution import database_urls
from isthmus.store import StateStore

BOUND = 30.0  # seconds: the longest any step may take
# A wide terminal, whatever the one running the tests says (readline may export COLUMNS=80).
ENV = {**os.environ, "COLUMNS": "160", "PYTHONUNBUFFERED": "1"}


def isthmus(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=ENV,
    )


def clean(result: subprocess.CompletedProcess[str], code: int) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    return output


def schedule_json(project: Path) -> dict[str, dict[str, object]]:
    result = isthmus("schedule", "--format", "json", project=project)
    clean(result, 0)
    return {row["integration"]: row for row in json.loads(result.stdout)["integrations"]}


def make_due(project: Path, integration: str) -> None:
    """As if the scheduler had been down past the integration's fire time."""
    store = StateStore.open(database_urls(load_project(project)).state)
    try:
        store.set_next_run(integration, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    finally:
        store.close()


@pytest.fixture
def project(demo: DemoProject) -> Path:
    """The demo project (its template runs every 30 minutes); the scheduler ticks each second."""
    with (demo.root / "isthmus.yaml").open("a", encoding="utf-8") as file:
        file.write("scheduler: {tick: 1s}\n")
    return demo.root


def test_scheduler_once_runs_the_due_integration_and_records_trigger_schedule(
    project: Path,
) -> None:
    make_due(project, "acme-crm")
    output = clean(isthmus("scheduler", "--once", project=project), 0)
    assert "acme-crm: run 1 succeeded" in output
    assert "globex-crm" not in output  # first sight: its next fire time is only stored
    runs = json.loads(isthmus("runs", "--format", "json", project=project).stdout)["runs"]
    assert [(r["integration"], r["trigger"], r["status"]) for r in runs] == [
        ("acme-crm", "schedule", "succeeded")
    ]
    rows = schedule_json(project)
    assert rows["acme-crm"]["last_run_id"] == 1
    assert not rows["acme-crm"]["due"]
    # Nothing is due any more: a second pass runs nothing.
    assert "nothing was due" in clean(isthmus("scheduler", "--once", project=project), 0)


def test_scheduler_once_exits_1_when_a_scheduled_run_fails(project: Path) -> None:
    (project / "data/acme/contacts.jsonl").unlink()
    make_due(project, "acme-crm")
    output = clean(isthmus("scheduler", "--once", project=project), 1)
    assert "acme-crm: run 1 failed" in output
    assert "no file matches 'contacts.jsonl'" in output
    assert schedule_json(project)["acme-crm"]["consecutive_failures"] == 1


def test_schedule_lists_every_integration_with_its_next_fire_time_in_utc_and_its_zone(
    project: Path,
) -> None:
    template = project / "templates/crm-contacts-2.1.0.yaml"
    template.write_text(
        template.read_text().replace("sync:\n", "sync:\n  timezone: America/New_York\n", 1)
    )
    rows = schedule_json(project)
    assert sorted(rows) == ["acme-crm", "globex-crm", "initech-crm"]
    unscheduled = rows.pop("initech-crm")  # its template declares no schedule: runs on demand
    assert (unscheduled["schedule"], unscheduled["next_run_at"], unscheduled["due"]) == (
        None,
        None,
        False,
    )
    now = dt.datetime.now(dt.UTC)
    # acme overrides the template's schedule, under an exception to the policy's minimum.
    assert {name: row["schedule"] for name, row in rows.items()} == {
        "acme-crm": "*/10 * * * *",
        "globex-crm": "*/30 * * * *",
    }
    for row in rows.values():
        assert row["timezone"] == "America/New_York"
        assert (row["paused"], row["consecutive_failures"], row["problem"]) == (False, 0, None)
        utc = dt.datetime.fromisoformat(str(row["next_run_at"]))
        local = dt.datetime.fromisoformat(str(row["next_run_local"]))
        assert utc == local
        assert now < utc <= now + dt.timedelta(minutes=33)  # 30 min + at most 3 min jitter
        assert local.utcoffset() in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
    human = clean(isthmus("schedule", project=project), 0)
    assert "America/New_York" in human
    assert "scheduled" in human


def test_pause_and_resume_change_what_schedule_shows(project: Path) -> None:
    output = clean(
        isthmus("pause", "acme-crm", "--reason", "CRM migration until Monday", project=project),
        0,
    )
    assert "acme-crm paused: CRM migration until Monday" in output
    rows = schedule_json(project)
    assert rows["acme-crm"]["paused"] is True
    assert rows["acme-crm"]["paused_reason"] == "CRM migration until Monday"
    assert rows["acme-crm"]["next_run_at"] is None
    assert rows["globex-crm"]["paused"] is False
    human = clean(isthmus("schedule", project=project), 0)
    assert "acme-crm paused: CRM migration until Monday" in human
    # A paused integration does not run even when its fire time has passed.
    make_due(project, "acme-crm")
    assert "nothing was due" in clean(isthmus("scheduler", "--once", project=project), 0)

    assert "acme-crm resumed" in clean(isthmus("resume", "acme-crm", project=project), 0)
    rows = schedule_json(project)
    assert (rows["acme-crm"]["paused"], rows["acme-crm"]["paused_reason"]) == (False, None)
    assert rows["acme-crm"]["consecutive_failures"] == 0


def test_pause_and_resume_of_an_unknown_integration_name_the_known_ones(project: Path) -> None:
    for command in ("pause", "resume"):
        output = clean(isthmus(command, "acme-crn", project=project), 1)
        assert "error: no integration named 'acme-crn'" in output
        assert "hint: integrations in this project: acme-crm, globex-crm" in output


def test_pause_without_an_integration_is_a_usage_error(project: Path) -> None:
    assert isthmus("pause", project=project).returncode == 2


class SchedulerProcess:
    """`isthmus scheduler` in a real process, its output read as it comes, every wait
    bounded. Reads go straight to the pipes (no buffered reader can hide a line from
    select), and what was read is kept for the final output."""

    def __init__(self, project: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "isthmus", "scheduler", "--project", str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.fds = {"stdout": self.process.stdout.fileno(), "stderr": self.process.stderr.fileno()}
        self.read = {"stdout": b"", "stderr": b""}
        self.pending = {"stdout": b"", "stderr": b""}

    def wait_for(self, stream: str, text: str) -> None:
        deadline = time.monotonic() + BOUND
        while True:
            *lines, self.pending[stream] = self.pending[stream].split(b"\n")
            if any(text.encode() in line for line in lines):
                return
            left = deadline - time.monotonic()
            ready = select.select([self.fds[stream]], [], [], max(left, 0))[0]
            chunk = os.read(self.fds[stream], 65536) if ready else b""
            if not chunk:
                self.kill()
                pytest.fail(f"no {stream} line with {text!r} within {BOUND} s: {self.read}")
            self.read[stream] += chunk
            self.pending[stream] += chunk

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self) -> tuple[int, str, str]:
        """Wait (bounded) for the process to exit: its exit code, stdout and stderr."""
        try:
            stdout, stderr = self.process.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the scheduler did not exit within {BOUND} s of the signal")
        out = (self.read["stdout"] + stdout).decode()
        return self.process.returncode, out, (self.read["stderr"] + stderr).decode()

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate()


def start_scheduler(project: Path) -> SchedulerProcess:
    process = SchedulerProcess(project)
    process.wait_for("stderr", "scheduler running")  # its signal handlers are installed
    return process


def started_run(project: Path, batch_size: int) -> SchedulerProcess:
    """A scheduler whose acme-crm run has started, in batches of ``batch_size`` records."""
    template = next((project / "templates").glob("*.yaml"))
    template.write_text(
        template.read_text().replace("batch_size: 5000", f"batch_size: {batch_size}")
    )
    make_due(project, "acme-crm")
    process = start_scheduler(project)
    process.wait_for("stdout", "acme-crm: started")
    return process


def recorded_run(project: Path) -> dict[str, object]:
    result = isthmus("runs", "show", "1", "--format", "json", project=project)
    clean(result, 0)
    run: dict[str, object] = json.loads(result.stdout)
    return run


def test_the_scheduler_exits_0_soon_after_sigterm_when_idle(project: Path) -> None:
    process = start_scheduler(project)
    process.signal(signal.SIGTERM)
    code, _, stderr = process.stop()
    assert code == 0, stderr
    assert "scheduler stopped" in stderr
    assert "Traceback" not in stderr


def test_a_first_sigterm_lets_the_running_run_finish_then_exits_0(project: Path) -> None:
    process = started_run(project, batch_size=10)  # a few seconds of batches
    process.signal(signal.SIGTERM)
    code, stdout, stderr = process.stop()
    assert code == 0, stderr
    assert "acme-crm: run 1 succeeded" in stdout
    run = recorded_run(project)
    assert (run["status"], run["committed"], run["trigger"]) == ("succeeded", True, "schedule")


def test_a_second_signal_stops_the_running_run_which_rolls_back_then_exits_0(
    project: Path,
) -> None:
    process = started_run(project, batch_size=1)  # most of a minute of batches
    process.signal(signal.SIGINT)
    # Two signals sent at once reach Python's handler as one: wait until the first is seen.
    process.wait_for("stderr", "scheduler.draining")
    process.signal(signal.SIGINT)
    code, stdout, stderr = process.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "acme-crm: run 1 cancelled" in stdout
    run = recorded_run(project)
    assert (run["status"], run["committed"]) == ("cancelled", False)
    assert "second stop signal" in str(run["error"])
    store = StateStore.open(database_urls(load_project(project)).state)
    try:
        assert store.lease_holder("acme-crm") is None
    finally:
        store.close()
