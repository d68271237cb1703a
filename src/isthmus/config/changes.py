"""What would change if an integration moved to another template version: `isthmus config
diff`. Both sides are resolved the same way (parents merged, then the integration's
overrides); the leaves are compared path by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from isthmus.config.inherit import merge
from isthmus.config.project import Project
from isthmus.config.provenance import dotted, leaves, resolved_data, resolved_integration
from isthmus.config.versions import Version
from isthmus.errors import NotFoundError

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ConfigDiff:
    integration: str
    template: str
    current: str
    target: str
    changes: tuple[Change, ...]
    violations: tuple[str, ...]  # override paths the target version does not make overridable

    @property
    def identical(self) -> bool:
        return not self.changes and not self.violations


def template_versions(project: Project, integration: str) -> list[Version]:
    """The versions present of the template ``integration`` uses."""
    name = resolved_integration(project, integration).integration.template_name
    return sorted(project.templates.get(name, {}))


def diff_config(project: Project, integration: str, version: str) -> ConfigDiff:
    """The leaves that differ between the integration as it resolves now and as it would on
    template version ``version``, and the overrides that version would refuse."""
    resolved = resolved_integration(project, integration)
    name = resolved.integration.template_name
    versions = project.templates.get(name, {})
    try:
        target = versions.get(Version.parse(version))
    except ValueError:
        target = None
    if target is None:
        present = ", ".join(str(v) for v in sorted(versions)) or "none"
        raise NotFoundError(
            f"template {name!r} has no version {version}", hint=f"versions present: {present}"
        )
    overrides = resolved.integration.overrides
    before = dict(leaves(resolved_data(resolved)))
    after = dict(leaves(merge(target.document.data, overrides)))
    changes = [
        Change("changed", dotted(p), before[p], after[p])
        for p in before
        if p in after and before[p] != after[p]
    ]
    changes += [Change("removed", dotted(p), before[p], None) for p in before if p not in after]
    changes += [Change("added", dotted(p), None, after[p]) for p in after if p not in before]
    allowed = target.model.overridable
    violations = tuple(
        dotted(path)
        for path, _ in leaves(overrides)
        if path and not any(covers(pattern, dotted(path)) for pattern in allowed)
    )
    return ConfigDiff(
        integration=resolved.name,
        template=name,
        current=resolved.template.version,
        target=target.model.version,
        changes=tuple(sorted(changes, key=lambda c: c.path)),
        violations=violations,
    )


def covers(pattern: str, path: str) -> bool:
    """Whether an ``overridable`` glob admits ``path``: segment by segment, and a pattern
    naming a section admits everything under it."""
    wanted, parts = pattern.split("."), path.split(".")
    if len(wanted) > len(parts):
        return False
    return all(fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=False))
