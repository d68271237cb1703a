"""JSON Schema for every kind of project file, so an editor completes and checks the YAML.

The schemas come from the same pydantic models that load the files, so they cannot drift
from what ``isthmus validate`` accepts. They check the shape of a file (keys, types, required
keys, unknown keys); what needs the whole project (a template's mappings against the core
model, a connector's own options) stays with ``isthmus validate``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from isthmus.config.errors import SchemaOutputError
from isthmus.config.models import Entity, Integration, ProjectFile, Template

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# File kind -> (its model, the files of a project it describes, as the YAML extension's globs)
FILE_KINDS: dict[str, tuple[type[BaseModel], str]] = {
    "project": (ProjectFile, "isthmus.yaml"),
    "entity": (Entity, "core/*.yaml"),
    "template": (Template, "templates/*.yaml"),
    "integration": (Integration, "integrations/**/*.yaml"),
}


def schema_file_name(kind: str) -> str:
    return f"isthmus-{kind}.schema.json"


def json_schema(kind: str) -> dict[str, Any]:
    model, files = FILE_KINDS[kind]
    schema = model.model_json_schema(mode="validation")
    if kind == "template" and "extends" in schema.get("properties", {}):
        # A template that extends another may leave out what its parent provides.
        required = schema.pop("required", [])
        schema["if"] = {"required": ["extends"]}
        schema["then"] = {"required": ["template", "version", "extends"]}
        schema["else"] = {"required": required}
    return {
        "$schema": DRAFT,
        "$id": schema_file_name(kind),
        **schema,
        "title": f"isthmus {kind} file ({files})",
    }


def write_schemas(out_dir: Path) -> list[Path]:
    """Write one schema file per file kind into ``out_dir`` (created if missing); each file
    appears whole or not at all. Returns the files written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SchemaOutputError(
            f"{out_dir} is a file, not a folder", hint="pass --out a folder (new or existing)"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in FILE_KINDS:
            target = out_dir / schema_file_name(kind)
            text = json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"
            handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".{target.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, target)
            written.append(target)
    except OSError as exc:
        raise SchemaOutputError(
            f"cannot write the schemas into {out_dir}: {exc.strerror}",
            hint="check the folder's path and permissions",
        ) from None
    return written
