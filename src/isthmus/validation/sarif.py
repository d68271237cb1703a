"""Diagnostics as a SARIF 2.1.0 log, the format CI systems read to annotate pull requests.

One run, one tool (``isthmus``), one rule per code reported, described from
``validation.codes``. Locations are relative to the project root under the base id
``%SRCROOT%``, which the log also defines as the root's absolute ``file:`` URI, so a CI system
resolves them even when the project is a subfolder of its checkout. Columns count Unicode code
points, as the YAML loader does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from isthmus import __version__
from isthmus.diagnostics import Diagnostic, Severity, relative_file
from isthmus.validation.codes import describe

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
ROOT_BASE_ID = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif_log(diagnostics: Sequence[Diagnostic], root: Path) -> dict[str, object]:
    """The SARIF log of ``diagnostics`` of the project at ``root``."""
    rule_ids = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(rule_ids)}
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "isthmus",
                        "version": __version__,
                        "rules": [_rule(code) for code in rule_ids],
                    }
                },
                # Where %SRCROOT% is, for a reader whose checkout root is not the project's
                # (a project in a subfolder of a repository).
                "originalUriBaseIds": {ROOT_BASE_ID: {"uri": root.resolve().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index[d.code], root) for d in diagnostics],
            }
        ],
    }


def _rule(code: str) -> dict[str, object]:
    rule: dict[str, object] = {"id": code}
    description = describe(code)
    if description is not None:
        rule["shortDescription"] = {"text": description}
    return rule


def _result(diagnostic: Diagnostic, rule_index: int, root: Path) -> dict[str, object]:
    text = diagnostic.message
    if diagnostic.hint:
        text = f"{text} (hint: {diagnostic.hint})"
    result: dict[str, object] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": LEVELS[diagnostic.severity],
        "message": {"text": text},
    }
    where = diagnostic.location
    if where is not None:
        uri = quote(relative_file(where.file, root).as_posix())
        result["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": ROOT_BASE_ID},
                    "region": {"startLine": where.line, "startColumn": where.column},
                }
            }
        ]
    return result
