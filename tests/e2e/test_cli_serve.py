"""`isthmus serve` as a user runs it: a real process on a loopback port takes signed
deliveries over HTTP; runs of the integration then load exactly the delivered records, once,
quarantining the bad ones. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from isthmus.config import load_project
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.execution.models import RunReport
from isthmus.store import RunStatus, StateStore
from support import sqlite_content
from support_webhooks import ACME_SECRET, ENVIRON, MAX_BODY, signed, write_hook_project

BOUND = 30.0  # seconds: the longest any step may take
ACME = "/hooks/acme/acme-hooks/contacts"
MARKER = "body-marker-e2e"
ISTHMUS = [sys.executable, "-m", "isthmus"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_hook_project(tmp_path / "hooks")


@pytest.fixture
def server(project: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`isthmus serve` on a free port: its base URL and the file its output goes to."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*ISTHMUS, "serve", "--project", str(project), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENVIRON, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_listening(process, port, log)
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=BOUND)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"isthmus serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"isthmus serve did not listen within {BOUND} s:\n{log.read_text()}")


def deliver(client: httpx.Client, event_id: str, record: Any) -> httpx.Response:
    body, headers = signed(event_id, record, time.time())
    return client.post(ACME, content=body, headers=headers)


def run(project: Path) -> RunReport:
    return run_integration(load_project(project), "acme-hooks", RunSettings(environ=ENVIRON))


def contacts(project: Path) -> list[tuple[Any, ...]]:
    return sqlite_content(project / ".isthmus/core.db").get("contact", [])


def test_delivered_events_load_once_through_runs_and_bad_records_are_quarantined(
    project: Path, server: tuple[str, Path]
) -> None:
    url, log = server
    with httpx.Client(base_url=url, timeout=BOUND) as client:
        good = [
            deliver(client, "msg_1", {"id": "c1", "email": " Ann@Example.com ", "age": 31}),
            deliver(client, "msg_2", {"id": "c2", "email": "bo@example.com", "age": "45"}),
            deliver(client, "msg_3", {"id": "c3", "email": MARKER, "address": {"city": "Oslo"}}),
        ]
        assert [r.status_code for r in good] == [202, 202, 202]
        seqs = [r.json()["event"] for r in good]
        again = deliver(client, "msg_1", {"id": "c1", "email": "changed@example.com"})
        assert (again.status_code, again.json()) == (200, {"status": "duplicate", "event": seqs[0]})
        bad_age = deliver(client, "msg_4", {"id": "c4", "email": "cy@example.com", "age": "old"})
        bad_shape = deliver(client, "msg_5", {"id": "c5", "email": "d@x.io", "address": "Oslo"})
        assert (bad_age.status_code, bad_shape.status_code) == (202, 202)
        forged = client.post(
            ACME, content=b'{"id": "c9"}', headers={**signed("msg_9", {}, time.time())[1]}
        )
        assert forged.status_code == 401
        # A body streamed without Content-Length is cut off once past the limit.
        body, headers = signed("msg_big", {"id": "c8", "pad": "x" * MAX_BODY}, time.time())
        big = client.post(ACME, content=iter([body[:1024], body[1024:]]), headers=headers)
        assert big.status_code == 413

        first = run(project)
        assert first.status is RunStatus.SUCCEEDED, first.error
        (stream,) = first.streams
        assert (stream.records_read, stream.loaded, stream.inserted, stream.rejected) == (
            5,
            3,
            3,
            2,
        )
        assert contacts(project) == [
            ("acme", "c1", "ann@example.com", 31, None),
            ("acme", "c2", "bo@example.com", 45, None),
            ("acme", "c3", MARKER, None, "Oslo"),
        ]
        store = StateStore.open(database_urls(load_project(project)).state)
        try:
            entries = store.quarantine_entries(first.run_id)
        finally:
            store.close()
        found = {(e.rule, e.record_id, e.origin) for e in entries}
        assert found == {("to_int", "c4", "webhook events"), ("malformed", None, "webhook events")}
        assert sorted(e.position for e in entries) == [
            bad_age.json()["event"],
            bad_shape.json()["event"],
        ]

        second = run(project)
        assert second.status is RunStatus.SUCCEEDED
        assert second.streams[0].records_read == 0
        assert len(contacts(project)) == 3

        update = deliver(client, "msg_6", {"id": "c2", "email": "bo@new.example.com", "age": 46})
        assert update.status_code == 202
        third = run(project)
        assert (third.streams[0].records_read, third.streams[0].updated) == (1, 1)
        assert ("acme", "c2", "bo@new.example.com", 46, None) in contacts(project)
        assert len(contacts(project)) == 3
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "webhook delivery refused" in output
    assert MARKER not in output
    assert ACME_SECRET not in output


def test_the_command_line_loads_fastapi_and_uvicorn_only_when_serving() -> None:
    probe = (
        "import sys; from isthmus.cli.app import app; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=BOUND
    )
    assert result.stdout.strip() == "[]"
