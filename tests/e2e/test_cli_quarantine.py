"""`isthmus quarantine list|export|purge` run as a user runs them, on the demo project."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLANTED_EMAIL = "planted.secret.7431@nowhere"
PLANTED_PHONE = "+1 555 0199 7431"
PLANTED_RAW = "malformed.secret.9922@example.com"
# `isthmus demo` makes runs 1 to 5: acme-crm, globex-crm, a scheduled acme-crm run, a replay
# of globex-crm's run 2 and initech-crm (over HTTP); the fixture's run with planted personal
# data comes next.
PLANTED_RUN = 6


def isthmus(*args: str, cwd: Path, columns: int = 140) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": str(columns)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], code: int) -> str:
    """A clean failure: the exit code, a message, never a traceback; the output."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    return output


def planted_contact() -> str:
    record = {
        "Id": "003PLANTED0000001",
        "FirstName": "Plant",
        "LastName": "Ed",
        "Email": PLANTED_EMAIL,  # no dot in the domain: rejected by the email pattern
        "Phone": PLANTED_PHONE,
        "Account": {"Id": "001PLANTED", "Name": "Planted"},
        "CreatedDate": "2024-01-01T00:00:00Z",
        "LastModifiedDate": "2024-01-02T00:00:00Z",
        "LeadScore": "50",
        "Status": "active",
        "OptOut": False,
    }
    return json.dumps(record) + "\n" + '{"Id": "003PLANTED0000002", "Email": "' + PLANTED_RAW + "\n"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo after `isthmus demo` (runs 1 to 5) and a run of acme-crm with planted PII."""
    folder = tmp_path_factory.mktemp("quarantine") / "demo"
    succeeded(isthmus("demo", "--dir", str(folder), cwd=folder.parent))
    contacts = folder / "data/acme/contacts.jsonl"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_text(text + ("" if text.endswith("\n") else "\n") + planted_contact())
    planted = json.loads(succeeded(isthmus("run", "acme-crm", "-f", "json", cwd=folder)))
    assert planted["id"] == PLANTED_RUN
    return folder


@pytest.fixture
def project(demo_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo, for tests that delete or write."""
    return Path(shutil.copytree(demo_dir, tmp_path / "copy"))


def rejected(project: Path, run_id: int) -> int:
    shown = json.loads(succeeded(isthmus("runs", "show", str(run_id), "-f", "json", cwd=project)))
    return sum(int(s["rejected"]) for s in shown["streams"])


def quarantine_rows(project: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(project / ".isthmus/state.db")
    try:
        return connection.execute("SELECT * FROM quarantine ORDER BY id").fetchall()
    finally:
        connection.close()


def test_list_shows_emails_masked_with_the_order_and_masking_stated(demo_dir: Path) -> None:
    out = succeeded(
        isthmus("quarantine", "list", "--field", "email", "--limit", "500", cwd=demo_dir)
    )
    header, columns, *rows = out.splitlines()
    assert "oldest first; values masked" in header
    assert columns.split() == [
        "id", "run", "integration", "origin:position", "rule", "field", "value", "message",
    ]  # fmt: skip
    assert rows
    assert all("***" in row for row in rows if " pattern " in row)
    raw = isthmus("quarantine", "export", "--field", "email", "--unmasked", cwd=demo_dir)
    stored = [json.loads(line)["value"] for line in succeeded(raw).splitlines()]
    assert [v for v in stored if v and "@" in v]
    assert not [v for v in stored if v and v in out]


def test_list_as_json_gives_the_records_the_table_shows(demo_dir: Path) -> None:
    listing = json.loads(
        succeeded(isthmus("quarantine", "list", "--run", "1", "-f", "json", cwd=demo_dir))
    )
    assert (listing["order"], listing["status"], listing["masked"]) == (
        "oldest first",
        "open",
        True,
    )
    assert listing["shown"] == len(listing["records"]) == min(listing["total"], 50)
    assert {r["run_id"] for r in listing["records"]} == {1}
    human = succeeded(isthmus("quarantine", "list", "--run", "1", cwd=demo_dir, columns=200))
    for record in listing["records"]:
        assert f"{record['origin']}:{record['position']}" in human


@pytest.mark.parametrize("columns", [80, 120])
def test_the_table_never_wraps_a_row_on_a_narrow_terminal(demo_dir: Path, columns: int) -> None:
    args = ("quarantine", "list", "--status", "all", "--limit", "1000")
    out = succeeded(isthmus(*args, cwd=demo_dir, columns=columns))
    summary, header, *rows = out.splitlines()
    assert summary.endswith("oldest first; values masked")
    total = json.loads(succeeded(isthmus(*args, "-f", "json", cwd=demo_dir)))["total"]
    assert len(rows) == total  # one line per record
    assert all(len(line) <= columns for line in [header, *rows])
    assert [int(row.split()[0]) for row in rows] == sorted(int(row.split()[0]) for row in rows)


def test_export_csv_writes_one_row_per_record_the_run_rejected(
    demo_dir: Path, tmp_path: Path
) -> None:
    for run_id in (1, 2, PLANTED_RUN):
        target = tmp_path / f"run-{run_id}.csv"
        # Every status: the demo's replay of run 2 resolves or supersedes some of its records.
        args = ["--run", str(run_id), "--status", "all", "--format", "csv", "--out", str(target)]
        out = succeeded(isthmus("quarantine", "export", *args, cwd=demo_dir))
        with target.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
        assert reader.fieldnames is not None
        assert reader.fieldnames[:3] == ["id", "run_id", "integration"]
        assert len(rows) == rejected(demo_dir, run_id) > 0
        assert f"wrote {len(rows):,} quarantined record(s) to {target}" in out
        assert "personal data masked" in out


def test_planted_personal_data_appears_in_no_output_unless_unmasked(
    demo_dir: Path, tmp_path: Path
) -> None:
    target, planted = tmp_path / "all.csv", str(PLANTED_RUN)
    outputs = [
        isthmus("quarantine", "list", "--status", "all", "--limit", "1000", cwd=demo_dir),
        isthmus(
            "quarantine", "list", "--run", planted, "--limit", "1000", "-f", "json", cwd=demo_dir
        ),
        isthmus("quarantine", "export", "--status", "all", cwd=demo_dir),
        isthmus("quarantine", "export", "-f", "csv", "-o", str(target), cwd=demo_dir),
        isthmus("runs", "show", planted, cwd=demo_dir),
    ]
    shown = "".join(succeeded(r) + r.stderr for r in outputs) + target.read_text()
    assert "003PLANTED0000001" in shown  # the planted records are there...
    for secret in (PLANTED_EMAIL, PLANTED_PHONE, PLANTED_RAW, "planted.secret", "malformed.secret"):
        assert secret not in shown  # ...but never their personal data
    unmasked = isthmus("quarantine", "export", "--run", planted, "--unmasked", cwd=demo_dir)
    assert PLANTED_EMAIL in succeeded(unmasked)
    assert PLANTED_PHONE in unmasked.stdout
    assert PLANTED_RAW in unmasked.stdout
    assert unmasked.stderr.strip() == (
        "warning: --unmasked shows personal data as stored; do not share this output"
    )


def test_purge_older_than_refuses_without_yes_and_deletes_exactly_the_old_records_with_it(
    project: Path,
) -> None:
    fresh = succeeded(isthmus("quarantine", "purge", "--older-than", "30d", cwd=project))
    assert fresh.strip() == "no quarantined records match: nothing deleted"
    before = quarantine_rows(project)
    old = rejected(project, 1)
    connection = sqlite3.connect(project / ".isthmus/state.db")
    with connection:
        connection.execute(
            "UPDATE quarantine SET created_at = '2020-01-01 00:00:00.000000' WHERE run_id = 1"
        )
    connection.close()
    aged = quarantine_rows(project)

    refused = failed(isthmus("quarantine", "purge", "--older-than", "30d", cwd=project), 1)
    assert f"error: this purge would delete {old:,} quarantined record(s)" in refused
    assert "hint: pass --yes to delete them for good" in refused
    dry = succeeded(isthmus("quarantine", "purge", "--older-than", "30d", "--dry-run", cwd=project))
    assert dry.strip() == f"dry run: {old:,} quarantined record(s) would be deleted"
    assert quarantine_rows(project) == aged

    done = succeeded(isthmus("quarantine", "purge", "--older-than", "30d", "--yes", cwd=project))
    assert done.strip() == f"deleted {old:,} quarantined record(s)"
    assert quarantine_rows(project) == [r for r in aged if r[1] != 1]
    assert len(before) - len(quarantine_rows(project)) == old


def test_purge_of_one_run_reports_json_and_leaves_the_other_runs(project: Path) -> None:
    result = isthmus("quarantine", "purge", "--run", "2", "--yes", "-f", "json", cwd=project)
    assert json.loads(succeeded(result)) == {
        "selected": rejected(project, 2),
        "deleted": rejected(project, 2),
        "dry_run": False,
    }
    assert {r[1] for r in quarantine_rows(project)} == {1, 3, 4, 5, PLANTED_RUN}


@pytest.mark.parametrize(
    ("args", "code", "messages"),
    [
        (
            ["list", "--status", "stale"],
            2,
            ["Invalid value for '--status'", "'stale' is not one of", "'superseded', 'all'"],
        ),
        (
            ["purge", "--older-than", "30 days", "--yes"],
            2,
            ["Invalid value for '--older-than'", "write a number and a unit: 30s, 15m, 2h or 1d"],
        ),
        (
            ["export", "--older-than", "1w"],
            2,
            ["'1w' is not a duration"],
        ),
        (
            ["purge", "--yes"],
            2,
            ["a purge needs an age or a run; pass --older-than 30d, --run RUN_ID, or both"],
        ),
        (
            ["list", "--run", "999"],
            1,
            ["error: no run 999 in the state store", "hint: `isthmus runs` lists recent runs"],
        ),
        (
            ["purge", "--run", "999", "--yes"],
            1,
            ["error: no run 999 in the state store"],
        ),
        (
            ["export", "--format", "xml"],
            2,
            ["Invalid value for '--format'", "'jsonl', 'csv'"],
        ),
    ],
)
def test_bad_input_is_one_clear_error_with_its_exit_code_and_changes_nothing(
    project: Path, args: list[str], code: int, messages: list[str]
) -> None:
    before = quarantine_rows(project)
    result = isthmus("quarantine", *args, cwd=project)
    output = failed(result, code)
    for message in messages:
        assert message in output
    assert result.stdout == ""
    assert quarantine_rows(project) == before


def test_an_export_that_cannot_be_written_writes_nothing_anywhere(
    project: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no/such/out.csv"
    output = failed(isthmus("quarantine", "export", "--out", str(missing), cwd=project), 1)
    assert (
        f"error: cannot export to {missing}: the folder {missing.parent} does not exist" in output
    )
    assert "hint: create the folder first" in output
    assert not (tmp_path / "no").exists()
    folder = failed(isthmus("quarantine", "export", "--out", str(tmp_path), cwd=project), 2)
    assert "is a directory" in folder
    target = tmp_path / "kept.jsonl"
    target.write_text("previous export\n")
    failed(isthmus("quarantine", "export", "--run", "999", "--out", str(target), cwd=project), 1)
    assert target.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "kept.jsonl"]
