"""Build a stream's source together with the sampler that sees its raw fields."""

from __future__ import annotations

from isthmus.connectors.base import Source, SourceContext
from isthmus.connectors.files import FileSource
from isthmus.connectors.registry import SourceConnector
from isthmus.connectors.rest import RestSource
from isthmus.connectors.sampling import FieldSampler
from isthmus.connectors.sampling_files import FileSampler
from isthmus.connectors.sampling_rest import sampled_rest_source
from isthmus.connectors.sampling_sql import SqlSampler
from isthmus.connectors.sampling_webhook import WebhookSampler
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.webhook import WebhookSource


def sampled_source(
    connector: SourceConnector, context: SourceContext
) -> tuple[Source, FieldSampler | None]:
    """The connector's source and its sampler; None when no sampler knows the kind."""
    if connector.factory is RestSource:
        return sampled_rest_source(context)
    source = connector.factory(context)
    if isinstance(source, FileSource):
        return source, FileSampler(source)
    if isinstance(source, SqlSource):
        return source, SqlSampler(source)
    if isinstance(source, WebhookSource):
        return source, WebhookSampler(source.events, source.integration)
    return source, None
