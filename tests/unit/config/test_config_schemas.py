"""`isthmus schema --out DIR`: JSON Schema for every kind of project file, which the demo's
files satisfy and a file with an unknown or missing key does not."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from isthmus.config.errors import SchemaOutputError
from isthmus.config.schemas import DRAFT, FILE_KINDS, write_schemas
from isthmus.demo import create_demo_project


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("schemas")
    written = write_schemas(folder)
    assert sorted(p.name for p in written) == sorted(
        f"isthmus-{kind}.schema.json" for kind in FILE_KINDS
    )
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no leftovers
    return {
        kind: json.loads((folder / f"isthmus-{kind}.schema.json").read_text())
        for kind in FILE_KINDS
    }


def errors(schema: dict[str, Any], data: Any) -> list[str]:
    return sorted(e.message for e in Draft202012Validator(schema).iter_errors(data))


def plain(path: Path) -> Any:
    """A file as an editor's YAML 1.2 language server reads it: a date is text."""
    return _dates_as_text(YAML(typ="safe").load(path.read_text(encoding="utf-8")))


def _dates_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def test_each_schema_is_a_valid_2020_12_schema(schemas: dict[str, dict[str, Any]]) -> None:
    for kind, schema in schemas.items():
        assert schema["$schema"] == DRAFT
        assert schema["title"].startswith(f"isthmus {kind} file")
        Draft202012Validator.check_schema(schema)


def test_every_file_of_the_demo_project_satisfies_its_schema(
    schemas: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    root = create_demo_project(tmp_path / "demo").root
    files = {
        "project": [root / "isthmus.yaml"],
        "entity": sorted((root / "core").glob("*.yaml")),
        "template": sorted((root / "templates").glob("*.yaml")),
        "integration": sorted((root / "integrations").glob("**/*.yaml")),
    }
    for kind, paths in files.items():
        assert paths
        for path in paths:
            assert errors(schemas[kind], plain(path)) == [], path


def test_an_unknown_key_and_a_missing_key_are_schema_errors(
    schemas: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    root = create_demo_project(tmp_path / "demo").root
    integration = plain(root / "integrations/acme/crm.yaml")
    integration["tennant"] = integration.pop("tenant")
    assert errors(schemas["integration"], integration) == [
        "'tenant' is a required property",
        "Additional properties are not allowed ('tennant' was unexpected)",
    ]


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(SchemaOutputError) as caught:
        write_schemas(tmp_path / "taken")
    assert caught.value.message == f"{tmp_path / 'taken'} is a file, not a folder"
    assert (tmp_path / "taken").read_text() == "mine"


def test_a_template_that_extends_another_may_leave_out_what_its_parent_gives(
    schemas: dict[str, dict[str, Any]],
) -> None:
    child = {"template": "crm-plus", "version": "1.0.0", "extends": "crm-contacts@^2"}
    assert errors(schemas["template"], child) == []
    orphan = {"template": "crm-plus", "version": "1.0.0"}
    assert "'source' is a required property" in errors(schemas["template"], orphan)
