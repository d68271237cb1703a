"""`isthmus test`: run the project's fixture cases (tests/*.yaml) through the real mapping and
validation, with no connector and no database. The layers are imported inside the glue, so
`isthmus --help` does not load them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isthmus.cli.options import Format, FormatOption, ProjectOption

JUNIT = "--junit"


def register(app: typer.Typer) -> None:
    app.command("test")(fixture_tests)


def fixture_tests(
    name_filter: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME-FILTER",
            help="Run only the cases whose name, or whose file's path, contains this text "
            "(any case).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOption = Path("."),
    junit: Annotated[
        Path | None,
        typer.Option(
            JUNIT,
            help="Also write the results as JUnit XML to this file (replaced whole).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    output: FormatOption = Format.human,
) -> None:
    """Run the fixture cases under tests/: each feeds records through one mapping of an
    integration and compares the core rows and rejections with what it expects. Exit code 0:
    every case passes; 1: a case fails, or a test file has problems."""
    if junit is not None:
        _check_junit_path(junit)
    raise typer.Exit(run_tests(project, name_filter, junit, json_output=output is Format.json))


def _check_junit_path(junit: Path) -> None:
    """A path the report cannot be written to is a usage error, found before any case runs."""
    if junit.is_dir():
        raise typer.BadParameter(f"{junit} is a folder; give a file", param_hint=f"'{JUNIT}'")
    if not junit.parent.is_dir():
        raise typer.BadParameter(
            f"the folder {junit.parent} does not exist", param_hint=f"'{JUNIT}'"
        )


def run_tests(root: Path, name_filter: str | None, junit: Path | None, *, json_output: bool) -> int:
    from isthmus.cli import render, render_tests
    from isthmus.config.project import load_project
    from isthmus.validation.fixtures import run_fixture_tests
    from isthmus.validation.fixtures_junit import write_junit

    project = load_project(root)
    found = run_fixture_tests(project, name_filter=name_filter)
    if json_output:
        render.print_json(render_tests.report_json(found, project.root))
    elif not found.files:
        render_tests.no_cases(project.root, name_filter)
    else:
        render_tests.report(found, project.root)
    if junit is not None:
        try:
            write_junit(found, junit)
        except OSError as exc:
            render.err.print(f"error: cannot write {junit}: {exc.strerror}", style="bold red")
            return 2
    return 0 if found.passed else 1
