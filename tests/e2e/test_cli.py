"""The isthmus command line, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from support import sqlite_content

# A wide terminal, whatever the one running the tests says: the run tables of the demo
# (stream names such as writeback:contact_status) are wider than 80 columns.
ENV = {**os.environ, "COLUMNS": "160"}


def isthmus(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """A user-facing failure: the exit code, a message, and never a traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    return output


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`isthmus demo` in a new folder: the folder and what the demo printed."""
    folder = tmp_path_factory.mktemp("cli") / "demo"
    result = isthmus("demo", "--dir", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    return folder, result.stdout


@pytest.fixture(scope="module")
def demo_dir(demo_run: tuple[Path, str]) -> Path:
    return demo_run[0]


def test_demo_writes_validates_runs_and_summarises_both_tenants(demo_dir: Path) -> None:
    # The module fixture ran `isthmus demo`; its summary is in the state store and on disk.
    for tenant in ("acme", "globex"):
        report = json.loads((demo_dir / f"data/{tenant}/generator-report.json").read_text())
        assert report["contacts"]["total_spoiled"] > 0
    result = isthmus("runs", "--format", "json", cwd=demo_dir)
    runs = json.loads(result.stdout)["runs"]
    assert [(r["id"], r["integration"], r["trigger"]) for r in runs if r["id"] <= 4] == [
        (4, "globex-crm", "replay"),
        (3, "acme-crm", "schedule"),
        (2, "globex-crm", "manual"),
        (1, "acme-crm", "manual"),
    ]


def test_demo_output_names_counts_reasons_and_databases(tmp_path: Path) -> None:
    result = isthmus("demo", "--dir", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "d/data/acme/generator-report.json").read_text())
    out = result.stdout
    assert "valid: 2 entities, 2 template version(s), 3 integration(s)" in out
    assert "run 1  acme-crm (tenant acme)  succeeded  committed" in out
    contacts = report["contacts"]
    assert f"{contacts['records']:,}" in out
    assert f"{contacts['good']:,}" in out
    assert "rejected records by rule and field (personal data masked):" in out
    assert f"core database: sqlite:///{(tmp_path / 'd/.isthmus/core.db').resolve()}" in out
    assert f"state store:   sqlite:///{(tmp_path / 'd/.isthmus/state.db').resolve()}" in out
    next_steps = out[out.index("next steps:") :]
    assert " test   # the fixture cases under tests/" in next_steps
    assert " check acme-crm   # a dry run on a sample of the source: writes nothing" in next_steps


def section(output: str, heading: str) -> str:
    """The demo's output from ``heading`` to the next step's heading."""
    start = output.index(heading)
    end = output.find("\n== ", start + len(heading))
    return output[start : end if end >= 0 else len(output)]


def generator_report(folder: Path, tenant: str) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = json.loads(
        (folder / f"data/{tenant}/generator-report.json").read_text()
    )
    return report


def stream_row(name: str, *counts: int) -> str:
    """A row of a run's streams table: name, status succeeded, read, loaded, inserted,
    updated, rejected, skipped; then the duration."""
    numbers = r"\s+".join(f"{n:,}" for n in counts)
    return rf"^{name}\s+succeeded\s+{numbers}\s+\d+\.\d\d s$"


def shown_run(folder: Path, run_id: int) -> dict[str, Any]:
    result = isthmus("runs", "show", str(run_id), "--format", "json", cwd=folder)
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_demo_retries_globex_through_its_injected_transient_failure_with_unchanged_numbers(
    demo_run: tuple[Path, str],
) -> None:
    folder, out = demo_run
    block = section(out, "== globex-crm: a transient failure, retried")
    assert (
        "injected: the demo makes globex's first write fail as if the database had dropped "
        "the connection;"
    ) in block
    assert "run 2  globex-crm (tenant globex)  succeeded  committed" in block
    attempts = [line for line in block.splitlines() if line.startswith("  attempt ")]
    assert len(attempts) == 2
    assert re.fullmatch(
        r"  attempt 1  run  failed \(transient\): injected failure on write to account, "
        r"write 1  then waited \d\.\d\d s",
        attempts[0],
    )
    assert attempts[1] == "  attempt 2  run  succeeded"
    report = generator_report(folder, "globex")
    accounts, contacts = report["accounts"], report["contacts"]
    duplicates = contacts["good"] - contacts["distinct_good_ids"]
    for row in (
        stream_row("accounts", accounts["records"], accounts["good"], accounts["good"], 0,
                   accounts["total_spoiled"], 0),
        stream_row("contacts", contacts["records"], contacts["good"],
                   contacts["distinct_good_ids"], duplicates, contacts["total_spoiled"], 0),
    ):  # fmt: skip
        assert re.search(row, block, re.MULTILINE), row
    tries = [a for a in shown_run(folder, 2)["attempts"] if a["scope"] == "run"]
    assert [(a["attempt"], a["error_class"]) for a in tries] == [(1, "transient"), (2, None)]
    assert 0 <= tries[0]["wait_s"] <= 1.0  # full jitter under the 1 s initial delay
    assert tries[1]["wait_s"] is None


def test_demo_shows_a_scheduled_run_recorded_with_trigger_schedule(
    demo_run: tuple[Path, str],
) -> None:
    folder, out = demo_run
    block = section(out, "== a scheduled run")
    assert re.search(
        r"^acme-crm: run 3 succeeded \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$",
        block,
        re.MULTILINE,
    )
    assert "run 3  acme-crm (tenant acme)  succeeded  committed" in block
    assert re.search(r"config [0-9a-f]{12}  trigger schedule$", block, re.MULTILINE)
    contacts = generator_report(folder, "acme")["contacts"]
    duplicates = contacts["good"] - contacts["distinct_good_ids"]
    # The second read of the same export updates each contact once, from its newest version;
    # the older versions of a duplicated contact are skipped by the cursor field.
    assert re.search(
        stream_row("contacts", contacts["records"], contacts["distinct_good_ids"], 0,
                   contacts["distinct_good_ids"], contacts["total_spoiled"], duplicates),
        block,
        re.MULTILINE,
    )  # fmt: skip
    shown = shown_run(folder, 3)
    assert (shown["trigger"], shown["status"]) == ("schedule", "succeeded")


def replay_counts(folder: Path) -> tuple[int, int, int]:
    """What a replay of globex's run can do: records replayed (every rejected one that was a
    record), those the status fix repairs ("Pending Review", spoiled in that way only), and
    the malformed ones it leaves."""
    report = generator_report(folder, "globex")
    malformed = report["contacts"]["spoiled"]["malformed"]
    rejected = report["contacts"]["total_spoiled"] + report["accounts"]["total_spoiled"]
    pending = (
        (folder / "data/globex/contacts.csv").read_text(encoding="utf-8").count("Pending Review")
    )
    assert pending > 0
    return rejected - malformed, pending, malformed


def test_demo_fixes_globex_status_mapping_by_appending_a_commented_override_then_replays(
    demo_run: tuple[Path, str],
) -> None:
    folder, out = demo_run
    block = section(out, "== a mapping fix, then a replay")
    replayed, pending, _ = replay_counts(folder)
    assert (
        f'run 2 quarantined {pending} globex-crm contact(s) whose Status is "Pending Review" '
        "(rule lookup, field status)"
    ) in block
    bundled = resources.files("isthmus.demo") / "files/integrations/globex/crm.yaml"
    original = bundled.read_text(encoding="utf-8")
    fixed = (folder / "integrations/globex/crm.yaml").read_text(encoding="utf-8")
    assert fixed.startswith(original)  # appended: every line and comment kept
    added = fixed[len(original) :].splitlines()
    assert added[:3] == ["  mappings:", "    contacts:", "      fields:"]
    assert added[3].startswith('        # Globex marks contacts it has not qualified yet "Pending')
    assert "'pending review': 'prospect'}, ignore_case=True)" in added[-1]
    shown_fix = [
        line.removeprefix("  + ") for line in block.splitlines() if line.startswith("  + ")
    ]
    assert shown_fix == added
    valid = json.loads(isthmus("validate", "--format", "json", cwd=folder).stdout)
    assert valid["valid"] is True
    # Only the note of acme's approved exception to the schedule rule.
    assert [(d["code"], d["severity"]) for d in valid["diagnostics"]] == [
        ("schedule-min-interval", "info")
    ]
    replay = shown_run(folder, 4)
    assert (replay["integration"], replay["trigger"]) == ("globex-crm", "replay")
    assert replay["note"] == f"replay of {replayed} records quarantined by run 2"


def test_demo_replay_loads_exactly_the_pending_review_contacts_and_keeps_the_rest(
    demo_run: tuple[Path, str],
) -> None:
    folder, out = demo_run
    replayed, pending, malformed = replay_counts(folder)
    assert (
        f"replayed {replayed} records: {pending} loaded and left the quarantine, "
        f"{replayed - pending} rejected again (now quarantined by run 4), {malformed} "
        "malformed records left as they were"
    ) in section(out, "== a mapping fix, then a replay")
    resolved = isthmus(
        "quarantine", "list", "--run", "2", "--status", "resolved", "-f", "json", cwd=folder
    )
    records = json.loads(resolved.stdout)["records"]
    assert [(r["rule"], r["field"], r["value"]) for r in records] == [
        ("lookup", "status", "Pending Review")
    ] * pending


def test_demo_reads_initech_over_http_through_faults_and_writes_back_once(
    demo_run: tuple[Path, str],
) -> None:
    folder, out = demo_run
    block = section(out, "== initech-crm: a CRM's REST API, with faults")
    assert "run 5  initech-crm (tenant initech)  succeeded  committed" in block
    report = generator_report(folder, "initech")
    accounts, contacts = report["accounts"], report["contacts"]
    repeats = -(-contacts["records"] // 100) - 1  # each page but the first repeats a record
    read = contacts["records"] + repeats
    loaded = read - contacts["total_spoiled"]
    customers = contacts["distinct_good_ids"]
    for row in (
        stream_row("accounts", accounts["records"], accounts["good"], accounts["good"], 0,
                   accounts["total_spoiled"], 0),
        stream_row("contacts", read, loaded, customers, loaded - customers,
                   contacts["total_spoiled"], 0),
        # One PATCH's reply was lost: sent again, recognised, counted once, not as an update.
        stream_row("writeback:contact_status", customers, customers, 0, customers - 1, 0, 0),
    ):  # fmt: skip
        assert re.search(row, block, re.MULTILINE), row
    shown = shown_run(folder, 5)
    assert [a["scope"] for a in shown["attempts"] if a["error"]] == []  # no try failed
    # The first request (accounts) timed out on the slow reply, then met a 429 and two 503s.
    assert shown["note"] == (
        "stream accounts: the API: 4 of 5 requests retried (429: 1, 503: 2, timeout: 1); "
        f"write-back contact_status: the API: 1 of {customers + 1} requests retried (503: 1); "
        "write-back contact_status: 1 of the records delivered the external system had "
        "received before (it recognised their idempotency keys and did not store them again)"
    )
    assert re.search(
        r"^the mock CRM at http://127\.0\.0\.1:\d+ answered \d+ requests \(\d+ reads\), "
        r"faults: 429 \(2\), 503 \(3\)$",
        block,
        re.MULTILINE,
    )
    assert (
        f"it received {customers + 1} writes: {customers} stored, 1 recognised by idempotency "
        "key and answered from its store (not stored twice)"
    ) in block
    token = folder / "secrets/initech-crm-token"
    assert token.stat().st_mode & 0o777 == 0o600
    for text in (out, json.dumps(shown)):
        assert token.read_text().strip() not in text


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    output = assert_clean_failure(isthmus("demo", "--dir", str(tmp_path)))
    assert f"error: {tmp_path} is not empty; the demo writes a new project" in output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_validate_run_runs_and_show_work_from_the_project_folder(demo_dir: Path) -> None:
    assert isthmus("validate", cwd=demo_dir).returncode == 0
    run = isthmus("run", "acme-crm", "--format", "json", cwd=demo_dir)
    assert run.returncode == 0, run.stderr
    recorded = json.loads(run.stdout)
    assert recorded["status"] == "succeeded"
    for stream in recorded["streams"]:
        assert stream["read"] == stream["loaded"] + stream["rejected"] + stream["skipped"]
    shown = json.loads(
        isthmus(
            "runs", "show", str(recorded["id"]), "--format", "json", "--project", str(demo_dir)
        ).stdout
    )
    assert shown["streams"] == recorded["streams"]

    def counts(run: dict[str, list[dict[str, object]]]) -> list[tuple[object, ...]]:
        return [(r["rule"], r["field"], r["count"]) for r in run["rejections"]]

    assert counts(shown) == counts(recorded)
    human = isthmus("runs", "show", str(recorded["id"]), cwd=demo_dir)
    assert human.returncode == 0
    assert f"run {recorded['id']}  acme-crm (tenant acme)  succeeded" in human.stdout


def test_shown_rejections_mask_personal_data(demo_dir: Path) -> None:
    shown = json.loads(isthmus("runs", "show", "1", "--format", "json", cwd=demo_dir).stdout)
    emails = [
        e for r in shown["rejections"] if r["field"] == "email" for e in r["examples"] if e["value"]
    ]
    assert emails
    assert all("***" in e["value"] for e in emails)


def test_docs_writes_a_catalog(demo_dir: Path, tmp_path: Path) -> None:
    result = isthmus("docs", "--out", str(tmp_path / "site"), cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "site/index.html").read_text()
    assert "crm-contacts" in index
    assert "acme-crm" in index


def test_help_and_version() -> None:
    assert isthmus("--help").returncode == 0
    version = isthmus("--version")
    assert version.stdout.startswith("isthmus ")


def test_usage_errors_exit_2() -> None:
    assert_clean_failure(isthmus("run"), code=2)
    assert_clean_failure(isthmus("runs", "show", "abc"), code=2)
    assert_clean_failure(isthmus("no-such-command"), code=2)


def test_a_folder_without_a_project_file_is_a_clear_error(tmp_path: Path) -> None:
    output = assert_clean_failure(isthmus("validate", "--project", str(tmp_path)))
    assert f"error: no isthmus.yaml in {tmp_path.resolve()}" in output
    assert "hint: pass --project DIR" in output


def test_malformed_yaml_is_reported_with_file_line_and_column(
    tmp_path: Path, demo_dir: Path
) -> None:
    project = copy_project(demo_dir, tmp_path)
    path = project / "integrations/acme/crm.yaml"
    path.write_text(path.read_text().replace("tenant: acme", "tenant: [acme"))
    output = assert_clean_failure(isthmus("validate", cwd=project))
    # The parser notices the unclosed list where the next key begins.
    assert (
        "integrations/acme/crm.yaml\n  3:9 error [yaml-syntax] invalid YAML: expected ',' "
        "or ']', but got ':'"
    ) in output


def test_an_unknown_key_is_named_with_a_did_you_mean_hint(tmp_path: Path, demo_dir: Path) -> None:
    project = copy_project(demo_dir, tmp_path)
    path = project / "integrations/acme/crm.yaml"
    path.write_text(path.read_text().replace("description:", "descripton:"))
    output = assert_clean_failure(isthmus("validate", cwd=project))
    assert (
        "integrations/acme/crm.yaml\n  4:1 error [unknown-key] unknown key 'descripton' in file"
    ) in output
    assert "hint: did you mean 'description'?" in output
    as_json = json.loads(isthmus("validate", "--format", "json", cwd=project).stdout)
    assert as_json["valid"] is False
    assert [d["code"] for d in as_json["diagnostics"]] == ["unknown-key"]


def test_an_unknown_integration_names_the_known_ones(demo_dir: Path) -> None:
    output = assert_clean_failure(isthmus("run", "nope", cwd=demo_dir))
    assert "error: no integration named 'nope'" in output
    assert "hint: integrations in this project: acme-crm, globex-crm" in output


def test_an_unknown_run_is_a_clear_error(demo_dir: Path) -> None:
    output = assert_clean_failure(isthmus("runs", "show", "999", cwd=demo_dir))
    assert "error: no run 999 in the state store" in output


def test_a_missing_export_fails_the_run_and_changes_nothing(tmp_path: Path, demo_dir: Path) -> None:
    project = copy_project(demo_dir, tmp_path)
    before = sqlite_content(project / ".isthmus/core.db")
    (project / "data/acme/contacts.jsonl").unlink()
    output = assert_clean_failure(isthmus("run", "acme-crm", cwd=project))
    assert "stream contacts: no file matches 'contacts.jsonl'" in output
    assert "rolled back: nothing was written" in output
    assert sqlite_content(project / ".isthmus/core.db") == before


def test_a_csv_missing_a_column_fails_naming_file_and_column(
    tmp_path: Path, demo_dir: Path
) -> None:
    project = copy_project(demo_dir, tmp_path)
    before = sqlite_content(project / ".isthmus/core.db")
    path = project / "data/globex/contacts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("Email", "E-mail")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = assert_clean_failure(isthmus("run", "globex-crm", cwd=project))
    assert "contacts.csv has no column 'Email'" in output
    assert "hint: export the file with every column the stream declares" in output
    assert sqlite_content(project / ".isthmus/core.db") == before


def copy_project(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(source, target)
    return target
