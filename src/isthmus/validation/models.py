"""What static validation produces: an integration compiled and checked, ready to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from isthmus.config.models import Entity, Mapping, Stream
from isthmus.config.resolve import ResolvedIntegration
from isthmus.connectors.base import Checkpoint, StreamRequest, TableSpec, WriteMode
from isthmus.connectors.registry import SourceConnector, WriteBackConnector
from isthmus.types import DataType

if TYPE_CHECKING:
    from isthmus.mapping import CompiledExpression
    from isthmus.validation.writeback import CompiledWriteBack


@dataclass(frozen=True)
class Reference:
    """A core field whose value must exist in another entity's field, per tenant."""

    field: str
    entity: str
    target_field: str


@dataclass(frozen=True)
class CompiledMapping:
    name: str
    mapping: Mapping
    stream_name: str
    stream: Stream
    stream_options: object
    entity: Entity
    table: TableSpec
    write_mode: WriteMode
    source_fields: dict[str, DataType]
    conversions: dict[str, CompiledExpression]
    fields: dict[str, CompiledExpression]
    references: tuple[Reference, ...]
    pii_source_fields: frozenset[str]
    depends_on: frozenset[str] = field(default_factory=frozenset)

    def stream_request(self, checkpoint: Checkpoint | None, batch_size: int) -> StreamRequest:
        """What to ask the source for: this mapping's stream, from ``checkpoint`` on."""
        return StreamRequest(
            name=self.stream_name,
            fields=self.source_fields,
            options=self.stream_options,  # type: ignore[arg-type]
            primary_key=self.stream.primary_key,
            checkpoint=checkpoint,
            batch_size=batch_size,
            cursor=self.stream.cursor,
        )


@dataclass(frozen=True)
class CompiledIntegration:
    """A resolved integration whose every check passed, with its mappings in run order."""

    resolved: ResolvedIntegration
    connector: SourceConnector
    source_options: object
    connection_options: object
    mappings: tuple[CompiledMapping, ...]
    tables: dict[str, TableSpec]
    writebacks: tuple[CompiledWriteBack, ...] = ()
    writeback_connector: WriteBackConnector | None = None
    writeback_options: object = None
    writeback_connection: object = None

    @property
    def name(self) -> str:
        return self.resolved.name

    @property
    def tenant(self) -> str:
        return self.resolved.tenant
