"""`isthmus check`, run as a user runs it: a dry run of the demo's integrations that reports
exactly what a run would load and reject, the schema drift it saw, and writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from isthmus.demo import create_demo_project
from isthmus.demo.mockcrm import MockCrm

ENV = {**os.environ, "COLUMNS": "100"}


def isthmus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    return output


def digest(folder: Path) -> dict[str, str]:
    """Every file of the project with its checksum: a file written, created or touched shows."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def generated(folder: Path, tenant: str) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = json.loads(
        (folder / f"data/{tenant}/generator-report.json").read_text()
    )
    return report


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project as written, never run: no core database, no state store."""
    return create_demo_project(tmp_path_factory.mktemp("check") / "demo").root


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "demo"))


def counts(stream: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        stream["records_read"],
        stream["would_load"],
        stream["would_reject"],
        stream["would_skip"],
    )


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_check_counts_what_the_generator_spoiled_and_writes_nothing(
    pristine: Path, tenant: str
) -> None:
    before = digest(pristine)
    result = isthmus(
        "check", f"{tenant}-crm", "--sample", "100000", "--format", "json", cwd=pristine
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert digest(pristine) == before
    assert not (pristine / ".isthmus").exists()

    report = json.loads(result.stdout)
    assert (report["failed"], report["wrote_nothing"], report["sample"]) == (False, True, 100000)
    assert report["core_exists"] is False
    expected = generated(pristine, tenant)
    accounts, contacts = report["streams"]
    spoiled = expected["accounts"]["total_spoiled"]
    assert counts(accounts) == (
        expected["accounts"]["records"],
        expected["accounts"]["good"],
        spoiled,
        0,
    )
    # No core database yet: references are not checked, so the unknown accounts load here.
    unknown = expected["contacts"]["spoiled"]["unknown_account"]
    assert counts(contacts) == (
        expected["contacts"]["records"],
        expected["contacts"]["good"] + unknown,
        expected["contacts"]["total_spoiled"] - unknown,
        0,
    )
    assert contacts["references"] == "not checked: the core database does not exist yet"
    malformed = {(r["rule"], r["field"]): r["count"] for r in contacts["reasons"]}
    assert malformed[("malformed", None)] == expected["contacts"]["spoiled"]["malformed"]
    # The JSON export carries Tags, which the stream does not declare; the CSV does not.
    drift = contacts["drift"]
    assert (drift["observed"], drift["undeclared"]) == (True, ["Tags"] if tenant == "acme" else [])
    assert (drift["absent"], drift["always_null"]) == ([], [])


def test_check_prints_counts_reasons_drift_and_masked_rows(pristine: Path) -> None:
    result = isthmus("check", "acme-crm", cwd=pristine)
    assert result.returncode == 0, result.stderr
    shown = json.loads(isthmus("check", "acme-crm", "-f", "json", cwd=pristine).stdout)
    output = result.stdout
    assert "dry run of acme-crm (tenant acme)" in output
    assert (
        "up to 1,000 records per stream from the real source, mapped and checked as a run "
        "would; nothing was written"
    ) in output
    accounts, contacts = shown["streams"]
    expected = generated(pristine, "acme")["accounts"]
    lines = [line.split() for line in output.splitlines()]
    numbers = (expected["records"], expected["good"], expected["total_spoiled"], 0)
    assert counts(accounts) == numbers
    assert ["accounts", "account", *(f"{n:,}" for n in numbers), "no"] in lines
    assert counts(contacts)[0] == 1000
    assert ["contacts", "customer", *(f"{n:,}" for n in counts(contacts)), "yes"] in lines
    core = (pristine / ".isthmus/core.db").resolve()
    assert f"core database: sqlite:///{core} (does not exist yet)" in output
    assert "  starts from: the start (read: full)" in output
    assert "  references: not checked: the core database does not exist yet" in output
    assert "  schema drift: found in the first 1000 records of contacts.jsonl" in output
    assert "    not declared by the stream: Tags" in output
    assert "  schema drift: none in the first 150 records of accounts.jsonl" in output
    pattern = next(r for r in contacts["reasons"] if r["rule"] == "pattern")
    assert pattern["example_value"].endswith("***@***")
    example = f"{pattern['example_at']}  id={pattern['example_record_id']}"
    assert f"e.g. {example}  value={pattern['example_value']!r}" in output
    email = contacts["rows"][0]["email"]
    assert "***@" in email
    assert f"      email                {email}" in output


def test_after_a_run_check_predicts_the_next_runs_numbers_and_leaves_the_databases_alone(
    project: Path,
) -> None:
    assert isthmus("run", "acme-crm", cwd=project).returncode == 0
    before = digest(project)
    result = isthmus("check", "acme-crm", "--sample", "100000", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert digest(project) == before

    rerun = isthmus("run", "acme-crm", "--format", "json", cwd=project)
    ran = json.loads(rerun.stdout)
    assert json.loads(result.stdout)["core_exists"] is True
    predicted = json.loads(result.stdout)["streams"]
    for guess, real in zip(predicted, ran["streams"], strict=True):
        assert counts(guess) == (real["read"], real["loaded"], real["rejected"], real["skipped"])
    unknown = generated(project, "acme")["contacts"]["spoiled"]["unknown_account"]
    reasons = {(r["rule"], r["field"]): r["count"] for r in predicted[1]["reasons"]}
    assert reasons[("reference", "account_id")] == unknown


def test_one_stream_only(pristine: Path) -> None:
    result = isthmus("check", "globex-crm", "--stream", "accounts", "-f", "json", cwd=pristine)
    assert [s["mapping"] for s in json.loads(result.stdout)["streams"]] == ["accounts"]


def test_bad_arguments_are_refused_with_their_messages(pristine: Path) -> None:
    output = failure(isthmus("check", "nope", cwd=pristine), 1)
    assert "error: no integration named 'nope'" in output
    assert "hint: integrations in this project: acme-crm, globex-crm, initech-crm" in output

    output = failure(isthmus("check", "acme-crm", "--sample", "0", cwd=pristine), 2)
    assert "0 records is no sample; give a positive whole number, e.g. --sample 500" in output
    output = failure(isthmus("check", "acme-crm", "--sample", "abc", cwd=pristine), 2)
    assert "'abc' is not a number of records; give a positive whole number" in output

    output = failure(isthmus("check", "acme-crm", "--stream", "leads", cwd=pristine), 1)
    assert "error: integration 'acme-crm' has no stream 'leads'" in output
    assert "hint: its streams: accounts, contacts" in output


def test_a_missing_export_is_reported_with_its_hint_and_exit_1(project: Path) -> None:
    (project / "data/acme/contacts.jsonl").unlink()
    output = failure(isthmus("check", "acme-crm", cwd=project), 1)
    assert "stream contacts: no file matches 'contacts.jsonl'" in output
    assert (
        "hint: check the stream's path and the connection's root, or put the export there"
    ) in output
    assert not (project / ".isthmus").exists()


def test_an_integration_that_does_not_validate_prints_its_diagnostics(project: Path) -> None:
    path = project / "integrations/acme/crm.yaml"
    broken = "overrides:\n  mappings: {contacts: {fields: {phone: no_such_function(Phone)}}}\n"
    path.write_text(path.read_text(encoding="utf-8").replace("overrides:\n", broken))
    output = failure(isthmus("check", "acme-crm", cwd=project), 1)
    assert "error: integration 'acme-crm' does not validate; nothing was run" in output
    assert "[unknown-function]" in output


@pytest.fixture
def initech(project: Path) -> Iterator[MockCrm]:
    """initech's CRM served by the mock on a free port, the integration pointed at it."""
    crm = MockCrm(port=0, seed=21, accounts=40, contacts=400).start()
    path = project / "integrations/initech/crm.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(":8787", f":{crm.port}"))
    yield crm
    crm.stop()


def test_check_reads_the_rest_tenant_over_http_only_with_gets(
    project: Path, initech: MockCrm
) -> None:
    before = digest(project)
    result = isthmus("check", "initech-crm", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert digest(project) == before
    expected = generated(project, "initech")
    accounts, contacts = json.loads(result.stdout)["streams"]
    assert counts(accounts) == (40, 39, 1, 0)
    unknown = expected["contacts"]["spoiled"]["unknown_account"]
    assert counts(contacts) == (
        expected["contacts"]["records"],
        expected["contacts"]["good"] + unknown,
        expected["contacts"]["total_spoiled"] - unknown,
        0,
    )
    assert contacts["starts_from"] == (
        "the start: no checkpoint (the core database does not exist yet)"
    )
    assert contacts["drift"]["undeclared"] == ["Tags"]
    assert {r.method for r in initech.requests} == {"GET"}
