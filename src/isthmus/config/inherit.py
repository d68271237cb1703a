"""Template inheritance: ``extends: NAME@RANGE`` starts a template from its parent.

The merge happens on the raw YAML data, before the ``Template`` model sees it, so a child may
leave out required keys its parent provides. The merged document keeps, for every path, the
file that wrote it: a diagnostic about an inherited value names the parent's file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isthmus.config.documents import Document, PathKey
from isthmus.config.versions import Version, VersionRange
from isthmus.diagnostics import BROKEN_DEPENDENCY, Diagnostic, Location, Severity

EXTENDS = "extends"


@dataclass(eq=False)
class MergedDocument(Document):
    """A child template merged onto its parent; each path is located in the file that wrote
    it (the child's own file wins)."""

    child: Document | None = None
    parent: Document | None = None
    sources: dict[PathKey, Document] = field(default_factory=dict)

    def owner(self, path: PathKey) -> Document:
        """The document (the child's, or the merged parent's) that wrote ``path`` or its
        nearest written ancestor."""
        probe = path
        while probe and probe not in self.sources:
            probe = probe[:-1]
        found = self.sources.get(probe)
        if found is not None:
            return found
        assert self.child is not None
        return self.child

    def location(self, path: PathKey = (), *, at_key: bool = False) -> Location:
        return self.owner(path).location(path, at_key=at_key)

    def expression_location(self, path: PathKey) -> Location:
        return self.owner(path).expression_location(path)


def origin_document(document: Document, path: PathKey) -> Document:
    """The one file (not a merge) that wrote ``path``."""
    while isinstance(document, MergedDocument):
        document = document.owner(path)
    return document


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base``; a None value removes the key it names."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_document(child: Document, parent: Document) -> MergedDocument:
    """``child``'s data merged onto ``parent``'s, located path by path."""
    data = merge(parent.data, child.data)
    merged = MergedDocument(child.path, data, lines=child.lines, child=child, parent=parent)
    for path in _paths(data, ()):
        merged.sources[path] = child if path in child.positions else parent
    return merged


def _paths(node: Any, path: PathKey) -> list[PathKey]:
    found: list[PathKey] = []
    items: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, value in items:
        child = (*path, key)
        found += [child, *_paths(value, child)]
    return found


def label(document: Document) -> str:
    """``name@version`` of a template file, as a cycle is printed."""
    data = document.data if isinstance(document.data, dict) else {}
    return f"{data.get('template')}@{data.get('version')}"


@dataclass
class _Index:
    """Template files by name and version, as written (before any model validation)."""

    versions: dict[str, dict[Version, Document]] = field(default_factory=dict)

    @classmethod
    def of(cls, documents: list[Document]) -> _Index:
        index = cls()
        for document in documents:
            name, version = document.data.get("template"), document.data.get("version")
            if not isinstance(name, str) or not isinstance(version, str):
                continue
            try:
                parsed = Version.parse(version)
            except ValueError:
                continue
            index.versions.setdefault(name, {}).setdefault(parsed, document)
        return index

    def present(self) -> str:
        return (
            "; ".join(
                f"{name} {', '.join(str(v) for v in sorted(versions))}"
                for name, versions in sorted(self.versions.items())
            )
            or "none"
        )


def inherit_templates(documents: list[Document]) -> tuple[list[Document], list[Diagnostic]]:
    """Each template document with its parents merged in; a template whose parent chain does
    not resolve is left out, and a diagnostic says why."""
    index = _Index.of(documents)
    result: list[Document] = []
    problems: list[Diagnostic] = []
    for document in documents:
        merged, found = _inherit(document, index)
        problems += found
        if merged is not None:
            result.append(merged)
    return result, problems


def _inherit(document: Document, index: _Index) -> tuple[Document | None, list[Diagnostic]]:
    if document.data.get(EXTENDS) is None:
        return document, []
    chain = [document]
    while True:
        parent, problem = _parent(chain[-1], index)
        if problem is not None:
            if chain[-1] is not document:
                problem = _broken(document, chain[-1])
            return None, [problem]
        if parent is None:
            break
        if any(parent is seen for seen in chain):
            if parent is not document:
                return None, [_broken(document, chain[-1])]
            return None, [_cycle(document, chain)]
        chain.append(parent)
    merged = chain[-1]
    for child in reversed(chain[:-1]):
        merged = merged_document(child, merged)
    return merged, [_picked(document, chain[1])]


def _parent(document: Document, index: _Index) -> tuple[Document | None, Diagnostic | None]:
    """The parent file ``document`` extends (None when it extends nothing), or why not."""
    written = document.data.get(EXTENDS)
    if written is None:
        return None, None
    where = document.location((EXTENDS,))
    if not isinstance(written, str) or not written:
        return None, Diagnostic(
            "invalid-value",
            f"extends: expected NAME@RANGE, got {written!r}",
            where,
            hint="write the parent as name@range, e.g. crm-base@^1",
        )
    name, _, text = written.partition("@")
    versions = index.versions.get(name)
    if not versions:
        return None, Diagnostic(
            "unknown-template",
            f"template {label(document)} extends {name!r}, which no file under templates/ declares",
            where,
            hint=f"templates and versions present: {index.present()}",
        )
    try:
        wanted = VersionRange.parse(text or "*")
    except ValueError as exc:
        return None, Diagnostic(
            "invalid-value", str(exc), where, hint="write the range as ^2, ~2.1, 2.1.0 or >=2.1 <3"
        )
    best = wanted.best(list(versions))
    if best is None:
        present = ", ".join(str(v) for v in sorted(versions))
        return None, Diagnostic(
            "no-matching-template-version",
            f"template {label(document)} extends {written}, but no version of template "
            f"{name!r} matches {wanted}",
            where,
            hint=f"versions present: {present}",
        )
    return versions[best], None


def _cycle(document: Document, chain: list[Document]) -> Diagnostic:
    shown = " -> ".join(label(d) for d in [*chain, document])
    return Diagnostic(
        "template-cycle",
        f"template {label(document)} extends itself through its parents: {shown}",
        document.location((EXTENDS,), at_key=True),
        hint="remove `extends` from one template of the chain",
    )


def _broken(document: Document, failed: Document) -> Diagnostic:
    return Diagnostic(
        BROKEN_DEPENDENCY,
        f"template {label(document)} extends {document.data.get(EXTENDS)}, whose parent "
        f"chain does not resolve at {failed.path}",
        document.location((EXTENDS,)),
        hint=f"fix the errors reported for {failed.path}",
    )


def _picked(document: Document, parent: Document) -> Diagnostic:
    name, version = parent.data.get("template"), parent.data.get("version")
    return Diagnostic(
        "template-parent",
        f"template {label(document)} extends {document.data.get(EXTENDS)}: picked parent "
        f"{name} {version} ({parent.path})",
        document.location((EXTENDS,)),
        severity=Severity.INFO,
    )
