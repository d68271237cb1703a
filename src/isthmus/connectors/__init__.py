"""Adapters to external systems and to the core database, behind one protocol."""

from isthmus.connectors.base import (
    Checkpoint,
    Column,
    Destination,
    MalformedRecord,
    PendingBatch,
    Source,
    SourceBatch,
    SourceContext,
    StreamRequest,
    TableSpec,
    Transaction,
    WriteMode,
    WriteResult,
    resolved,
)
from isthmus.connectors.registry import SOURCES, SourceConnector, source_connector
from isthmus.connectors.sql import SqlDestination

__all__ = [
    "SOURCES",
    "Checkpoint",
    "Column",
    "Destination",
    "MalformedRecord",
    "PendingBatch",
    "Source",
    "SourceBatch",
    "SourceConnector",
    "SourceContext",
    "SqlDestination",
    "StreamRequest",
    "TableSpec",
    "Transaction",
    "WriteMode",
    "WriteResult",
    "resolved",
    "source_connector",
]
