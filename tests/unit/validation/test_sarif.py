"""Diagnostics as SARIF 2.1.0: what a CI system needs to annotate a pull request."""

from __future__ import annotations

import json
from pathlib import Path

from isthmus import __version__
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.validation.codes import CODES
from isthmus.validation.sarif import sarif_log


def _run(log: dict[str, object]) -> dict[str, object]:
    runs = log["runs"]
    assert isinstance(runs, list)
    assert len(runs) == 1
    run = runs[0]
    assert isinstance(run, dict)
    return run


def test_the_log_names_its_schema_version_and_tool(tmp_path: Path) -> None:
    log = sarif_log([], tmp_path)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert _run(log)["tool"] == {"driver": {"name": "isthmus", "version": __version__, "rules": []}}
    assert _run(log)["results"] == []


def test_the_source_root_base_id_is_the_project_root(tmp_path: Path) -> None:
    run = _run(sarif_log([], tmp_path / "project"))
    assert run["originalUriBaseIds"] == {
        "%SRCROOT%": {"uri": f"file://{(tmp_path / 'project').resolve()}/"}
    }


def test_a_located_diagnostic_is_a_result_relative_to_the_project_root(tmp_path: Path) -> None:
    found = Diagnostic(
        "unknown-function",
        "unknown function 'trmi'",
        Location(tmp_path / "templates/crm-contacts-2.1.0.yaml", 44, 13),
        hint="did you mean trim?",
    )
    assert _run(sarif_log([found], tmp_path))["results"] == [
        {
            "ruleId": "unknown-function",
            "ruleIndex": 0,
            "level": "error",
            "message": {"text": "unknown function 'trmi' (hint: did you mean trim?)"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": "templates/crm-contacts-2.1.0.yaml",
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": 44, "startColumn": 13},
                    }
                }
            ],
        }
    ]


def test_severities_become_sarif_levels(tmp_path: Path) -> None:
    where = Location(tmp_path / "a.yaml", 1, 1)
    found = [
        Diagnostic("unknown-key", "m", where),
        Diagnostic("unused-secret", "m", where, severity=Severity.WARNING),
        Diagnostic("template-parent", "m", where, severity=Severity.INFO),
    ]
    results = _run(sarif_log(found, tmp_path))["results"]
    assert isinstance(results, list)
    assert [r["level"] for r in results] == ["error", "warning", "note"]


def test_one_rule_per_code_used_described_from_the_code_registry(tmp_path: Path) -> None:
    where = Location(tmp_path / "a.yaml", 1, 1)
    found = [
        Diagnostic("yaml-syntax", "m", where),
        Diagnostic("missing-key", "m", where),
        Diagnostic("yaml-syntax", "n", where),
    ]
    run = _run(sarif_log(found, tmp_path))
    assert run["tool"]["driver"]["rules"] == [  # type: ignore[index]
        {"id": "missing-key", "shortDescription": {"text": CODES["missing-key"]}},
        {"id": "yaml-syntax", "shortDescription": {"text": CODES["yaml-syntax"]}},
    ]
    results = run["results"]
    assert isinstance(results, list)
    assert [(r["ruleId"], r["ruleIndex"]) for r in results] == [
        ("yaml-syntax", 1),
        ("missing-key", 0),
        ("yaml-syntax", 1),
    ]


def test_a_code_missing_from_the_registry_is_a_rule_without_a_description(
    tmp_path: Path,
) -> None:
    run = _run(sarif_log([Diagnostic("not-registered", "m")], tmp_path))
    assert run["tool"]["driver"]["rules"] == [{"id": "not-registered"}]  # type: ignore[index]


def test_a_diagnostic_without_a_location_has_no_locations(tmp_path: Path) -> None:
    results = _run(sarif_log([Diagnostic("invalid-value", "m")], tmp_path))["results"]
    assert results == [
        {"ruleId": "invalid-value", "ruleIndex": 0, "level": "error", "message": {"text": "m"}}
    ]


def test_uris_are_posix_percent_encoded_and_columns_count_code_points(tmp_path: Path) -> None:
    where = Location(tmp_path / "integrations/my tenant/crm #1.yaml", 2, 3)
    run = _run(sarif_log([Diagnostic("unknown-key", "m", where)], tmp_path))
    assert run["columnKind"] == "unicodeCodePoints"
    location = run["results"][0]["locations"][0]["physicalLocation"]  # type: ignore[index]
    assert location["artifactLocation"]["uri"] == "integrations/my%20tenant/crm%20%231.yaml"


def test_the_log_is_plain_json(tmp_path: Path) -> None:
    found = [Diagnostic("unknown-key", "m", Location(tmp_path / "a.yaml", 1, 1), hint="h")]
    log = sarif_log(found, tmp_path)
    assert json.loads(json.dumps(log)) == log
