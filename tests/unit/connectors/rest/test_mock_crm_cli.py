"""`isthmus mock-crm` serves in the foreground, says where and with which credentials, and
stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx


def test_the_command_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "isthmus", "mock-crm", "--port", "0", "--contacts", "5"]
    command += [
        "--auth",
        "api_key_header",
        "--pagination",
        "page_number",
        "--fault",
        "error_next=1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("mock CRM listening on http://127.0.0.1:"), first
        url = first.split()[4]
        banner = [process.stdout.readline() for _ in range(5)]
        assert "api_key_header: X-API-Key: mock-api-key" in banner[0]
        assert "faults:     error_next=1" in "".join(banner)
        headers = {"X-API-Key": "mock-api-key"}
        assert httpx.get(f"{url}/contacts", headers=headers).status_code == 503
        answer = httpx.get(f"{url}/contacts", headers=headers)
        assert answer.status_code == 200
        assert answer.json()["total"] == 5
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip().endswith("mock CRM stopped")


def test_an_unknown_fault_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "isthmus", "mock-crm", "--fault", "explode=1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown faults ['explode']" in result.stderr
