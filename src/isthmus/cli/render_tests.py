"""How `isthmus test` looks on a terminal and as JSON: the problems in test files (as
`isthmus validate` shows problems), then each case's verdict with its diff, then the counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from isthmus.cli.render import out
from isthmus.cli.render_diagnostics import SourceLines, diagnostic_lines, group_by_file
from isthmus.diagnostics import relative_file
from isthmus.validation.fixtures_diff import ROW_KINDS
from isthmus.validation.fixtures_model import CaseResult, FileResult, FixtureReport

VERDICTS = {
    "passed": ("PASS ", "green"),
    "failed": ("FAIL ", "bold red"),
    "error": ("ERROR", "red"),
}
INDENT = " " * 10  # under a case's name


def report(found: FixtureReport, root: Path) -> None:
    sources = SourceLines()
    for header, group in group_by_file(found.diagnostics, root):
        out.print(Text(header, style="bold"))
        for each in group:
            for line in diagnostic_lines(each, sources):
                out.print(line)
        out.print()
    for file in found.files:
        _file(file, root)
    out.print(summary(found))


def _file(file: FileResult, root: Path) -> None:
    out.print(Text(relative_file(file.file, root).as_posix(), style="bold"))
    if file.problems:
        out.print(Text("  the file does not load: see its problems above", style="red"))
    for case in file.cases:
        label, style = VERDICTS[case.status]
        where = f"  ({case.integration} {case.mapping})" if case.mapping else ""
        out.print(Text.assemble("  ", (label, style), f" {case.name}", (where, "dim")))
        if case.status == "error":
            out.print(Text(f"{INDENT}cannot run: see the problems above", style="red"))
        _differences(case)
        for note in case.notes:
            out.print(Text(f"{INDENT}note: {note}", style="yellow"))


def _differences(case: CaseResult) -> None:
    for heading, is_row in (("rows", True), ("rejections", False)):
        shown = [d for d in case.differences if (d.kind in ROW_KINDS) == is_row]
        if shown:
            out.print(Text(f"{INDENT}{heading}:", style="bold"))
        for difference in shown:
            out.print(Text(f"{INDENT}  {difference.text}"))


def summary(found: FixtureReport) -> Text:
    cases, files = len(found.cases), len(found.files)
    counts = (
        f"{found.count('passed')} passed, {found.count('failed')} failed, "
        f"{found.count('error')} in error ({cases} case(s) in {files} file(s))"
    )
    if found.passed:
        return Text(f"{counts}: every case passes", style="bold green")
    return Text(f"{counts}: the fixture tests fail", style="bold red")


def no_cases(root: Path, name_filter: str | None) -> None:
    if name_filter:
        out.print(Text(f"no test case matches {name_filter!r}", style="bold red"))
        return
    out.print(Text(f"no test cases in {root / 'tests'}", style="bold red"))
    out.print(
        Text(
            "  hint: write tests/NAME.yaml with `cases:`, each with a name, an integration, a "
            "mapping, records and expect (see the README)",
            style="cyan",
        )
    )


def report_json(found: FixtureReport, root: Path) -> dict[str, Any]:
    return {
        "passed": found.passed,
        "counts": {
            "cases": len(found.cases),
            "passed": found.count("passed"),
            "failed": found.count("failed"),
            "errors": found.count("error"),
        },
        "diagnostics": [d.to_dict(root) for d in found.diagnostics],
        "files": [
            {
                "file": relative_file(file.file, root).as_posix(),
                "loaded": not file.problems,
                "cases": [_case_json(case, root) for case in file.cases],
            }
            for file in found.files
        ],
    }


def _case_json(case: CaseResult, root: Path) -> dict[str, Any]:
    return {
        "name": case.name,
        "status": case.status,
        "integration": case.integration,
        "mapping": case.mapping,
        "seconds": round(case.seconds, 4),
        "differences": [d.to_dict() for d in case.differences],
        "notes": list(case.notes),
        "problems": [p.to_dict(root) for p in case.problems],
    }
