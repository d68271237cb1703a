"""`isthmus config show|diff`: the Typer wrappers and their glue (load the project, call the
configuration layer, render).

The layers are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isthmus.cli.options import Format, FormatOption, IntegrationArgument, ProjectOption


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(
        help="An integration's resolved configuration: where each value comes from, and what "
        "another template version would change.",
        no_args_is_help=True,
    )
    config_app.command("show")(config_show)
    config_app.command("diff")(config_diff)
    app.add_typer(config_app, name="config")


def config_show(
    integration: IntegrationArgument,
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """The resolved configuration (template, its parents, the overrides), each value with the
    file and line it came from. Secrets stay references."""
    raise typer.Exit(run_config_show(project, integration, json_output=output is Format.json))


def config_diff(
    integration: IntegrationArgument,
    template_version: Annotated[
        str,
        typer.Option("--template-version", help="The template version to compare with."),
    ],
    project: ProjectOption = Path("."),
    output: FormatOption = Format.human,
) -> None:
    """What would change if the integration moved to another version of its template, and
    which of its overrides that version would refuse (exit 1 if any)."""
    raise typer.Exit(
        run_config_diff(project, integration, template_version, json_output=output is Format.json)
    )


# --- the glue --------------------------------------------------------------------------------


def run_config_show(root: Path, integration: str, *, json_output: bool) -> int:
    from isthmus.cli import render, render_config
    from isthmus.config.project import load_project
    from isthmus.config.provenance import show_config

    shown = show_config(load_project(root), integration)
    if json_output:
        render.print_json(render_config.config_json(shown))
    else:
        render_config.config_listing(shown)
    return 0


def run_config_diff(root: Path, integration: str, version: str, *, json_output: bool) -> int:
    from isthmus.cli import render, render_config
    from isthmus.config.changes import diff_config, template_versions
    from isthmus.config.project import load_project

    project = load_project(root)
    present = [str(v) for v in template_versions(project, integration)]
    if version not in present:
        raise typer.BadParameter(
            f"no version {version} of this integration's template; versions present: "
            f"{', '.join(present) or 'none'}",
            param_hint="'--template-version'",
        )
    diff = diff_config(project, integration, version)
    if json_output:
        render.print_json(render_config.diff_json(diff))
    else:
        render_config.diff_listing(diff)
    return 1 if diff.violations else 0
