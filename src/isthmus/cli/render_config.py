"""How `isthmus config show` and `config diff` look on a terminal and as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from isthmus.cli.render import out

if TYPE_CHECKING:
    from isthmus.config.changes import ConfigDiff
    from isthmus.config.provenance import ResolvedConfig

# A string starting with one of these is quoted, as YAML would need it.
YAML_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")

# Origins start at this column; a longer line pushes its origin further right.
ORIGIN_COLUMN = 60


def config_json(shown: ResolvedConfig) -> dict[str, Any]:
    return {
        "integration": shown.integration,
        "template": shown.template,
        "values": [
            {
                "path": value.dotted,
                "value": value.value,
                "from": value.origin.source,
                "file": str(value.origin.file),
                "line": value.origin.line,
            }
            for value in shown.values
        ],
    }


def config_listing(shown: ResolvedConfig) -> None:
    """A YAML-like indented listing: each mapping key once, each leaf with a dim origin."""
    out.print(Text(f"integration {shown.integration}: template {shown.template}", style="bold"))
    printed: tuple[str | int, ...] = ()
    rows: list[tuple[str, str]] = []
    for value in shown.values:
        common = 0
        while common < min(len(printed), len(value.path) - 1) and (
            printed[common] == value.path[common]
        ):
            common += 1
        for depth in range(common, len(value.path) - 1):
            rows.append(("  " * depth + f"{value.path[depth]}:", ""))
        depth = len(value.path) - 1
        rows.append(("  " * depth + f"{value.path[-1]}: {_scalar(value.value)}", str(value.origin)))
        printed = value.path[:-1]
    width = min(max((len(text) for text, origin in rows if origin), default=0), ORIGIN_COLUMN)
    for text, origin in rows:
        out.print(Text.assemble(text.ljust(width) + "  " if origin else text, (origin, "dim")))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        plain = value and value == value.strip() and value[0] not in YAML_INDICATORS
        return value if plain and ": " not in value and " #" not in value else json.dumps(value)
    return json.dumps(value, default=str)


def diff_json(diff: ConfigDiff) -> dict[str, Any]:
    return {
        "integration": diff.integration,
        "template": diff.template,
        "from_version": diff.current,
        "to_version": diff.target,
        "changes": [
            {"change": c.kind, "path": c.path, "old": c.old, "new": c.new} for c in diff.changes
        ],
        "overrides_apply": not diff.violations,
        "violations": list(diff.violations),
    }


def diff_listing(diff: ConfigDiff) -> None:
    if diff.identical:
        out.print("no changes")
        return
    out.print(
        Text(
            f"integration {diff.integration}: template {diff.template} "
            f"{diff.current} -> {diff.target}",
            style="bold",
        )
    )
    style = {"added": "green", "removed": "red", "changed": "yellow"}
    for change in diff.changes:
        if change.kind == "changed":
            values = f"{_scalar(change.old)} -> {_scalar(change.new)}"
        else:
            values = _scalar(change.new if change.kind == "added" else change.old)
        out.print(
            Text.assemble((f"  {change.kind:<8} ", style[change.kind]), change.path, ": ", values)
        )
    if not diff.changes:
        out.print("  no value changes")
    if not diff.violations:
        out.print(Text("overrides: all still apply", style="green"))
        return
    for path in diff.violations:
        out.print(
            Text(
                f"violation: override {path} is not overridable in {diff.template} {diff.target}",
                style="red",
            )
        )
