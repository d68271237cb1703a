"""The REST source: a stream is a resource of a JSON API, read page by page.

Each page's records are found at the stream's ``record_selector``; pages are gathered into
batches of at most the engine's batch size. On an incremental read the checkpoint's cursor
value goes to the API as the stream's ``incremental.param``; the last batch carries the new
checkpoint, the greatest cursor value read (or the previous one when nothing newer came).
Records repeated across pages are passed through: the engine's upsert keeps one per key.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx

from isthmus.connectors.base import (
    Checkpoint,
    PendingBatch,
    SourceBatch,
    SourceContext,
    StreamRequest,
    with_checkpoint,
)
from isthmus.connectors.rest.auth import authenticator
from isthmus.connectors.rest.batches import greatest_cursor, pending_batch
from isthmus.connectors.rest.client import Clock, RestClient
from isthmus.connectors.rest.errors import RestResponseError
from isthmus.connectors.rest.options import (
    OAuth2ClientCredentials,
    RestConnection,
    RestOptions,
    RestStream,
)
from isthmus.connectors.rest.pagination import Page, PageRequest, dig, first_page, found, next_page


class RestSource:
    """Reads streams of one API. ``transport`` and ``rng`` are seams for tests."""

    def __init__(
        self,
        context: SourceContext,
        *,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        assert isinstance(context.options, RestOptions)
        assert isinstance(context.connection, RestConnection)
        self.options = context.options
        self.base_url = context.connection.base_url
        self.client = RestClient(
            self.options, Clock(context.sleep, context.monotonic), rng=rng, transport=transport
        )
        auth = self.options.auth
        token_url = self.url(auth.token_url) if isinstance(auth, OAuth2ClientCredentials) else None
        self.auth = authenticator(
            auth,
            context.secrets,
            token_url=token_url,
            fetch=self.client.fetch_token,
            monotonic=context.monotonic,
        )
        self.client.authenticate_with(self.auth)

    def url(self, path: str) -> str:
        """``path`` under the base URL; an absolute http(s) URL stays as it is."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def size_hint(self, request: StreamRequest) -> int | None:
        return None

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        return _StreamRead(self, request).batches()

    def notes(self) -> list[str]:
        summary = self.client.summary()
        return [f"the API: {summary}"] if summary else []

    def close(self) -> None:
        self.client.close()


class _StreamRead:
    """The state of one stream's read: the page, the records gathered, the cursor so far."""

    def __init__(self, source: RestSource, request: StreamRequest) -> None:
        stream = request.options
        assert isinstance(stream, RestStream)
        self.source = source
        self.request = request
        self.stream = stream
        self.style = stream.pagination or source.options.pagination
        self.cursor_field = _cursor_field(stream, request)
        previous = (request.checkpoint or {}).get("cursor")
        self.cursor: Any = previous
        self.params = {name: _text(value) for name, value in stream.params.items()}
        if stream.incremental is not None and previous is not None:
            self.params[stream.incremental.param] = _text(previous)
        self.gathered: list[Any] = []
        self.pages: list[int] = []
        self.bytes = 0
        self.position = 1
        self.previous_digest: bytes | None = None

    def batches(self) -> Iterator[SourceBatch | PendingBatch]:
        held: PendingBatch | None = None  # the last batch carries the checkpoint
        page: PageRequest | None = first_page(
            self.style, self.source.url(self.stream.path), self.params
        )
        while page is not None:
            fetched = self._fetch(page)
            for batch in self._full_batches():
                if held is not None:
                    yield held
                held = batch
            page = next_page(self.style, fetched, self.source.base_url)
        if self.gathered or held is None:
            if held is not None:
                yield held
            held = self._take(len(self.gathered))
        yield with_checkpoint(held, self._checkpoint())

    def _fetch(self, page: PageRequest) -> Page:
        name = self.request.name
        response = self.source.client.get(
            page.url, page.params, f"stream {name} page {page.number}"
        )
        shown = self.source.client.masker.url(response.request.url)
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            detail = (
                f"{exc.msg} at character {exc.pos + 1}"
                if isinstance(exc, json.JSONDecodeError)
                else "not UTF-8 text"
            )
            raise RestResponseError(
                f"stream {name}: page {page.number} (GET {shown}) is not valid JSON ({detail})",
                hint="the API sent a broken page; if it persists, report it to the API's owner",
            ) from None
        records = dig(body, self.stream.record_selector)
        if not found(records) or not isinstance(records, list):
            at = repr(self.stream.record_selector) if self.stream.record_selector else "the body"
            what = "nothing" if not found(records) else f"a JSON {_json_kind(records)}"
            raise RestResponseError(
                f"stream {name}: page {page.number} (GET {shown}) has {what} at {at}, not a list "
                "of records",
                hint="check the stream's record_selector (a dotted path such as data or "
                "data.items; empty when the body is the list)",
            )
        self._check_advanced(page, response.content, shown)
        self.gathered.extend(records)
        self.pages.append(page.number)
        self.bytes += len(response.content)
        if self.cursor_field is not None:
            self.cursor = greatest_cursor(records, self.cursor_field, self.cursor)
        return Page(page, response, body, len(records))

    def _check_advanced(self, page: PageRequest, content: bytes, shown: str) -> None:
        """A page the same as the one before means the paging parameters are not the ones
        the API reads: without this check such a read would never end."""
        digest = hashlib.blake2b(content, digest_size=16).digest()
        if digest == self.previous_digest and page.number > 1:
            raise RestResponseError(
                f"stream {self.request.name}: page {page.number} (GET {shown}) is the same as "
                f"page {page.number - 1}, so paging does not advance",
                hint="check the stream's pagination style and parameter names against the "
                "API's docs",
            )
        self.previous_digest = digest

    def _full_batches(self) -> Iterator[PendingBatch]:
        while len(self.gathered) >= self.request.batch_size:
            yield self._take(self.request.batch_size)

    def _take(self, count: int) -> PendingBatch:
        records, self.gathered = self.gathered[:count], self.gathered[count:]
        first, last = (self.pages[0], self.pages[-1]) if self.pages else (1, 1)
        pages = f"page {first}" if first == last else f"pages {first}-{last}"
        batch = pending_batch(
            records,
            self.position,
            f"GET {self.stream.path} {pages}",
            self.request.fields,
            self.bytes,
        )
        self.position += len(records)
        self.bytes = 0
        # The page the remaining records came from is where the next batch begins.
        self.pages = self.pages[-1:] if self.gathered else []
        return batch

    def _checkpoint(self) -> Checkpoint | None:
        if self.cursor_field is None:
            return self.request.checkpoint
        return {"cursor": self.cursor} if self.cursor is not None else None


def _cursor_field(stream: RestStream, request: StreamRequest) -> str | None:
    if stream.incremental is not None and stream.incremental.cursor_field is not None:
        return stream.incremental.cursor_field
    return request.cursor


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__
