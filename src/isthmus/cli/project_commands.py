"""`isthmus demo`, `validate`, `docs`: the Typer wrappers and their glue (load the project,
call the validation or governance layer, render). The demo's story is in ``cli/demo.py``.

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from isthmus.cli.options import ProjectOption


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(validate)
    app.command()(docs)
    app.command()(schema)
    app.command()(init)
    new = typer.Typer(
        help="Write a new file of the project from its template.", no_args_is_help=True
    )
    new.command("integration")(new_integration)
    app.add_typer(new, name="new")


# --- the commands ----------------------------------------------------------------------------


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to write the demo project (default: a new temporary folder).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Write the demo project, validate it, and run its integrations: two tenants' file
    drops (with a retried failure, a scheduled run and a replay after a mapping fix) and a
    third tenant's CRM API, served by the mock CRM with faults on."""
    from isthmus.cli.demo import run_demo

    raise typer.Exit(run_demo(directory))


class ValidateFormat(StrEnum):
    human = "human"
    json = "json"
    sarif = "sarif"


def validate(
    project: ProjectOption = Path("."),
    output: Annotated[
        ValidateFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format: human, json, or sarif (SARIF 2.1.0, for CI annotations).",
        ),
    ] = ValidateFormat.human,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on warnings too, not only on errors.")
    ] = False,
) -> None:
    """Check every file of the project before anything runs. Exit code 0: valid; 1: errors
    (or, with --strict, warnings)."""
    raise typer.Exit(run_validate(project, output=output, strict=strict))


def docs(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write the HTML catalog into.", file_okay=False),
    ],
    project: ProjectOption = Path("."),
) -> None:
    """Write a static HTML catalog of templates, integrations and the core model."""
    raise typer.Exit(run_docs(project, out))


def schema(
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder to write the JSON Schema files into.", file_okay=False
        ),
    ],
) -> None:
    """Write JSON Schema for every kind of project file, for editors to complete and check."""
    raise typer.Exit(run_schema(out))


def init(
    directory: Annotated[
        Path, typer.Argument(help="The new project's folder.", file_okay=False)
    ] = Path("."),
) -> None:
    """Scaffold a new, empty project: isthmus.yaml and the core, templates and integrations
    folders."""
    from isthmus.cli import render_project
    from isthmus.governance.scaffold import init_project

    render_project.scaffolded(init_project(directory), "isthmus validate")


def new_integration(
    template: Annotated[str, typer.Option("--template", help="The template's name.")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant it serves.")],
    name: Annotated[str, typer.Option("--name", help="The integration's id.")],
    project: ProjectOption = Path("."),
) -> None:
    """Write integrations/TENANT/NAME.yaml for the newest version of a template, with every
    required key and a comment on each."""
    from isthmus.cli import render_project
    from isthmus.config.project import load_project
    from isthmus.governance.scaffold import new_integration as scaffold

    done = scaffold(load_project(project), template, tenant, name)
    render_project.scaffolded(done, "isthmus validate")


# --- the glue --------------------------------------------------------------------------------


def run_validate(
    root: Path, *, output: ValidateFormat = ValidateFormat.human, strict: bool = False
) -> int:
    from isthmus.cli import render, render_project
    from isthmus.config.project import load_project
    from isthmus.diagnostics import Tally
    from isthmus.validation import validate_project
    from isthmus.validation.sarif import sarif_log

    project = load_project(root)
    diagnostics = validate_project(project)
    tally = Tally.of(diagnostics)
    if output is ValidateFormat.json:
        render.print_json(
            {
                "valid": not tally.fails(strict=strict),
                "counts": tally.to_dict(),
                "diagnostics": [d.to_dict(project.root) for d in diagnostics],
            }
        )
    elif output is ValidateFormat.sarif:
        render.print_json(sarif_log(diagnostics, project.root))
    else:
        render_project.diagnostics(diagnostics, project, strict=strict)
    return 1 if tally.fails(strict=strict) else 0


def run_docs(root: Path, out: Path) -> int:
    from isthmus.cli import render_project
    from isthmus.config.project import load_project
    from isthmus.governance import write_catalog

    report = write_catalog(load_project(root), out)
    render_project.docs_written(report.pages, out, report.unresolved)
    return 0


def run_schema(out: Path) -> int:
    from isthmus.cli import render_project
    from isthmus.config.schemas import FILE_KINDS, schema_file_name, write_schemas

    written = write_schemas(out)
    render_project.schemas_written(
        written, {schema_file_name(kind): files for kind, (_, files) in FILE_KINDS.items()}
    )
    return 0
