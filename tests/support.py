"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from isthmus.config.documents import load_document

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def sqlite_content(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite file, sorted: equal content, equal value."""
    if not path.exists():
        return {}
    connection = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            t: sorted(connection.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in tables
        }
    finally:
        connection.close()


def service_unavailable(what: str, how: str) -> None:
    """Skip locally, fail in CI: a test of a real service must run there."""
    message = f"{what} is not reachable; start it with: {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def edit_yaml(path: Path, change: Any) -> None:
    """Load a YAML file, let ``change`` edit it as plain data, write it back (as JSON, which
    is YAML too)."""
    document, problems = load_document(path)
    assert document is not None, problems
    data = document.data
    change(data)
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def without_demo_guardrails(root: Path) -> Path:
    """The demo project without its policy and acme's excepted schedule override: a
    project that breaks no guardrail and holds no exception, for guardrail tests to start
    from."""
    acme = root / "integrations/acme/crm.yaml"
    text = acme.read_text(encoding="utf-8")
    acme.write_text(text[: text.index("overrides:\n")], encoding="utf-8")
    settings = root / "isthmus.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text[: text.index("# The guardrails in force")], encoding="utf-8")
    return root
