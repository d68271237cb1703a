"""A fixture report as JUnit XML, for CI systems: one testsuite per file, one testcase per
case. A failing case carries its diff in a <failure>; a case that could not run carries its
problems in an <error>; a file that did not load is one testcase in error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from isthmus.diagnostics import Diagnostic
from isthmus.validation.fixtures_diff import diff_text
from isthmus.validation.fixtures_model import CaseResult, FileResult, FixtureReport

FILE_CASE = "(the file)"  # the testcase of a file that did not load


def junit_xml(report: FixtureReport) -> bytes:
    suites = ET.Element("testsuites", name="isthmus test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    seconds = 0.0
    for file in report.files:
        suite = _suite(file)
        suites.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        seconds += float(suite.get("time", "0"))
    suites.attrib.update({k: str(v) for k, v in totals.items()})
    suites.set("time", f"{seconds:.3f}")
    ET.indent(suites)
    text: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return text + b"\n"


def write_junit(report: FixtureReport, target: Path) -> None:
    """Write the XML to ``target`` whole or not at all: readers never see half a file.
    Raises OSError when it cannot be written."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(junit_xml(report))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _suite(file: FileResult) -> ET.Element:
    name = file.file.as_posix()
    cases = [_case(name, case) for case in file.cases]
    if file.problems:
        cases.insert(0, _errored(name, FILE_CASE, file.problems))
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(1 for c in file.cases if c.status == "failed")),
        errors=str(sum(1 for c in cases if c.find("error") is not None)),
        skipped="0",
        time=f"{sum(c.seconds for c in file.cases):.3f}",
    )
    suite.extend(cases)
    return suite


def _case(suite: str, case: CaseResult) -> ET.Element:
    if case.status == "error":
        return _errored(suite, case.name, case.problems)
    element = ET.Element("testcase", classname=suite, name=case.name, time=f"{case.seconds:.3f}")
    if case.status == "failed":
        failure = ET.SubElement(
            element,
            "failure",
            message=f"{len(case.differences)} difference(s) from what the case expects",
            type="fixture-mismatch",
        )
        failure.text = diff_text(list(case.differences))
    if case.notes:
        ET.SubElement(element, "system-out").text = "\n".join(case.notes)
    return element


def _errored(suite: str, name: str, problems: tuple[Diagnostic, ...]) -> ET.Element:
    element = ET.Element("testcase", classname=suite, name=name, time="0.000")
    first = problems[0] if problems else None
    error = ET.SubElement(
        element,
        "error",
        message=first.message if first else "the case could not run",
        type=first.code if first else "error",
    )
    error.text = "\n".join(str(p) for p in problems)
    return element
