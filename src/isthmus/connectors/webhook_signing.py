"""Signatures of webhook deliveries, as the Standard Webhooks specification defines them.

A sender signs ``{webhook-id}.{webhook-timestamp}.{body}`` (the body's exact bytes) with
HMAC-SHA256 and sends three headers::

    webhook-id: msg_2KWPBgLlAfxdpx2AI54pPJ85f4W
    webhook-timestamp: 1767268800
    webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=

The id names the event (a retried delivery keeps it), the timestamp is whole seconds since
the Unix epoch, and the signature header holds one or more space-separated ``v1,<base64>``
signatures (several while a key is being rotated; other versions are ignored). A delivery is
accepted when any v1 signature matches, compared in constant time.

The key: a secret written ``whsec_<base64>``, as Standard Webhooks senders show it, signs
with the decoded bytes; any other secret signs with its UTF-8 bytes as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SIGNATURE_VERSION = "v1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of a secret's format, not a secret
MAX_EVENT_ID = 255  # characters; the state store's column


def signing_key(secret: str) -> bytes:
    """The HMAC key of a signing secret; ValueError when a ``whsec_`` secret is not base64."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ signing secret must be base64 after its prefix") from None
    return secret.encode("utf-8")


def signature(key: bytes, event_id: str, timestamp: int, body: bytes) -> str:
    """The base64 HMAC-SHA256 of one delivery (without the ``v1,`` prefix)."""
    content = f"{event_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def sign(key: bytes, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a sender puts on a delivery."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SIGNATURE_VERSION},{signature(key, event_id, timestamp, body)}",
    }


def event_id_problem(event_id: str) -> str | None:
    """Why a ``webhook-id`` cannot name an event, or None: 1 to 255 printable ASCII
    characters, no spaces."""
    if not 1 <= len(event_id) <= MAX_EVENT_ID:
        return f"webhook-id must be 1 to {MAX_EVENT_ID} characters long"
    if not all("!" <= c <= "~" for c in event_id):
        return "webhook-id must be printable ASCII without spaces"
    return None


def timestamp_problem(header: str, now: float, tolerance_s: int) -> str | None:
    """Why a ``webhook-timestamp`` is refused, or None: not whole seconds, or further than
    ``tolerance_s`` from ``now`` (an old one is a replay, a future one is forged or skewed)."""
    if not header.isascii() or not header.isdigit() or len(header) > 12:
        return "webhook-timestamp is not whole seconds since the epoch"
    age = now - int(header)
    if age > tolerance_s:
        return f"webhook-timestamp is {age:.0f} s old, beyond the {tolerance_s} s tolerance"
    if -age > tolerance_s:
        return (
            f"webhook-timestamp is {-age:.0f} s in the future, beyond the {tolerance_s} s tolerance"
        )
    return None


def signature_problem(
    key: bytes, event_id: str, timestamp: str, header: str, body: bytes
) -> str | None:
    """Why the signatures in a ``webhook-signature`` header do not authenticate the delivery,
    or None when one of them does."""
    expected = signature(key, event_id, int(timestamp), body).encode("ascii")
    offered = [
        value.encode("ascii", "replace")
        for version, _, value in (part.partition(",") for part in header.split())
        if version == SIGNATURE_VERSION
    ]
    if not offered:
        return f"webhook-signature holds no {SIGNATURE_VERSION} signature"
    # Compare with every offered signature, so the time taken says nothing about which.
    matches = [hmac.compare_digest(expected, value) for value in offered]
    return None if any(matches) else "no signature matches"
