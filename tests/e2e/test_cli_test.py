"""`isthmus test` as a user runs it: a real process on the demo project's fixture cases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from isthmus.demo import create_demo_project

ENV = {**os.environ, "COLUMNS": "160"}

DEMO_CASES = {
    "tests/crm-api.yaml": [
        "an API contact becomes a customer",
        "numbers and booleans in odd shapes",
        "each kind of bad value is rejected with its rule and field",
        "references are not checked without existing accounts",
        "an API account becomes an account",
    ],
    "tests/crm-contacts.yaml": [
        "a clean contact becomes a customer",
        "values the export writes loosely still map",
        "each kind of bad value is rejected with its rule and field",
        "an account's name is trimmed and required",
    ],
}


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


@pytest.fixture(scope="module")
def written_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo_project(tmp_path_factory.mktemp("fixtures") / "demo").root


@pytest.fixture
def demo(written_demo: Path, tmp_path: Path) -> Path:
    """A copy of the freshly written demo project, for one test to change."""
    return Path(
        shutil.copytree(written_demo, tmp_path / "demo", ignore=shutil.ignore_patterns("data"))
    )


def test_the_demo_ships_fixture_cases_for_each_template_and_they_all_pass(demo: Path) -> None:
    result = isthmus("test", "--project", str(demo))

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for file, names in DEMO_CASES.items():
        assert f"\n{file}\n" in f"\n{out}"
        for name in names:
            assert f"PASS  {name}" in out
    assert out.rstrip().endswith(
        "9 passed, 0 failed, 0 in error (9 case(s) in 2 file(s)): every case passes"
    )
    assert "note: customer.account_id references account.account_id: not checked" in out
    assert "Traceback" not in result.stderr


def test_json_output_lists_every_case_with_its_integration_and_mapping(demo: Path) -> None:
    result = isthmus("test", "--format", "json", cwd=demo)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert report["counts"] == {"cases": 9, "passed": 9, "failed": 0, "errors": 0}
    assert {f["file"]: [c["name"] for c in f["cases"]] for f in report["files"]} == DEMO_CASES
    integrations = {(c["integration"], c["mapping"]) for f in report["files"] for c in f["cases"]}
    assert integrations == {
        ("acme-crm", "contacts"),
        ("acme-crm", "accounts"),
        ("initech-crm", "contacts"),
        ("initech-crm", "accounts"),
    }


def test_a_failing_case_shows_its_diff_and_exits_1(demo: Path) -> None:
    cases = demo / "tests/crm-contacts.yaml"
    text = cases.read_text(encoding="utf-8")
    cases.write_text(
        text.replace("email: ada@example.com", "email: ADA@example.com").replace(
            "{record: 4, rule: max, field: lead_score, value: 150}",
            "{record: 4, rule: min, field: lead_score, value: 150}",
        ),
        encoding="utf-8",
    )

    result = isthmus("test", "--project", str(demo), "crm-contacts")

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL  a clean contact becomes a customer" in out
    assert 'row 1 (record 1) email: expected "ADA@example.com", actual "ada@example.com"' in out
    assert "FAIL  each kind of bad value is rejected with its rule and field" in out
    assert (
        "record 4: expected rejection by min on lead_score, actual max on lead_score with "
        'value "150.0" (is above the maximum 100)'
    ) in out
    assert "tests/crm-api.yaml" not in out  # the filter chose one file
    assert out.rstrip().endswith(
        "2 passed, 2 failed, 0 in error (4 case(s) in 1 file(s)): the fixture tests fail"
    )


def test_junit_xml_has_a_suite_per_file_and_the_failure_text(demo: Path, tmp_path: Path) -> None:
    cases = demo / "tests/crm-api.yaml"
    cases.write_text(
        cases.read_text(encoding="utf-8").replace(
            "status: prospect, opt_out: true}\n        - {customer_id: 003-3",
            "status: churned, opt_out: true}\n        - {customer_id: 003-3",
        ),
        encoding="utf-8",
    )
    target = tmp_path / "reports" / "fixtures.xml"
    target.parent.mkdir()

    result = isthmus("test", "--project", str(demo), "--junit", str(target))

    assert result.returncode == 1, result.stdout + result.stderr
    root = ET.parse(target).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "1", "0")
    suites = {Path(str(s.get("name"))).name: s for s in root.iter("testsuite")}
    assert sorted(suites) == ["crm-api.yaml", "crm-contacts.yaml"]
    [failed] = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed.get("name") == "numbers and booleans in odd shapes"
    failure = failed.find("failure")
    assert failure is not None
    assert failure.text == (
        'rows:\n  row 1 (record 1) status: expected "churned", actual "prospect"'
    )


def test_problems_in_test_files_are_shown_at_their_place_and_exit_1(demo: Path) -> None:
    (demo / "tests/broken.yaml").write_text(
        "integration: acme-crm\nmapping: contacts\ncases:\n"
        "  - name: typo\n    records: [{Id: C-1}]\n    expect:\n"
        "      rows: [{customer_id: C-1, emial: x}]\n"
        "  - name: unknown integration\n    integration: hooli-crm\n"
        "    records: [{Id: C-1}]\n    expect: {rejected: []}\n",
        encoding="utf-8",
    )
    (demo / "tests/unparsable.yaml").write_text("cases:\n  - name: [\n", encoding="utf-8")

    result = isthmus("test", "--project", str(demo))

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "tests/broken.yaml\n" in out
    assert "  7:33 error [fixture-unknown-field] entity 'customer' has no field 'emial'" in out
    assert "      7 |       rows: [{customer_id: C-1, emial: x}]" in out
    assert "    hint: did you mean 'email'?" in out
    assert (
        "  9:18 error [fixture-unknown-integration] integration 'hooli-crm' does not exist in "
        "this project"
    ) in out
    assert "tests/unparsable.yaml\n" in out
    assert "error [yaml-syntax] invalid YAML" in out
    assert "ERROR typo" in out
    assert "the file does not load: see its problems above" in out
    assert "9 passed, 0 failed, 2 in error (11 case(s) in 4 file(s))" in out
    assert "Traceback" not in result.stdout + result.stderr


def test_a_junit_path_in_a_missing_folder_is_a_usage_error(demo: Path, tmp_path: Path) -> None:
    result = isthmus("test", "--project", str(demo), "--junit", str(tmp_path / "no/such.xml"))

    assert result.returncode == 2
    assert "Invalid value for '--junit'" in result.stderr
    assert f"the folder {tmp_path / 'no'} does not exist" in result.stderr


def test_a_project_without_test_cases_says_how_to_write_one(demo: Path) -> None:
    shutil.rmtree(demo / "tests")

    result = isthmus("test", "--project", str(demo))

    assert result.returncode == 1
    assert f"no test cases in {demo / 'tests'}" in result.stdout
    assert "hint: write tests/NAME.yaml with `cases:`" in result.stdout


def test_a_filter_that_matches_nothing_fails(demo: Path) -> None:
    result = isthmus("test", "--project", str(demo), "no such case")

    assert result.returncode == 1
    assert "no test case matches 'no such case'" in result.stdout


def test_json_output_gives_each_problem_with_its_project_relative_place(demo: Path) -> None:
    (demo / "tests/broken.yaml").write_text(
        "integration: acme-crm\nmapping: contacts\ncases:\n"
        "  - name: typo\n    records: [{Id: C-1}]\n    expect: {rows: [{customer_id: 7}]}\n",
        encoding="utf-8",
    )

    result = isthmus("test", "--format", "json", "typo", cwd=demo)

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["counts"] == {"cases": 1, "passed": 0, "failed": 0, "errors": 1}
    assert report["diagnostics"] == [
        {
            "code": "fixture-value-type",
            "severity": "error",
            "file": "tests/broken.yaml",
            "line": 6,
            "column": 35,
            "message": "customer.customer_id is text, but 7 is not: quote it, '7'",
            "hint": "write a string value, or null",
        }
    ]
    [case] = report["files"][0]["cases"]
    assert (case["name"], case["status"]) == ("typo", "error")
    assert [p["code"] for p in case["problems"]] == ["fixture-value-type"]
