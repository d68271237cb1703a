"""`isthmus serve`: the Typer wrapper and its glue (build the web app, run it with uvicorn).

FastAPI and uvicorn are imported inside the glue, so `isthmus --help` does not load them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from isthmus.cli.options import ProjectOption


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    project: ProjectOption = Path("."),
    host: Annotated[
        str,
        typer.Option("--host", help="The address to listen on; 0.0.0.0 listens on all."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The TCP port.")] = 8000,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Log events at this level and above.")
    ] = LogLevel.info,
) -> None:
    """Receive webhook deliveries over HTTP, in the foreground, until Ctrl-C or SIGTERM.

    POST /hooks/TENANT/INTEGRATION/STREAM takes one signed delivery (Standard Webhooks) for
    an integration whose source is the webhook connector and stores it in the state store;
    `isthmus run` then reads the stored events.
    """
    raise typer.Exit(run_serve(project, host=host, port=port, log_level=log_level.value))


def run_serve(root: Path, *, host: str, port: int, log_level: str) -> int:
    import uvicorn

    from isthmus.logs import configure_logging
    from isthmus.web import create_app

    configure_logging(log_level)
    app = create_app(root)
    typer.echo(f"isthmus serving {root.resolve()} on http://{host}:{port} (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
    return 0
