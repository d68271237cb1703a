"""``POST /hooks/{tenant}/{integration}/{stream}``: receive one signed webhook delivery.

The checks, cheapest first: the address names a tenant's integration whose source is the
webhook connector and a stream of its template (else 404); the body is within
``max_body_bytes`` (413, by Content-Length before reading, and while reading); the Standard
Webhooks headers are present, the timestamp within ``tolerance_s`` of the clock and one
signature matches (else 401); the body is one JSON object (else 400). Then the event is
stored in the state store: 202 with its sequence id, or 200 when the same event id was
stored before (nothing is stored twice).

Every refusal is logged with the address, the reason and the remote address; never the body,
the signature or the secret.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from isthmus.connectors.webhook_signing import (
    event_id_problem,
    signature_problem,
    timestamp_problem,
)
from isthmus.errors import IsthmusError, StoreError
from isthmus.logs import get_logger
from isthmus.store import EventReceipt, StateStore
from isthmus.web.targets import (
    NOT_READY,
    DeliveryRefusedError,
    HookTarget,
    ProjectFiles,
    find_target,
)

log = get_logger("isthmus.web.hooks")
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
LOGGED_NAME_CHARS = 80  # of the address's parts, which anyone can send


@dataclass
class Hooks:
    """What the endpoint works with; one per app."""

    files: ProjectFiles
    store: StateStore
    now: Callable[[], dt.datetime]
    environ: Mapping[str, str]


@dataclass(frozen=True)
class Delivery:
    tenant: str
    integration: str
    stream: str
    remote: str

    def log_fields(self) -> dict[str, str]:
        return {
            "tenant": self.tenant[:LOGGED_NAME_CHARS],
            "integration": self.integration[:LOGGED_NAME_CHARS],
            "stream": self.stream[:LOGGED_NAME_CHARS],
            "remote": self.remote,
        }


router = APIRouter()


@router.post("/hooks/{tenant}/{integration}/{stream}", status_code=202)
async def receive(tenant: str, integration: str, stream: str, request: Request) -> JSONResponse:
    """Store one signed delivery for a run of the integration to read."""
    hooks: Hooks = request.app.state.hooks
    remote = request.client.host if request.client else "unknown"
    delivery = Delivery(tenant, integration, stream, remote)
    try:
        target = await run_in_threadpool(_target, hooks, delivery)
        event_id, body = await _authenticated(request, target, hooks.now())
        text = _json_object(body)
        receipt = await run_in_threadpool(_store, hooks, target, event_id, text)
    except DeliveryRefusedError as refused:
        level = log.error if refused.status >= 500 else log.warning
        level(
            "webhook delivery refused",
            status=refused.status,
            reason=refused.reason,
            **delivery.log_fields(),
        )
        return JSONResponse({"detail": refused.detail}, status_code=refused.status)
    fields = {**delivery.log_fields(), "event_id": event_id, "seq": receipt.seq}
    if receipt.duplicate:
        log.info("webhook delivery was a duplicate", **fields)
        return JSONResponse({"status": "duplicate", "event": receipt.seq}, status_code=200)
    log.info("webhook delivery stored", bytes=len(body), **fields)
    return JSONResponse({"status": "accepted", "event": receipt.seq}, status_code=202)


def _target(hooks: Hooks, delivery: Delivery) -> HookTarget:
    try:
        project = hooks.files.current()
    except IsthmusError as exc:  # the project file was removed or broken since the start
        raise DeliveryRefusedError(503, NOT_READY, exc.message) from None
    return find_target(
        project, delivery.tenant, delivery.integration, delivery.stream, hooks.environ
    )


async def _authenticated(
    request: Request, target: HookTarget, now: dt.datetime
) -> tuple[str, bytes]:
    """The delivery's event id and body, once its size, headers and signature pass."""
    limit = target.options.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DeliveryRefusedError(
            413, f"the body is larger than {limit} bytes", "Content-Length over max_body_bytes"
        )
    headers = _signature_headers(request.headers)
    event_id, timestamp, signatures = headers
    problem = event_id_problem(event_id)
    if problem is not None:
        raise DeliveryRefusedError(400, problem)
    problem = timestamp_problem(timestamp, now.timestamp(), target.options.tolerance_s)
    if problem is not None:
        raise DeliveryRefusedError(401, problem)
    body = await _body(request, limit)
    problem = signature_problem(target.key, event_id, timestamp, signatures, body)
    if problem is not None:
        raise DeliveryRefusedError(401, problem)
    return event_id, body


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    missing = [name for name in SIGNATURE_HEADERS if not headers.get(name)]
    if missing:
        raise DeliveryRefusedError(
            401, f"missing header{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )
    event_id, timestamp, signatures = (headers[name] for name in SIGNATURE_HEADERS)
    return event_id, timestamp, signatures


async def _body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and refused as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DeliveryRefusedError(
                413, f"the body is larger than {limit} bytes", "body over max_body_bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes) -> str:
    """The body as text, if it is one JSON object in UTF-8."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise DeliveryRefusedError(400, "the body is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise DeliveryRefusedError(400, "the body is not valid JSON") from None
    if not isinstance(value, dict):
        found = "an array" if isinstance(value, list) else f"a JSON {type(value).__name__}"
        raise DeliveryRefusedError(
            400, f"the body must be one JSON object (one record), not {found}"
        )
    return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _store(hooks: Hooks, target: HookTarget, event_id: str, text: str) -> EventReceipt:
    try:
        return hooks.store.add_event(
            tenant=target.tenant,
            integration=target.integration,
            stream=target.stream,
            event_id=event_id,
            body=text,
            received_at=hooks.now(),
        )
    except StoreError as exc:
        raise DeliveryRefusedError(503, NOT_READY, exc.message) from None
