"""`isthmus exceptions`, run as a user runs it: a real process on the demo project with
exceptions added to its integrations."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from isthmus.demo import DemoProject
from support import without_demo_guardrails

ENV = {**os.environ, "COLUMNS": "200"}
TODAY = "2026-06-01"


def isthmus(*args: str, project: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "isthmus", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=ENV,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    return result.stdout


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)


@pytest.fixture
def project(demo: DemoProject) -> Path:
    """acme propagates deletes with an exception expiring in 10 days; globex holds an expired
    exception to a rule it does not break."""
    root = without_demo_guardrails(demo.root)
    template = root / "templates/crm-contacts-2.1.0.yaml"
    text = template.read_text(encoding="utf-8")
    old = "entity: account\n    read: full\n"
    template.write_text(text.replace(old, old + "    deletes: hard\n"), encoding="utf-8")
    append(
        root / "integrations/acme/crm.yaml",
        "exceptions:\n  - {rule: delete-propagation-requires-exception, justification: the "
        "CRM is the source of truth, approved_by: cto@example.com, expires: 2026-06-11}\n",
    )
    append(
        root / "integrations/globex/crm.yaml",
        "exceptions:\n  - {rule: owner-required, justification: team reorganised, "
        "approved_by: vp@example.com, expires: 2026-05-01}\n",
    )
    return root


def test_exceptions_as_json_list_status_days_left_and_use(project: Path) -> None:
    data = json.loads(isthmus("exceptions", "--format", "json", "--today", TODAY, project=project))
    assert data["today"] == TODAY
    assert [
        (r["tenant"], r["integration"], r["rule"], r["approved_by"], r["expires"])
        for r in data["exceptions"]
    ] == [
        (
            "acme",
            "acme-crm",
            "delete-propagation-requires-exception",
            "cto@example.com",
            "2026-06-11",
        ),
        ("globex", "globex-crm", "owner-required", "vp@example.com", "2026-05-01"),
    ]
    assert [(r["days_left"], r["status"], r["used"]) for r in data["exceptions"]] == [
        (10, "expiring", True),
        (-31, "expired", False),
    ]


def test_exceptions_as_csv_have_a_header_and_one_row_per_exception(project: Path) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(isthmus("exceptions", "--format", "csv", "--today", TODAY, project=project))
        )
    )
    assert [(r["tenant"], r["rule"], r["days_left"], r["status"], r["used"]) for r in rows] == [
        ("acme", "delete-propagation-requires-exception", "10", "expiring", "yes"),
        ("globex", "owner-required", "-31", "expired", "no"),
    ]
    assert rows[0]["scope"] == ""


def test_exceptions_human_shows_a_table(project: Path) -> None:
    out = isthmus("exceptions", "--today", TODAY, project=project)
    assert "acme-crm" in out
    assert "expiring" in out
    assert "expired" in out


def test_a_project_without_exceptions_says_so(demo: DemoProject) -> None:
    root = without_demo_guardrails(demo.root)
    assert "no exceptions" in isthmus("exceptions", project=root)
    data = json.loads(isthmus("exceptions", "--format", "json", project=root))
    assert data["exceptions"] == []


def test_the_demo_lists_acmes_exception_in_use(demo: DemoProject) -> None:
    data = json.loads(isthmus("exceptions", "--format", "json", project=demo.root))
    [grant] = data["exceptions"]
    assert (grant["integration"], grant["rule"], grant["status"]) == (
        "acme-crm",
        "schedule-min-interval",
        "active",
    )
