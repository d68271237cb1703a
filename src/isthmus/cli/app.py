"""The ``isthmus`` command line: parse, call a layer, render. Nothing else lives here.

Each command group registers its commands from its own module (``project_commands``,
``run_commands``, ``schedule_commands``, ``quarantine_commands``); what they print is in the
``render*`` modules. The layers are imported only when a command runs, so `isthmus --help`
stays fast.

Exit codes: 0 success; 1 a user-facing failure (validation errors, a failed run, an error
with a message); 2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated

import typer

from isthmus import __version__
from isthmus.cli import (
    check_commands,
    config_commands,
    exceptions_commands,
    mock_commands,
    project_commands,
    quarantine_commands,
    run_commands,
    schedule_commands,
    serve_commands,
    test_commands,
)
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


project_commands.register(app)
exceptions_commands.register(app)
run_commands.register(app)
schedule_commands.register(app)
quarantine_commands.register(app)
serve_commands.register(app)
mock_commands.register(app)
config_commands.register(app)
test_commands.register(app)
check_commands.register(app)


# A command starts by importing a few hundred thousand objects that live until it ends
# (Polars, SQLAlchemy, pydantic, the project's models). At the collector's default first
# threshold (700 new objects) it walks them over and over while they load: about 0.2 s of
# every command. A larger first threshold leaves the cycles of a long-running process
# collected as surely, a few megabytes later.
FIRST_GC_THRESHOLD = 50_000
# Polars allocates through its own jemalloc, which by default keeps four arenas per core and
# holds on to the pages freed into each. A batch is built on a mapping thread and freed on
# the loader's; with one arena those pages serve the next batch at once: 50-60 MiB less at
# the peak of a 1M-row run, at the same speed. jemalloc reads this when Polars is first
# imported, which no module does before main() runs; a value set by the user wins.
POLARS_ALLOCATOR = ("_RJEM_MALLOC_CONF", "narenas:1")


def main() -> None:
    """Entry point: turn isthmus errors into a message and exit code 1, never a traceback."""
    gc.set_threshold(FIRST_GC_THRESHOLD, *gc.get_threshold()[1:])
    os.environ.setdefault(*POLARS_ALLOCATOR)
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
    finally:
        # Everything still alive is freed when the process ends. Without this, the
        # interpreter's shutdown walks every object (a few hundred thousand, most of them
        # from imported libraries) in repeated garbage collections: 0.3-0.5 s after each
        # command, which a short run or a scripted loop of commands feels.
        gc.freeze()
