"""JUnit XML of a fixture report: one testsuite per file, one testcase per case, a failing case
with its diff, a case or file in error with its problems; the file is replaced whole."""

from __future__ import annotations

import os
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from isthmus.config import load_project
from isthmus.validation.fixtures import run_fixture_tests
from isthmus.validation.fixtures_junit import write_junit
from isthmus.validation.fixtures_model import FixtureReport

CASES = """\
integration: a-people
mapping: people
cases:
  - name: passes
    records: [{id: p1, name: Ann}]
    expect: {rows: [{person_id: p1}]}
  - name: fails
    records: [{id: p1, name: " Ann "}]
    expect: {rows: [{name: Bob}]}
  - name: cannot run
    mapping: nobody
    records: [{id: p1}]
    expect: {rows: []}
"""


@pytest.fixture
def report(tiny: Path) -> FixtureReport:
    (tiny / "tests").mkdir()
    (tiny / "tests/people.yaml").write_text(CASES, encoding="utf-8")
    (tiny / "tests/broken.yaml").write_text("cases: [\n", encoding="utf-8")
    ticks = iter(range(100))
    return run_fixture_tests(load_project(tiny), timer=lambda: float(next(ticks)))


def test_each_file_is_a_testsuite_and_each_case_a_testcase(
    report: FixtureReport, tmp_path: Path
) -> None:
    target = tmp_path / "junit.xml"

    write_junit(report, target)

    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors")} == {
        "tests": "4",
        "failures": "1",
        "errors": "2",
    }
    suites = {Path(str(s.get("name"))).name: s for s in root.iter("testsuite")}
    assert sorted(suites) == ["broken.yaml", "people.yaml"]
    people = suites["people.yaml"]
    assert [c.get("name") for c in people.iter("testcase")] == ["passes", "fails", "cannot run"]
    assert {k: people.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "3",
        "failures": "1",
        "errors": "1",
        "skipped": "0",
        "time": "2.000",  # the fake timer ticks one second per reading
    }


def test_a_failing_case_carries_its_diff_and_a_case_in_error_its_problems(
    report: FixtureReport, tmp_path: Path
) -> None:
    target = tmp_path / "junit.xml"
    write_junit(report, target)
    root = ET.parse(target).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}

    passes, fails, cannot = cases["passes"], cases["fails"], cases["cannot run"]

    assert [child.tag for child in passes] == ["system-out"]  # its note, no failure
    assert passes.findtext("system-out") == (
        "person.team_id references team.team_id: not checked, as the case gives no existing "
        "team rows"
    )
    failure = fails.find("failure")
    assert failure is not None
    assert failure.get("message") == "1 difference(s) from what the case expects"
    assert failure.text == 'rows:\n  row 1 (record 1) name: expected "Bob", actual "Ann"'
    error = cannot.find("error")
    assert error is not None
    assert error.get("type") == "fixture-unknown-mapping"
    assert error.get("message") == "integration 'a-people' has no mapping 'nobody'"
    assert str(error.text).endswith(
        "error [fixture-unknown-mapping] integration 'a-people' has no mapping 'nobody'\n"
        "  hint: mappings: teams, people"
    )
    [file_case] = [c for c in root.iter("testcase") if c.get("name") == "(the file)"]
    file_error = file_case.find("error")
    assert file_error is not None
    assert file_error.get("type") == "yaml-syntax"


def test_the_report_replaces_the_file_whole_and_leaves_no_temporary_file(
    report: FixtureReport, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "junit.xml"
    target.write_text("old", encoding="utf-8")

    write_junit(report, target)

    assert target.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    assert os.listdir(folder) == ["junit.xml"]


def test_a_report_that_cannot_be_written_raises_and_leaves_nothing(
    report: FixtureReport, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "junit.xml"
    target.mkdir()  # a folder where the file should go: the rename fails

    with pytest.raises(OSError, match="Is a directory"):
        write_junit(report, target)

    assert os.listdir(folder) == ["junit.xml"]
    assert os.listdir(target) == []
