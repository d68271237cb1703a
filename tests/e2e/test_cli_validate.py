"""`isthmus validate` as a user runs it: the human report, JSON, SARIF, --strict, and the exit
codes 0 (valid), 1 (problems) and 2 (usage)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isthmus.demo import create_demo_project
from support import without_demo_guardrails
from support_diagnostics import append_to, replace_in

ENV = {**os.environ, "COLUMNS": "160"}
TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
INITECH = "integrations/initech/crm.yaml"


def isthmus(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isthmus", "validate", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo without its guardrail policy: a project with no diagnostics at all."""
    demo = create_demo_project(tmp_path_factory.mktemp("validate") / "demo")
    return without_demo_guardrails(demo.root)


@pytest.fixture
def broken(clean: Path, tmp_path: Path) -> Path:
    """Two errors in two files: an unknown function in a template, an unknown key in an
    integration."""
    root = tmp_path / "project"
    shutil.copytree(clean, root)
    replace_in(root, TEMPLATE, "name: trim(Name)", "name: trmi(Name)")
    replace_in(root, INITECH, "description:", "descripton:")
    return root


def test_a_clean_project_is_valid_with_exit_code_0(clean: Path) -> None:
    result = isthmus(cwd=clean)
    assert (result.returncode, result.stdout) == (
        0,
        "valid: 2 entities, 2 template version(s), 3 integration(s)\n",
    )


def test_the_human_report_groups_by_file_with_source_lines_carets_hints_and_counts(
    broken: Path,
) -> None:
    result = isthmus(cwd=broken)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    # The keys an integration file allows are the model's business, not the report's.
    lines[4] = re.sub(r"\(allowed keys here: .*\)$", "(allowed keys here: ...)", lines[4])
    assert lines == [
        "integrations/initech/crm.yaml",
        "  4:1 error [unknown-key] unknown key 'descripton' in file",
        "      4 | descripton: Initech's CRM, read over its REST API (the demo serves it "
        "with isthmus mock-crm).",
        "          ^",
        "    hint: did you mean 'description'? (allowed keys here: ...)",
        "",
        "templates/crm-contacts-2.1.0.yaml",
        "  44:13 error [unknown-function] unknown function 'trmi'",
        "     44 |       name: trmi(Name)",
        "                      ^",
        "    hint: did you mean trim? see the function reference for what is available",
        "",
        "2 errors, 0 warnings, 0 notes in 2 files: the project does not validate",
    ]


def test_paths_stay_relative_to_the_project_root_from_anywhere(
    broken: Path, tmp_path: Path
) -> None:
    result = isthmus("--project", str(broken), "--format", "json", cwd=tmp_path)
    files = [d["file"] for d in json.loads(result.stdout)["diagnostics"]]
    assert files == ["integrations/initech/crm.yaml", "templates/crm-contacts-2.1.0.yaml"]


def test_json_lists_the_diagnostics_and_their_counts(broken: Path) -> None:
    result = isthmus("--format", "json", cwd=broken)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["counts"] == {"errors": 2, "warnings": 0, "notes": 0, "files": 2}
    assert report["diagnostics"][1] == {
        "code": "unknown-function",
        "severity": "error",
        "file": "templates/crm-contacts-2.1.0.yaml",
        "line": 44,
        "column": 13,
        "message": "unknown function 'trmi'",
        "hint": "did you mean trim? see the function reference for what is available",
    }


def test_sarif_annotates_each_problem_at_its_file_line_and_column(broken: Path) -> None:
    result = isthmus("--format", "sarif", cwd=broken)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        "unknown-function",
        "unknown-key",
    ]
    assert [
        (
            r["ruleId"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"],
        )
        for r in run["results"]
    ] == [
        ("unknown-key", "error", INITECH, {"startLine": 4, "startColumn": 1}),
        ("unknown-function", "error", TEMPLATE, {"startLine": 44, "startColumn": 13}),
    ]


def test_warnings_fail_only_with_strict(clean: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(clean, root)
    append_to(root, INITECH, "    spare: env:SPARE\n")
    relaxed = isthmus(cwd=root)
    assert relaxed.returncode == 0
    assert relaxed.stdout.splitlines()[-1] == (
        "valid: 2 entities, 2 template version(s), 3 integration(s); "
        "0 errors, 1 warning, 0 notes in 1 file"
    )
    strict = isthmus("--strict", cwd=root)
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1] == (
        "0 errors, 1 warning, 0 notes in 1 file: the project does not validate "
        "(--strict: warnings fail too)"
    )
    as_json = json.loads(isthmus("--strict", "--format", "json", cwd=root).stdout)
    assert as_json["valid"] is False


def test_a_credential_value_is_never_echoed(clean: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(clean, root)
    replace_in(root, INITECH, "  base_url:", "  password: pasted-Secret-4Kq9\n  base_url:")
    result = isthmus(cwd=root)
    assert result.returncode == 1
    assert "pasted-Secret-4Kq9" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[1:4] == [
        "  9:3 error [unknown-key] unknown key 'password' in connection",
        "      9 | (line not shown: it may hold a credential)",
        "    hint: allowed keys here: base_url",
    ]


def test_an_unknown_format_is_a_usage_error(clean: Path) -> None:
    result = isthmus("--format", "xml", cwd=clean)
    assert result.returncode == 2
    assert "Invalid value for '--format' / '-f'" in result.stderr
    assert "'xml' is not one of 'human', 'json', 'sarif'" in result.stderr
    assert result.stdout == ""
