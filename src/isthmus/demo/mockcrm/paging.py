"""How the mock CRM pages a list: one style per server, as real APIs do.

page_number   ?page=N&per_page=S        body: data, page, per_page, total
offset_limit  ?offset=O&limit=L         body: data, offset, limit, total
cursor        ?cursor=C&limit=L         body: data, next_cursor (null on the last page)
link_header   ?page=N&per_page=S        header: Link: <...>; rel="next"
next_url      ?page=N&per_page=S        body: data, next (a relative URL, null at the end)
none          everything at once        body: data

Links never carry credentials: an ``api_key`` query parameter is not copied into them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlencode

Style = Literal["cursor", "page_number", "offset_limit", "link_header", "next_url", "none"]
STYLES: tuple[Style, ...] = get_args(Style)
MAX_PAGE_SIZE = 1000
CREDENTIAL_PARAMS = frozenset({"api_key"})


class PagingError(ValueError):
    """A paging parameter the API refuses (answered 400)."""


@dataclass(frozen=True)
class Window:
    """Which records a request asks for: from ``start``, at most ``size``."""

    start: int
    size: int

    @property
    def number(self) -> int:
        return self.start // self.size + 1


@dataclass
class PageOut:
    records: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)  # beside the records in the body
    headers: dict[str, str] = field(default_factory=dict)


def window(style: Style, query: Mapping[str, str], default_size: int) -> Window:
    if style == "none":
        return Window(0, 1 << 62)
    if style == "offset_limit":
        return Window(_number(query, "offset", 0, 0), _size(query, "limit", default_size))
    if style == "cursor":
        start = _decode_cursor(query["cursor"]) if query.get("cursor") else 0
        return Window(start, _size(query, "limit", default_size))
    size = _size(query, "per_page", default_size)
    return Window((_number(query, "page", 1, 1) - 1) * size, size)


def page(
    style: Style,
    items: Sequence[dict[str, Any]],
    at: Window,
    *,
    path: str,
    query: Mapping[str, str],
    base_url: str,
    repeat_last: bool,
) -> PageOut:
    """The page ``at`` of ``items``; with ``repeat_last`` it starts with the record before."""
    chunk = list(items[at.start : at.start + at.size])
    if repeat_last and at.start > 0 and chunk:
        chunk.insert(0, items[at.start - 1])
    more = at.start + at.size < len(items)
    out = PageOut(chunk)
    kept = {k: v for k, v in query.items() if k not in CREDENTIAL_PARAMS}
    if style == "page_number":
        out.extra = {"page": at.number, "per_page": at.size, "total": len(items)}
    elif style == "offset_limit":
        out.extra = {"offset": at.start, "limit": at.size, "total": len(items)}
    elif style == "cursor":
        out.extra = {"next_cursor": _encode_cursor(at.start + at.size) if more else None}
    elif style == "link_header" and more:
        target = {**kept, "page": str(at.number + 1), "per_page": str(at.size)}
        out.headers["Link"] = f'<{base_url}{path}?{urlencode(target)}>; rel="next"'
    elif style == "next_url":
        target = {**kept, "page": str(at.number + 1), "per_page": str(at.size)}
        out.extra = {"next": f"{path}?{urlencode(target)}" if more else None}
    return out


def _encode_cursor(start: int) -> str:
    return base64.urlsafe_b64encode(f"after:{start}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, start = text.partition(":")
        if kind != "after":
            raise ValueError(kind)
        return max(0, int(start))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise PagingError("cursor is not one this API issued") from None


def _number(query: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        raise PagingError(f"{name} must be a whole number") from None
    if value < minimum:
        raise PagingError(f"{name} must be {minimum} or more")
    return value


def _size(query: Mapping[str, str], name: str, default: int) -> int:
    return min(_number(query, name, default, 1), MAX_PAGE_SIZE)
