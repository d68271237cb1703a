"""How `isthmus validate`, `docs` and `demo` look on a terminal."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from isthmus.cli.render import diagnostic, err, out
from isthmus.diagnostics import Severity

if TYPE_CHECKING:
    from isthmus.config.project import Project
    from isthmus.diagnostics import Diagnostic


def diagnostics(found: Sequence[Diagnostic], project: Project) -> None:
    for each in found:
        diagnostic(each, out, project)
    errors = sum(1 for d in found if d.severity is Severity.ERROR)
    warnings = sum(1 for d in found if d.severity is Severity.WARNING)
    if errors:
        out.print(
            Text(
                f"{errors} error(s), {warnings} warning(s): the project does not validate",
                style="bold red",
            )
        )
        return
    counts = (
        f"{len(project.entities)} entities, "
        f"{sum(len(v) for v in project.templates.values())} template version(s), "
        f"{len(project.integrations)} integration(s)"
    )
    note = f" ({warnings} warning(s))" if warnings else ""
    out.print(Text(f"valid: {counts}{note}", style="bold green"))


def docs_written(pages: Sequence[Path], folder: Path, unresolved: Sequence[str]) -> None:
    out.print(f"wrote {len(pages)} pages to {folder}; open {folder / 'index.html'}")
    for name in unresolved:
        err.print(
            Text(f"warning: integration {name} does not resolve; its page says why", style="yellow")
        )


# --- the demo --------------------------------------------------------------------------------


def demo_written(folder: Path, tenants: Sequence[str]) -> None:
    out.print(Text(f"demo project written to {folder}", style="bold"))
    out.print(f"tenants: {', '.join(tenants)}; sample exports under {folder / 'data'}")


def demo_step(title: str, *explanation: str) -> None:
    """The heading of one step of the demo's story, and what it shows."""
    out.print()
    out.print(Text(f"== {title}", style="bold magenta"))
    for line in explanation:
        out.print(Text(line, style="magenta"))


def demo_fix(path: Path, added: Sequence[str]) -> None:
    """The lines the demo added to an integration file, as a diff shows them."""
    out.print(f"changed {path}:")
    for line in added:
        out.print(Text(f"  + {line}", style="green"))


def demo_next_steps(folder: Path, integrations: Sequence[str]) -> None:
    # Name the command by its full path when it is not on PATH (e.g. inside .venv/bin).
    beside = Path(sys.executable).parent / "isthmus"
    command = "isthmus" if shutil.which("isthmus") or not beside.exists() else str(beside)
    out.print(Text("next steps:", style="bold"))
    out.print(f"  cd {folder}")
    for step in ("validate", f"run {integrations[0]}", "runs", "docs --out site"):
        out.print(f"  {command} {step}")
