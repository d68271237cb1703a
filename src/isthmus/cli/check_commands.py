"""`isthmus check INTEGRATION`: a dry run on a sample of the real source; writes nothing.

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isthmus.cli.options import Format, FormatOption, IntegrationArgument, ProjectOption

DEFAULT_SAMPLE = 1000  # the execution layer's default too (isthmus.execution.dry_run)


def register(app: typer.Typer) -> None:
    app.command()(check)


def _positive(value: str) -> int:
    """``--sample``: a whole number of records, at least one."""
    try:
        number = int(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a number of records; give a positive whole number, e.g. --sample 500"
        ) from None
    if number < 1:
        raise typer.BadParameter(
            f"{number} records is no sample; give a positive whole number, e.g. --sample 500"
        )
    return number


def check(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    sample: Annotated[
        int,
        typer.Option(
            "--sample",
            "-n",
            metavar="N",
            parser=_positive,
            help="Records to read at most per stream.",
        ),
    ] = DEFAULT_SAMPLE,
    stream: Annotated[
        str | None,
        typer.Option("--stream", "-s", help="Only this stream (a mapping's name)."),
    ] = None,
    output: FormatOption = Format.human,
) -> None:
    """Dry run: read up to N records per stream from the real source, map and check them as a
    run would, and report what it would load, reject and skip, and the schema drift seen.
    Nothing is written: no run record, checkpoint, quarantine, core row or file."""
    raise typer.Exit(
        run_check(project, integration, sample, stream, json_output=output is Format.json)
    )


def run_check(
    root: Path, integration: str, sample: int, stream: str | None, *, json_output: bool
) -> int:
    from isthmus.cli import render, render_check
    from isthmus.config.project import load_project
    from isthmus.execution.dry_run import DryRunSettings, dry_run

    report = dry_run(load_project(root), integration, DryRunSettings(sample=sample, stream=stream))
    if json_output:
        render.print_json(render_check.check_json(report))
    else:
        render_check.check_report(report)
    return 1 if report.failed else 0
