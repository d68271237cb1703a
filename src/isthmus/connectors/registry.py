"""The connector registry: the one list of connectors, their options models and factories.

Validation checks configuration against these models, the docs describe them, and the
engine builds connectors through the factories, so none of them can drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from isthmus.connectors.base import Source, SourceContext
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream


@dataclass(frozen=True)
class SourceConnector:
    name: str
    description: str
    options: type[BaseModel]
    connection: type[BaseModel]
    stream: type[BaseModel]
    factory: Callable[[SourceContext], Source]


SOURCES: dict[str, SourceConnector] = {
    "file": SourceConnector(
        name="file",
        description="JSON Lines and CSV files in a folder of the project.",
        options=FileOptions,
        connection=FileConnection,
        stream=FileStream,
        factory=FileSource,
    ),
}


def source_connector(name: str) -> SourceConnector | None:
    return SOURCES.get(name)
