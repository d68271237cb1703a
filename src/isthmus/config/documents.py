"""YAML files with positions: every key and value keeps its line and column.

ruamel.yaml reads YAML 1.2 (so ``no`` and ``on`` stay strings). A document is turned into
plain Python data for the pydantic models, plus a table from each path in the data to where
it was written, so any diagnostic can name ``file:line:col``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from isthmus.diagnostics import Diagnostic, Location

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a node was written: its key (for mapping entries) and its value, 0-based."""

    key: tuple[int, int]
    value: tuple[int, int]
    quoted: bool = False
    block: bool = False


class Locator(Protocol):
    """Anything that can say where a path of configuration was written."""

    def location(self, path: PathKey = (), *, at_key: bool = False) -> Location: ...

    def expression_location(self, path: PathKey) -> Location: ...


@dataclass(frozen=True, slots=True, eq=False)
class FoldedLocation(Location):
    """Where a folded block scalar (``>-``) starts. Its text is one line once folded;
    :meth:`shifted` maps a character of that text back to the line it was written on."""

    segments: tuple[tuple[int, int, int], ...] = ()  # (offset in folded text, line, column)

    def __eq__(self, other: object) -> bool:
        # The same place as a plain Location: the segments only help find other places.
        if not isinstance(other, Location):
            return NotImplemented
        return (self.file, self.line, self.column) == (other.file, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))

    def shifted(self, columns: int) -> Location:
        start, line, column = self.segments[0]
        for segment in self.segments:
            if segment[0] <= columns:
                start, line, column = segment
        return Location(self.file, line, column + columns - start)


@dataclass
class Document:
    """One YAML file: its plain data and the position of every node."""

    path: Path
    data: Any
    positions: dict[PathKey, Position] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def location(self, path: PathKey = (), *, at_key: bool = False) -> Location:
        """Where ``path`` was written; the nearest written ancestor if it was not."""
        probe = path
        while probe not in self.positions and probe:
            probe = probe[:-1]
        position = self.positions.get(probe)
        if position is None:
            return Location(self.path, 1, 1)
        line, column = position.key if (at_key or probe != path) else position.value
        return Location(self.path, line + 1, column + 1)

    def expression_location(self, path: PathKey) -> Location:
        """Where the text of a string value starts: one column later when it is quoted, on
        the next written line for a block scalar (``>-`` or ``|``)."""
        location = self.location(path)
        position = self.positions.get(path)
        if position is None:
            return location
        if position.block:
            return self._block_location(position.value[0] + 1) or location
        return location.shifted(1) if position.quoted else location

    def _block_location(self, first: int) -> Location | None:
        """The start of a block scalar's text, able to find a character of its folded text
        on the line it was written on."""
        segments: list[tuple[int, int, int]] = []
        offset, indent = 0, None
        for number in range(first, len(self.lines)):
            text = self.lines[number]
            if not text.strip():
                break
            column = len(text) - len(text.lstrip())
            if indent is None:
                indent = column
            if column < indent:
                break
            segments.append((offset, number + 1, column + 1))
            offset += len(text.strip()) + 1  # folding joins lines with one space
        if not segments:
            return None
        _, line, column = segments[0]
        return FoldedLocation(self.path, line, column, tuple(segments))


def load_document(
    path: Path, display_path: Path | None = None
) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML file; return the document, or None and the diagnostics saying why not."""
    shown = display_path or path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [
            Diagnostic(
                "yaml-syntax",
                f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                Location(shown, 1, 1),
                hint="save the file as UTF-8",
            )
        ]
    except OSError as exc:
        return None, [
            Diagnostic(
                "file-unreadable", f"cannot read {shown}: {exc.strerror}", Location(shown, 1, 1)
            )
        ]
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_diagnostic(exc, shown)]
    except YAMLError as exc:
        # Raised before parsing starts, e.g. for a control character in the text.
        return None, [
            Diagnostic(
                "yaml-syntax",
                f"invalid YAML: {exc}",
                Location(shown, 1, 1),
                hint="remove control characters from the file",
            )
        ]
    document = Document(shown, None, lines=text.splitlines())
    document.data = _plain(raw, (), document.positions)
    return document, []


def _syntax_diagnostic(exc: MarkedYAMLError, shown: Path) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if "duplicate key" in problem or "found duplicate key" in str(exc):
        return Diagnostic(
            "duplicate-key",
            f"a key appears twice in the same mapping: {problem}",
            Location(shown, line, column),
            hint="remove or rename one of the two entries",
        )
    return Diagnostic(
        "yaml-syntax",
        f"invalid YAML: {problem}",
        Location(shown, line, column),
        hint="check the indentation and quoting on this line and the one before it",
    )


def _plain(node: Any, path: PathKey, positions: dict[PathKey, Position]) -> Any:
    """Turn ruamel's round-trip nodes into plain dicts, lists and scalars, recording positions."""
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            key_pos = node.lc.key(key)
            value_pos = node.lc.value(key)
            positions[child] = Position(tuple(key_pos), tuple(value_pos), *_style(value))
            result[str(key)] = _plain(value, child, positions)
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            child = (*path, index)
            item_pos = tuple(node.lc.item(index))
            positions[child] = Position(item_pos, item_pos, *_style(value))
            items.append(_plain(value, child, positions))
        return items
    return _plain_scalar(node)


def _style(value: Any) -> tuple[bool, bool]:
    """Whether a scalar was written quoted, and whether as a block (``>`` or ``|``)."""
    quoted = isinstance(value, DoubleQuotedScalarString | SingleQuotedScalarString)
    block = isinstance(value, FoldedScalarString | LiteralScalarString)
    return quoted, block


def _plain_scalar(node: Any) -> Any:
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, ScalarBoolean):  # an anchored boolean is an int subclass in ruamel
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.datetime):
        return dt.datetime.fromisoformat(node.isoformat())
    if isinstance(node, dt.date):
        return dt.date(node.year, node.month, node.day)
    return node
