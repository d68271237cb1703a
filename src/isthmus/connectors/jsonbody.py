"""JSON bodies that carry decimals and json values exactly.

A record's body is a dict of plain values. Two kinds of value travel as marked text: a
decimal as :class:`DecimalText` (its exact digits; a float would round
12345678901234567890.123456789) and a json value as :class:`JsonText` (its JSON text). Both
are ``str``, so anything that treats a body as plain JSON (an idempotency key, a quarantined
record) sees text; :func:`dumps` writes a decimal as a JSON number and embeds a json value
as the value itself, not as a quoted string.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

# Marks a body column (in an Arrow schema) whose text is JSON, for writers that embed it.
JSON_FIELD = {b"isthmus.kind": b"json"}


class DecimalText(str):
    """A decimal's exact digits, written as a JSON number."""

    __slots__ = ()


class JsonText(str):
    """A json value's JSON text, embedded as that value."""

    __slots__ = ()


def dumps(body: Any) -> str:
    """``body`` as compact JSON text, decimals as numbers and json values embedded.

    The standard encoder cannot write text unquoted: each marked value goes in as a
    placeholder string unique to this call, and the quoted placeholders are then swapped
    for their text.
    """
    token = uuid.uuid4().hex
    raw: list[str] = []

    def marked(value: Any) -> Any:
        if isinstance(value, DecimalText | JsonText):
            raw.append(str(value))
            return f"{token}:{len(raw) - 1}"
        if isinstance(value, dict):
            return {key: marked(inner) for key, inner in value.items()}
        if isinstance(value, list | tuple):
            return [marked(inner) for inner in value]
        return value

    text = json.dumps(marked(body), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not raw:
        return text
    return re.sub(f'"{token}:([0-9]+)"', lambda found: raw[int(found[1])], text)
