"""Option and argument types the command groups share. Parsing only: nothing heavy here, so
`isthmus --help` stays fast."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


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
IntegrationArgument = Annotated[str, typer.Argument(help="The integration's id.")]
RunIdArgument = Annotated[int, typer.Argument(help="The run's id, from `isthmus runs`.")]
