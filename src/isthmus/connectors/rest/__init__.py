"""The REST source: JSON APIs read page by page over HTTP (httpx)."""

from isthmus.connectors.rest.options import RestConnection, RestOptions, RestStream
from isthmus.connectors.rest.source import RestSource

__all__ = ["RestConnection", "RestOptions", "RestSource", "RestStream"]
