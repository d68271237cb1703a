"""The ``isthmus`` command line: parse, call a layer, render. Nothing else lives here.

Exit codes: 0 success; 1 a user-facing failure (validation errors, a failed run, an error
with a message); 2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from isthmus import __version__
from isthmus.errors import IsthmusError

app = typer.Typer(
    name="isthmus",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Integrations between a core product and its customers' systems, configured from "
    "templates, validated before they run, and run all-or-nothing.",
)
runs_app = typer.Typer(
    help="Run history: `isthmus runs` lists runs, `isthmus runs show ID` shows one.",
    invoke_without_command=True,
)
app.add_typer(runs_app, name="runs")


class Format(StrEnum):
    human = "human"
    json = "json"


ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project", "-p", help="The project folder (default: the current folder).", file_okay=False
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"isthmus {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """isthmus: standardized integrations, validated before they run."""


@app.command()
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
    """Write the demo project, validate it, and run both of its integrations."""
    from isthmus.cli.commands import run_demo

    raise typer.Exit(run_demo(directory))


@app.command()
def validate(project: ProjectOption = Path("."), output: FormatOption = Format.human) -> None:
    """Check every file of the project before anything runs."""
    from isthmus.cli.commands import run_validate

    raise typer.Exit(run_validate(project, json_output=output is Format.json))


@app.command()
def run(
    integration: Annotated[str, typer.Argument(help="The integration's id.")],
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Run one integration now: validate, read, map, check, load in one transaction."""
    from isthmus.cli.commands import run_run

    raise typer.Exit(run_run(project, integration, json_output=output is Format.json))


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    project: ProjectOption = Path("."),
    integration: Annotated[
        str | None, typer.Option("--integration", "-i", help="Only this integration's runs.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many runs to list.", min=1)] = 20,
    output: FormatOption = Format.human,
) -> None:
    """List recent runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from isthmus.cli.commands import run_runs

    raise typer.Exit(run_runs(project, integration, limit, json_output=output is Format.json))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="The run's id, from `isthmus runs`.")],
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """Show one run: counts per stream, status, error, and rejections with examples."""
    from isthmus.cli.commands import run_runs_show

    raise typer.Exit(run_runs_show(project, run_id, json_output=output is Format.json))


@app.command()
def docs(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write the HTML catalog into.", file_okay=False),
    ],
    project: ProjectOption = Path("."),
) -> None:
    """Write a static HTML catalog of templates, integrations and the core model."""
    from isthmus.cli.commands import run_docs

    raise typer.Exit(run_docs(project, out))


def main() -> None:
    """Entry point: turn isthmus errors into a message and exit code 1, never a traceback."""
    try:
        app()
    except IsthmusError as exc:
        from isthmus.cli import render

        render.error(exc)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("ISTHMUS_DEBUG"):
            raise
        from isthmus.cli import render

        render.internal_error(exc)
        sys.exit(1)
