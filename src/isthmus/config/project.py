"""Load a project folder: the project file, the core model, templates and integrations.

Loading never stops at the first problem: every file is read, every problem becomes a
diagnostic, and whatever did load is kept so later checks can still run on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from isthmus.config.diagnose import model_diagnostics
from isthmus.config.documents import Document, load_document
from isthmus.config.errors import ProjectNotFoundError
from isthmus.config.inherit import inherit_templates
from isthmus.config.models import Entity, Integration, ProjectFile, Template
from isthmus.config.versions import Version
from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping.custom_modules import load_function_modules

PROJECT_FILE = "isthmus.yaml"
CORE_DIR = "core"
TEMPLATES_DIR = "templates"
INTEGRATIONS_DIR = "integrations"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A model and the document it was read from (for positions)."""

    model: M
    document: Document


@dataclass
class Project:
    root: Path
    settings: Loaded[ProjectFile] | None
    entities: dict[str, Loaded[Entity]] = field(default_factory=dict)
    templates: dict[str, dict[Version, Loaded[Template]]] = field(default_factory=dict)
    integrations: dict[str, Loaded[Integration]] = field(default_factory=dict)
    documents: dict[Path, Document] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Names declared by files that did not load (kind -> name -> file), so that whatever
    # uses them says "did not load" instead of "does not exist".
    unloaded: dict[str, dict[str, Path]] = field(default_factory=dict)

    def unloaded_file(self, kind: str, name: str) -> Path | None:
        return self.unloaded.get(kind, {}).get(name)

    def path(self, relative: str | Path) -> Path:
        """A path inside the project, as the user would type it from where they stand."""
        return self.root / relative


def load_project(root: Path) -> Project:
    """Read every file of the project at ``root``.

    Raises ProjectNotFoundError when there is no project file; every other problem is a
    diagnostic on the returned project.
    """
    project_file = root / PROJECT_FILE
    if not project_file.is_file():
        hint = (
            "pass --project DIR, run the command inside a project folder, or create one "
            "with `isthmus demo --dir DIR`"
        )
        raise ProjectNotFoundError(
            f"no {PROJECT_FILE} in {root.resolve()}: this folder is not an isthmus project",
            hint=hint,
        )
    project = Project(root=root, settings=None)
    project.settings = _load_one(project, project_file, ProjectFile, "project")
    _load_functions(project)
    for path in _yaml_files(root / CORE_DIR):
        _add_entity(project, _load_one(project, path, Entity, "entity"))
    _load_templates(project, _yaml_files(root / TEMPLATES_DIR))
    for path in _yaml_files(root / INTEGRATIONS_DIR):
        _add_integration(project, _load_one(project, path, Integration, "integration"))
    return project


def _load_functions(project: Project) -> None:
    """Register the custom functions of the modules ``functions:`` lists, before anything
    compiles an expression; a module that does not load is a diagnostic at its entry."""
    settings = project.settings
    entries = settings.model.functions if settings is not None else []
    problems = load_function_modules(project.root, entries)
    for index, problem in enumerate(problems):
        if problem is not None:
            assert settings is not None
            where = settings.document.location(("functions", index))
            project.diagnostics.append(
                Diagnostic(problem.code, problem.message, where, hint=problem.hint)
            )


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _load_one(project: Project, path: Path, model: type[M], kind: str) -> Loaded[M] | None:
    document = _read(project, path, kind)
    return None if document is None else _validated(project, document, model, kind)


def _load_templates(project: Project, paths: list[Path]) -> None:
    """Template files, each merged onto its parent chain (``extends``) before validation."""
    documents = [d for d in (_read(project, path, "template") for path in paths) if d]
    merged, problems = inherit_templates(documents)
    project.diagnostics.extend(problems)
    kept = {d.path for d in merged}
    for document in documents:
        name = document.data.get("template")
        if document.path not in kept and isinstance(name, str):
            project.unloaded.setdefault("template", {})[name] = document.path
    for document in merged:
        _add_template(project, _validated(project, document, Template, "template"))


def _read(project: Project, path: Path, kind: str) -> Document | None:
    """One file's document, if it parses and holds a mapping declaring ``kind``."""
    document, problems = load_document(path)
    project.diagnostics.extend(problems)
    if document is None:
        # What depends on it is then reported as depending on a broken file, not as naming
        # something no file declares: the file's own error is the one to fix.
        name = _guessed_name(path, kind)
        if name is not None:
            project.unloaded.setdefault(kind, {}).setdefault(name, path)
        return None
    project.documents[path] = document
    if not isinstance(document.data, dict):
        found = "nothing" if document.data is None else f"a {type(document.data).__name__}"
        project.diagnostics.append(
            Diagnostic(
                "invalid-value",
                f"{_article(kind)} {kind} file must hold a mapping of keys, but "
                f"this one holds {found}",
                Location(path, 1, 1),
                hint=f"start the file with `{kind}: <name>`",
            )
        )
        return None
    if kind not in document.data:
        project.diagnostics.append(
            Diagnostic(
                "missing-key",
                f"{path} does not declare `{kind}:`",
                Location(path, 1, 1),
                hint=f"files under this folder are {kind} files; start it with `{kind}: <name>`",
            )
        )
        return None
    return document


def _guessed_name(path: Path, kind: str) -> str | None:
    """The name a file that does not parse most likely declares: its ``kind: name`` line if
    that line reads, else its file name (a template's without the version it ends with)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    line = re.search(rf"^{kind}:[ \t]*['\"]?([A-Za-z0-9_.-]+)['\"]?[ \t]*(?:#.*)?$", text, re.M)
    if line is not None:
        return line.group(1)
    stem = re.sub(r"-\d+\.\d+\.\d+\S*$", "", path.stem) if kind == "template" else path.stem
    return stem or None


def _validated(project: Project, document: Document, model: type[M], kind: str) -> Loaded[M] | None:
    try:
        return Loaded(model.model_validate(document.data), document)
    except ValidationError as exc:
        project.diagnostics.extend(model_diagnostics(exc, document, model))
        name = document.data.get(kind)
        if isinstance(name, str):
            project.unloaded.setdefault(kind, {})[name] = document.path
        return None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _duplicate(kind: str, name: str, first: Document, second: Document) -> Diagnostic:
    return Diagnostic(
        f"duplicate-{kind}",
        f"{kind} {name!r} is declared twice; the first is at {first.location((kind,))}",
        second.location((kind,)),
        hint=f"give one of them another {kind} name",
    )


def _add_entity(project: Project, loaded: Loaded[Entity] | None) -> None:
    if loaded is None:
        return
    name = loaded.model.entity
    if name in project.entities:
        project.diagnostics.append(
            _duplicate("entity", name, project.entities[name].document, loaded.document)
        )
        return
    project.entities[name] = loaded


def _add_template(project: Project, loaded: Loaded[Template] | None) -> None:
    if loaded is None:
        return
    versions = project.templates.setdefault(loaded.model.template, {})
    version = Version.parse(loaded.model.version)
    if version in versions:
        first = versions[version].document
        project.diagnostics.append(
            Diagnostic(
                "duplicate-template",
                f"template {loaded.model.template} {version} is declared "
                f"twice; the first is at {first.location(('version',))}",
                loaded.document.location(("version",)),
                hint="each version of a template lives in one file; bump the version",
            )
        )
        return
    versions[version] = loaded


def _add_integration(project: Project, loaded: Loaded[Integration] | None) -> None:
    if loaded is None:
        return
    name = loaded.model.integration
    if name in project.integrations:
        project.diagnostics.append(
            _duplicate("integration", name, project.integrations[name].document, loaded.document)
        )
        return
    project.integrations[name] = loaded
