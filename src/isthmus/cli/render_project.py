"""How `isthmus validate`, `docs` and `demo` look on a terminal."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from isthmus.cli.render import err, out

if TYPE_CHECKING:
    from isthmus.config.project import Project
    from isthmus.demo.mockcrm import ReceivedWrite, SeenRequest
    from isthmus.diagnostics import Diagnostic
    from isthmus.governance.scaffold import Scaffolded


def diagnostics(found: Sequence[Diagnostic], project: Project, *, strict: bool = False) -> None:
    """The report of `isthmus validate`: grouped by file, then one line of counts; a
    project that validates is summed up by what it holds."""
    from isthmus.cli.render_diagnostics import print_report  # loads the validation layer

    counts = (
        f"{len(project.entities)} entities, "
        f"{sum(len(v) for v in project.templates.values())} template version(s), "
        f"{len(project.integrations)} integration(s)"
    )
    print_report(out, found, project.root, strict=strict, valid_summary=counts)


def docs_written(pages: Sequence[Path], folder: Path, unresolved: Sequence[str]) -> None:
    out.print(f"wrote {len(pages)} pages to {folder}; open {folder / 'index.html'}")
    for name in unresolved:
        err.print(
            Text(f"warning: integration {name} does not resolve; its page says why", style="yellow")
        )


def schemas_written(paths: Sequence[Path], files_by_schema: dict[str, str]) -> None:
    """The schema files, which project files each describes, and how an editor uses them."""
    for path in paths:
        out.print(f"wrote {path}  ({files_by_schema[path.name]})")
    example = paths[0].parent / "isthmus-template.schema.json"
    out.print("to check a file in VS Code (YAML extension), start it with a modeline:")
    out.print(f"  # yaml-language-server: $schema={example}")


def scaffolded(done: Scaffolded, next_command: str) -> None:
    for path in done.files:
        out.print(f"wrote {path}")
    out.print(f"next: fill in each CHANGE-ME, then {next_command}")


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


def demo_port_taken(wanted: int, used: int, path: Path) -> None:
    out.print(f"port {wanted} is taken: the mock CRM listens on {used}, and {path} says so")


def demo_mock_crm(
    url: str, requests: Sequence[SeenRequest], writes: Sequence[ReceivedWrite]
) -> None:
    """What the mock CRM saw: the faults it answered with and the writes it received."""
    statuses = Counter(r.status for r in requests)
    faults = ", ".join(f"{s} ({statuses[s]})" for s in sorted(statuses) if s >= 400)
    reads = sum(1 for r in requests if r.method == "GET")
    out.print(
        f"the mock CRM at {url} answered {len(requests)} requests ({reads} reads)"
        + (f", faults: {faults}" if faults else "")
    )
    replayed = sum(1 for w in writes if w.replayed)
    stored = sum(1 for w in writes if not w.replayed and 200 <= w.status < 300)
    out.print(
        f"it received {len(writes)} writes: {stored} stored, {replayed} recognised by "
        "idempotency key and answered from its store (not stored twice)"
    )


def demo_next_steps(folder: Path, integrations: Sequence[str], mock_command: str) -> None:
    # Name the command by its full path when it is not on PATH (e.g. inside .venv/bin).
    beside = Path(sys.executable).parent / "isthmus"
    command = "isthmus" if shutil.which("isthmus") or not beside.exists() else str(beside)
    out.print(Text("next steps:", style="bold"))
    out.print(f"  cd {folder}")
    steps = (
        ("validate", ""),
        ("test", "   # the fixture cases under tests/, through the real mapping code"),
        (f"check {integrations[0]}", "   # a dry run on a sample of the source: writes nothing"),
        (f"run {integrations[0]}", ""),
        ("runs", ""),
        ("docs --out site", ""),
    )
    for step, comment in steps:
        out.print(f"  {command} {step}{comment}")
    out.print(f"  {command} {mock_command}   # serves initech's CRM again, in another terminal")
    out.print(f"  {command} run {integrations[-1]}")
