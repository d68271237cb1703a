"""Custom functions run as a user runs them: a project module declares them, an integration
holds the exception that allows them, `isthmus validate` passes and `isthmus run` loads the
rows they compute and quarantines the row one of them cannot handle."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from isthmus.demo import DemoProject
from support import without_demo_guardrails

RULE = "custom-function-requires-exception"
ACME = "integrations/acme/crm.yaml"
MODULE = '''\
"""The project's own mapping functions."""

import polars as pl

from isthmus.mapping.custom import custom_function


@custom_function(name="score_band", params={"score": "float"}, returns="string")
def score_band(score: pl.Series) -> pl.Series:
    """'hot' from a score of 50 up, 'cold' below."""
    return pl.select(pl.when(score >= 50).then(pl.lit("hot")).otherwise(pl.lit("cold"))).to_series()


@custom_function(name="phone_digits", params={"phone": "string"}, returns="string", can_fail=True)
def phone_digits(phone: pl.Series) -> pl.Series:
    """The digits of a phone number with at least seven of them; fails on anything else."""
    digits = phone.str.replace_all(r"[^0-9]", "")
    return pl.select(pl.when(digits.str.len_chars() >= 7).then(digits)).to_series()
'''
GOOD_CONTACTS = 24


def isthmus(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    return result.stdout


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """A clean failure's output: exit code 1, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    return output


def contact(number: int, score: str, phone: str) -> dict[str, object]:
    return {
        "Id": f"003C{number:04d}",
        "FirstName": "Ada",
        "LastName": f"Number{number}",
        "Email": f"ada{number}@example.com",
        "Phone": phone,
        "Account": {"Id": "001A", "Name": "Acme Rockets"},
        "CreatedDate": "2024-01-01T00:00:00Z",
        "LastModifiedDate": "2024-01-02T00:00:00Z",
        "LeadScore": score,
        "Status": "active",
        "OptOut": False,
    }


def write_lines(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def project(demo: DemoProject) -> Path:
    """acme's contacts get a segment and a phone computed by custom functions, with an
    exception; one contact's phone has too few digits."""
    root = without_demo_guardrails(demo.root)
    (root / "functions").mkdir()
    (root / "functions/scoring.py").write_text(MODULE, encoding="utf-8")
    with (root / "isthmus.yaml").open("a", encoding="utf-8") as settings:
        settings.write("functions: [functions/scoring.py]\n")
    with (root / "core/customer.yaml").open("a", encoding="utf-8") as entity:
        entity.write("  segment: {type: string}\n")
    expires = dt.date.today() + dt.timedelta(days=90)
    with (root / ACME).open("a", encoding="utf-8") as integration:
        integration.write(
            "overrides:\n  mappings:\n    contacts:\n      fields:\n"
            "        phone: phone_digits(Phone)\n"
            "        segment: score_band(to_float(LeadScore))\n"
            f"exceptions:\n  - {{rule: {RULE}, justification: sales segments leads by score, "
            f"approved_by: cto@example.com, expires: {expires.isoformat()}}}\n"
        )
    data = root / "data/acme"
    write_lines(
        data / "accounts.jsonl",
        [
            {
                "Id": "001A",
                "Name": "Acme Rockets",
                "Industry": "Aerospace",
                "CreatedDate": "2024-01-01T00:00:00Z",
            }
        ],
    )
    contacts = [contact(n, str(n * 4), f"+1 (555) 010-{n:04d}") for n in range(GOOD_CONTACTS)]
    write_lines(data / "contacts.jsonl", [*contacts, contact(99, "75", "ext. 12")])
    return root


def core_customers(root: Path) -> dict[str, tuple[str | None, str | None]]:
    connection = sqlite3.connect(root / ".isthmus/core.db")
    try:
        rows = connection.execute(
            "SELECT customer_id, phone, segment FROM customer WHERE tenant_id = 'acme'"
        ).fetchall()
    finally:
        connection.close()
    return {customer: (phone, segment) for customer, phone, segment in rows}


def test_validate_then_run_loads_the_computed_rows_and_quarantines_the_failed_one(
    project: Path,
) -> None:
    validated = succeeded(isthmus("validate", project=project))
    assert RULE in validated
    run = json.loads(succeeded(isthmus("run", "acme-crm", "-f", "json", project=project)))
    assert run["status"] == "succeeded"
    customers = core_customers(project)
    assert len(customers) == GOOD_CONTACTS
    assert customers["003C0003"] == ("15550100003", "cold")
    assert customers["003C0020"] == ("15550100020", "hot")
    assert "003C0099" not in customers
    listing = json.loads(
        succeeded(
            isthmus("quarantine", "list", "--run", str(run["id"]), "-f", "json", project=project)
        )
    )
    [record] = listing["records"]
    assert record["field"] == "phone"
    assert "phone_digits()" in record["message"]
    assert "Phone" in record["message"]


def test_without_the_exception_validate_fails_at_the_call(project: Path) -> None:
    path = project / ACME
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("exceptions:")], encoding="utf-8")
    result = isthmus("validate", "--format", "json", project=project)
    failed(result)
    report = json.loads(result.stdout)
    broken = [d for d in report["diagnostics"] if d["code"] == RULE]
    assert [
        (Path(d["file"]).as_posix().endswith(ACME), d["severity"], d["line"], d["column"])
        for d in broken
    ] == [(True, "error", 14, 16), (True, "error", 15, 18)]
    assert broken[0]["message"].startswith(
        "mappings.contacts.fields.phone calls the custom function phone_digits()"
    )
    run = failed(isthmus("run", "acme-crm", project=project))
    assert "does not validate; nothing was run" in run


def test_a_function_returning_the_wrong_type_fails_the_run_naming_it(project: Path) -> None:
    module = project / "functions/scoring.py"
    text = module.read_text(encoding="utf-8")
    module.write_text(
        text.replace('pl.lit("hot")).otherwise(pl.lit("cold"))', "1).otherwise(0)"),
        encoding="utf-8",
    )
    output = failed(isthmus("run", "acme-crm", project=project))
    assert (
        "custom function score_band() returned Int32 values, but it is declared to return "
        "string (String)"
    ) in output
    assert core_customers(project) == {}


def test_a_module_that_does_not_import_stops_the_run_naming_the_import_error(
    project: Path,
) -> None:
    module = project / "functions/scoring.py"
    module.write_text("import polars_that_is_not_installed\n", encoding="utf-8")
    output = failed(isthmus("run", "acme-crm", project=project))
    assert "does not validate; nothing was run" in output
    # The root cause, at the project file's entry, and not only its consequence at the calls.
    assert "isthmus.yaml" in output
    assert "[custom-function-load]" in output
    assert "polars_that_is_not_installed" in output
    assert "[unknown-function] unknown function 'phone_digits'" in output
    assert not (project / ".isthmus/core.db").exists()
