"""Source fields declared decimal or json, through a whole run on SQLite: values convert
exactly, and a value that does not convert (text that is no number, a number with too many
digits, text that is not JSON) quarantines its row with rule ``type`` naming the field,
never failing the batch; a run past the rejection threshold writes nothing."""

from __future__ import annotations

import decimal
import json
import sqlite3
from pathlib import Path
from typing import Any

from isthmus.config import load_project
from isthmus.execution import RunSettings, run_integration
from isthmus.store import RunStatus
from isthmus.testing import FakeClock
from isthmus.validation import validate_project
from support_decimal_json import write_ledger_project

GOOD = (
    "Id,Amount,Details\n"
    'p1,12345678901234567890.123456789,"{""card"": {""last4"": ""4242""}, ""tags"": [1, 2.5]}"\n'
    'p2,-0.000000001,"""just text"""\n'
    "p3,1e3,\n"
)
BAD = (
    "p4,twelve,{}\n"
    "p5,123456789012345678901234567890,[]\n"  # 30 digits before the point: too many
    "p6,1.5,{not json\n"
)


def run(root: Path) -> Any:
    return run_integration(load_project(root), "acme-ledger", RunSettings(clock=FakeClock()))


def core_rows(root: Path) -> dict[str, tuple[str, str | None]]:
    path = root / ".isthmus/core.db"
    if not path.exists():
        return {}
    connection = sqlite3.connect(path)
    try:
        found = connection.execute("SELECT name FROM sqlite_master WHERE name = 'payment'")
        if found.fetchone() is None:
            return {}
        rows = connection.execute("SELECT payment_id, amount, details FROM payment").fetchall()
    finally:
        connection.close()
    return {key: (amount, details) for key, amount, details in rows}


def test_the_project_validates(tmp_path: Path) -> None:
    root = write_ledger_project(tmp_path, GOOD)
    assert [str(d) for d in validate_project(load_project(root)) if d.is_error] == []


def test_decimals_and_json_values_load_exactly(tmp_path: Path) -> None:
    report = run(write_ledger_project(tmp_path, GOOD))

    assert report.status is RunStatus.SUCCEEDED
    stored = core_rows(tmp_path)
    assert {k: decimal.Decimal(v[0]) for k, v in stored.items()} == {
        "p1": decimal.Decimal("12345678901234567890.123456789"),
        "p2": decimal.Decimal("-0.000000001"),
        "p3": decimal.Decimal("1000"),
    }
    assert json.loads(stored["p1"][1] or "") == {"card": {"last4": "4242"}, "tags": [1, 2.5]}
    assert json.loads(stored["p2"][1] or "") == "just text"
    assert stored["p3"][1] is None


def test_values_that_do_not_convert_quarantine_their_rows_naming_the_field(
    tmp_path: Path,
) -> None:
    report = run(write_ledger_project(tmp_path, GOOD + BAD))

    assert report.status is RunStatus.SUCCEEDED
    assert sorted((r.rule, r.field, r.count) for r in report.reasons) == [
        ("type", "Amount", 2),
        ("type", "Details", 1),
    ]
    counts = report.streams[0]
    assert (counts.records_read, counts.loaded, counts.rejected) == (6, 3, 3)
    assert sorted(core_rows(tmp_path)) == ["p1", "p2", "p3"]  # nothing of p4-p6 written
    quarantined = quarantine(tmp_path)
    assert sorted((q[0], q[1], q[2]) for q in quarantined) == [
        ("p4", "type", "Amount"),
        ("p5", "type", "Amount"),
        ("p6", "type", "Details"),
    ]
    messages = {q[0]: q[3] for q in quarantined}
    assert messages["p4"] == "is declared decimal; the value does not convert"
    assert messages["p6"] == "is declared json; the value does not convert"


def test_a_run_past_the_rejection_threshold_writes_nothing(tmp_path: Path) -> None:
    report = run(write_ledger_project(tmp_path, GOOD + BAD, max_rejected=0.1))

    assert report.status is RunStatus.FAILED
    assert core_rows(tmp_path) == {}
    assert not (tmp_path / "exports/payments-out.jsonl").exists()


def test_the_write_back_sends_decimals_as_numbers_and_json_values_embedded(
    tmp_path: Path,
) -> None:
    report = run(write_ledger_project(tmp_path, GOOD))

    assert report.status is RunStatus.SUCCEEDED
    lines = (tmp_path / "exports/payments-out.jsonl").read_text(encoding="utf-8").splitlines()
    sent = {r["Id"]: r for r in (json.loads(line, parse_float=decimal.Decimal) for line in lines)}
    assert sent["p1"]["Amount"] == decimal.Decimal("12345678901234567890.123456789")
    assert sent["p1"]["Details"] == {"card": {"last4": "4242"}, "tags": [1, decimal.Decimal("2.5")]}
    assert sent["p2"]["Amount"] == decimal.Decimal("-0.000000001")
    assert sent["p2"]["Details"] == "just text"
    assert sent["p3"] == {"Id": "p3", "Amount": 1000, "Details": None}


def quarantine(root: Path) -> list[tuple[str, str, str, str]]:
    connection = sqlite3.connect(root / ".isthmus/state.db")
    try:
        return connection.execute(
            "SELECT record_id, rule, field, message FROM quarantine ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
