"""Pagination styles: which request comes after a page, and when a stream is done.

Page-number and offset reads stop at an empty page or a page shorter than the size asked for;
cursor, link and next-URL reads stop when the page names no next one. A next URL must stay on
the API's own host: credentials are never sent anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from isthmus.connectors.rest.errors import RestResponseError
from isthmus.connectors.rest.options import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    NoPagination,
    OffsetLimitPagination,
    PageNumberPagination,
    Pagination,
)

_MISSING = object()


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: its URL (no credentials), its query parameters and its number."""

    url: str
    params: dict[str, str] = field(default_factory=dict)
    number: int = 1


@dataclass(frozen=True)
class Page:
    """A fetched page, as pagination needs it."""

    request: PageRequest
    response: httpx.Response
    body: Any
    records: int


def dig(body: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``body`` (the body itself for an empty path);
    :data:`_MISSING` when a step is absent or not an object."""
    value = body
    for step in path.split(".") if path else ():
        if not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
    return value


def found(value: Any) -> bool:
    return value is not _MISSING


def first_page(style: Pagination, url: str, params: dict[str, str]) -> PageRequest:
    query = dict(params)
    if isinstance(style, PageNumberPagination):
        query[style.page_param] = str(style.start)
        query[style.size_param] = str(style.size)
    elif isinstance(style, OffsetLimitPagination):
        query[style.offset_param] = "0"
        query[style.limit_param] = str(style.limit)
    return PageRequest(url, query, 1)


def next_page(style: Pagination, page: Page, base_url: str) -> PageRequest | None:
    """The request after ``page``, or None when the stream is done."""
    current = page.request
    number = current.number + 1
    if isinstance(style, NoPagination):
        return None
    if isinstance(style, PageNumberPagination):
        if page.records < style.size:
            return None
        params = {**current.params, style.page_param: str(style.start + number - 1)}
        return PageRequest(current.url, params, number)
    if isinstance(style, OffsetLimitPagination):
        if page.records < style.limit:
            return None
        offset = str((number - 1) * style.limit)
        return PageRequest(current.url, {**current.params, style.offset_param: offset}, number)
    if isinstance(style, CursorPagination):
        return _after_cursor(style, page, number)
    if isinstance(style, LinkHeaderPagination):
        link = page.response.links.get("next", {}).get("url")
        return _follow(link, page, base_url, number, "Link header")
    assert isinstance(style, NextUrlPagination)
    target = dig(page.body, style.next_url_path)
    link = target if found(target) else None
    return _follow(link, page, base_url, number, f"body's {style.next_url_path}")


def _after_cursor(style: CursorPagination, page: Page, number: int) -> PageRequest | None:
    cursor = dig(page.body, style.cursor_path)
    if not found(cursor) or cursor is None or cursor == "":
        return None
    if isinstance(cursor, dict | list):
        raise RestResponseError(
            f"page {page.request.number}: the cursor at {style.cursor_path} is not a value",
            hint="check the pagination's cursor_path",
        )
    text = str(cursor).lower() if isinstance(cursor, bool) else str(cursor)
    current = page.request.params.get(style.cursor_param)
    if text == current:
        raise RestResponseError(
            f"page {page.request.number}: the API returned the cursor it was sent; reading on "
            "would never end",
            hint="check the pagination's cursor_param and cursor_path",
        )
    params = {**page.request.params, style.cursor_param: text}
    return PageRequest(page.request.url, params, number)


def _follow(link: Any, page: Page, base_url: str, number: int, where: str) -> PageRequest | None:
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise RestResponseError(
            f"page {page.request.number}: the next page's URL in the {where} is not text",
            hint="check the pagination's settings",
        )
    target = urljoin(str(page.response.request.url), link)
    if _origin(target) != _origin(base_url):
        raise RestResponseError(
            f"page {page.request.number}: the next page's URL in the {where} leaves the API's "
            f"host ({_origin(target)})",
            hint="credentials are only sent to the connection's base_url; check the API",
        )
    return PageRequest(target, {}, number)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"
