"""Sampling a REST stream: the records of the pages the dry run's own read fetched.

The source's HTTP client gets a response hook that keeps the body of every page that
answered, so authentication, pacing, retries, pagination and the client's transport (proxies
included) stay the source's own, and the API is asked for each page once: the sampler then
reads the records of those pages as the API sent them.
"""

from __future__ import annotations

import json
import random

import httpx

from isthmus.connectors.base import SourceContext, StreamRequest
from isthmus.connectors.rest import RestSource, RestStream
from isthmus.connectors.rest.pagination import dig, found
from isthmus.connectors.sampling import FieldWalk, ObservedFields


class PageRecorder:
    """A response hook keeping the bodies of successful GETs, in order."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, response: httpx.Response) -> None:
        if response.request.method == "GET" and response.is_success:
            self.bodies.append(response.read())


class RestSampler:
    """Observes the records of the pages its source fetched."""

    def __init__(self, pages: PageRecorder) -> None:
        self.pages = pages

    def observe(self, request: StreamRequest, limit: int) -> ObservedFields:
        stream = request.options
        assert isinstance(stream, RestStream)
        walk = FieldWalk(request.fields)
        pages = 0
        for body in self.pages.bodies:
            if walk.records >= limit:
                break
            records = _records(body, stream.record_selector)
            pages += 1
            for record in records[: limit - walk.records]:
                walk.record(record)
        return walk.result(
            f"the first {walk.records} records of {pages} page(s) of GET {stream.path}"
        )


def _records(body: bytes, selector: str) -> list[object]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # the read reports a broken page itself
    records = dig(parsed, selector)
    return records if found(records) and isinstance(records, list) else []


def sampled_rest_source(
    context: SourceContext,
    *,
    transport: httpx.BaseTransport | None = None,
    rng: random.Random | None = None,
) -> tuple[RestSource, RestSampler]:
    """A REST source whose pages are kept for its sampler (``transport`` and ``rng`` are the
    source's seams for tests)."""
    source = RestSource(context, transport=transport, rng=rng)
    pages = PageRecorder()
    hooks = source.client.http.event_hooks
    hooks["response"] = [*hooks.get("response", []), pages]
    source.client.http.event_hooks = hooks
    return source, RestSampler(pages)
