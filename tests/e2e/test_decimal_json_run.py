"""`isthmus run` of a small project whose source declares decimal and json fields, as a user
runs it: exact decimals and JSON values in the core table (SQLite) and in the write-back
file, and rows whose values do not convert quarantined and reported by field."""

from __future__ import annotations

import decimal
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from support_decimal_json import write_ledger_project

RECORDS = [
    {"Id": "p1", "Amount": "12345678901234567890.123456789", "Details": {"tags": ["a", 1]}},
    {"Id": "p2", "Amount": "-0.000000001", "Details": "plain text"},
    {"Id": "p3", "Amount": "1.5e400", "Details": [True, None]},  # no decimal holds it
]


def isthmus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_loads_decimals_and_json_exactly_and_quarantines_what_does_not_convert(
    tmp_path: Path,
) -> None:
    data = "".join(json.dumps(r) + "\n" for r in RECORDS)
    root = write_ledger_project(tmp_path, data, extension="jsonl")

    result = isthmus("run", "acme-ledger", "-f", "json", cwd=root)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "succeeded"
    payments = next(s for s in report["streams"] if s["stream"] == "payments")
    assert (payments["read"], payments["loaded"], payments["rejected"]) == (3, 2, 1)
    connection = sqlite3.connect(root / ".isthmus/core.db")
    try:
        rows = {
            key: (amount, details)
            for key, amount, details in connection.execute(
                "SELECT payment_id, amount, details FROM payment"
            )
        }
    finally:
        connection.close()
    assert rows["p1"][0] == "12345678901234567890.123456789"
    assert rows["p2"][0] == "-0.000000001"
    assert json.loads(rows["p1"][1]) == {"tags": ["a", 1]}
    assert json.loads(rows["p2"][1]) == "plain text"
    assert "p3" not in rows
    out = (root / "exports/payments-out.jsonl").read_text(encoding="utf-8").splitlines()
    sent = {r["Id"]: r for r in (json.loads(x, parse_float=decimal.Decimal) for x in out)}
    assert sent["p1"]["Amount"] == decimal.Decimal("12345678901234567890.123456789")
    assert sent["p2"]["Details"] == "plain text"

    shown = isthmus("quarantine", "list", "-f", "json", cwd=root)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Amount" in shown.stdout
    assert "type" in shown.stdout
