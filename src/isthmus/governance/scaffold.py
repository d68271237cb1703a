"""Files a user starts from: a new project (`isthmus init`) and a new integration of a
template (`isthmus new integration`), each with every required key and a comment saying
what to put there.

A new integration binds each secret its template uses to an environment variable named
after the tenant and the secret, and fills the connection's required settings with
placeholders the connector accepts, so the file validates as written; a run needs the
secrets set and the placeholders replaced.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from isthmus.config.errors import ProjectError
from isthmus.config.models import Integration, Template
from isthmus.config.project import PROJECT_FILE, Project
from isthmus.config.secrets import template_secret_names
from isthmus.connectors.registry import SOURCES, WRITEBACK

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# Placeholders a connection's required settings get, by setting name; anything else gets
# CHANGE-ME, which the connector's own validation will flag if it cannot be text.
PLACEHOLDERS = {"base_url": "https://CHANGE-ME.example.com", "url": "CHANGE-ME://"}

PROJECT_TEMPLATE = """\
# The isthmus project. Every command runs from this folder, or with --project PATH.
project: {name}
description: ""
core:
  # The core product's database (SQLite, postgresql+psycopg://…, mysql+pymysql://…);
  # with manage_schema isthmus creates the core tables it writes.
  database: sqlite:///.isthmus/core.db
  manage_schema: true
state:
  # isthmus's own records: runs, quarantine, checkpoints, leases.
  database: sqlite:///.isthmus/state.db
"""

FOLDERS = {
    "core": "one file per core entity (entity, tenant_key, primary_key, fields)",
    "templates": "one file per template version (template, version, source, streams, mappings)",
    "integrations": "one file per integration: `isthmus new integration --template T ...`",
}


@dataclass(frozen=True)
class Scaffolded:
    root: Path
    files: tuple[Path, ...]


def init_project(root: Path) -> Scaffolded:
    """Write a new, empty project into ``root`` (created if missing)."""
    if (root / PROJECT_FILE).exists():
        raise ProjectError(
            f"{root / PROJECT_FILE} exists: {root} is a project already",
            hint="run `isthmus validate` there, or pass a new folder to `isthmus init`",
        )
    name = re.sub(r"[^a-z0-9_-]+", "-", root.resolve().name.lower()).strip("-") or "project"
    if not name[0].isalpha():
        name = f"p-{name}"
    written = [_write(root / PROJECT_FILE, PROJECT_TEMPLATE.format(name=name))]
    for folder, what in FOLDERS.items():
        written.append(
            _write(root / folder / "README.md", f"# {folder}/\n\n{what.capitalize()}.\n")
        )
    written.append(_write(root / ".gitignore", ".isthmus/\nsecrets/\n"))
    return Scaffolded(root, tuple(written))


def new_integration(project: Project, template_name: str, tenant: str, name: str) -> Scaffolded:
    """Write ``integrations/TENANT/NAME.yaml`` for the newest version of a template."""
    for value, what in ((tenant, "tenant"), (name, "integration name")):
        if not NAME.match(value) or len(value) > 63:
            raise ProjectError(
                f"{what} {value!r} is not a name",
                hint="use lowercase letters, digits, '-' and '_', starting with a letter",
            )
    if name in project.integrations:
        raise ProjectError(
            f"integration {name!r} exists already ({project.integrations[name].document.path})",
            hint="choose another --name",
        )
    versions = project.templates.get(template_name)
    if not versions:
        known = ", ".join(sorted(project.templates)) or "none"
        raise ProjectError(
            f"template {template_name!r} is not in the project",
            hint=f"templates in this project: {known}",
        )
    newest = max(versions)
    template = versions[newest].model
    path = project.root / "integrations" / tenant / f"{name}.yaml"
    if path.exists():
        raise ProjectError(f"{path} exists already", hint="choose another --name or --tenant")
    text = integration_text(template, f"{template_name}@^{newest.major}", tenant, name)
    return Scaffolded(project.root, (_write(path, text),))


def integration_text(template: Template, reference: str, tenant: str, name: str) -> str:
    lines = [
        f"# {name}: tenant {tenant} on template {reference} ({template.description.strip()})",
        "# Replace each CHANGE-ME, set the secrets' variables, then: isthmus validate",
        f"integration: {name}",
        f"tenant: {tenant}",
        f"template: {reference}",
        'description: ""',
        "# Who answers for this integration (required).",
        "owner: {team: CHANGE-ME, contact: change-me@example.com}",
        "# Who to call, and after how long, when it stays unhealthy.",
        "escalation: []",
        "connection:",
    ]
    source = SOURCES.get(template.source.connector)
    if source is not None:
        lines += _settings(source.connection, "  ", tenant)
    if template.writeback is not None:
        sink = WRITEBACK.get(template.writeback.connector)
        if sink is not None and (
            template.writeback.connector != template.source.connector or sink.name == "file"
        ):
            lines += ["  # Where the write-back sends core rows.", "  writeback:"]
            lines += _settings(sink.connection, "    ", tenant)
    secrets = sorted(template_secret_names(template))
    if secrets:
        lines.append(
            "  # Each secret the template uses, bound to where its value is: never the value."
        )
        lines.append("  secrets:")
        lines += [f"    {s}: env:{tenant.upper().replace('-', '_')}_{s.upper()}" for s in secrets]
    if template.overridable:
        allowed = ", ".join(template.overridable)
        lines += [f"# The template lets an integration override: {allowed}.", "overrides: {}"]
    text = "\n".join(lines) + "\n"
    Integration.model_validate(_loaded(text))  # what we write must load
    return text


def _settings(model: type[BaseModel], indent: str, tenant: str) -> list[str]:
    lines = []
    for key, field in model.model_fields.items():
        if not field.is_required():
            continue
        if field.description:
            lines.append(f"{indent}# {field.description}")
        value = "data/" + tenant if key == "root" else PLACEHOLDERS.get(key, "CHANGE-ME")
        lines.append(f"{indent}{key}: {json.dumps(value)}")
    return lines


def _loaded(text: str) -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - only to check what is written

    return YAML(typ="safe").load(text)


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ProjectError(
            f"cannot write {path}: {exc.strerror}", hint="check the folder and its permissions"
        ) from None
    return path
