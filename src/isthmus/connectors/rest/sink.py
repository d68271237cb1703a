"""The REST write-back: each record is one request (or one entry of a batch request) carrying
an ``Idempotency-Key`` header, so a request sent again by a retried run is recognised by the
far side instead of creating the record twice.

The answers are sorted in three: a success delivers the record; a 4xx about the record
itself (400, 409, 422, and 404 when the path names the record) refuses it, to be
quarantined by the engine with the status and an excerpt; anything else (bad credentials,
the API still down after its retries, a batch answer that cannot be read) raises, and the
run fails with the records sent so far recorded.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

import httpx

from isthmus.config.writeback import BatchedRequests, WriteBackTarget
from isthmus.connectors.rest.auth import authenticator
from isthmus.connectors.rest.client import Clock, RestClient
from isthmus.connectors.rest.errors import RestResponseError
from isthmus.connectors.rest.options import (
    OAuth2ClientCredentials,
    RestConnection,
    RestHttpOptions,
)
from isthmus.connectors.writeback import Delivery, Outgoing, SinkContext

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # the far side answered from its idempotency store
REMOTE_ID_FIELDS = ("id", "Id", "ID")


class RestSink:
    """Sends one write-back target's records. ``transport`` and ``rng`` are seams for tests."""

    def __init__(
        self,
        context: SinkContext,
        *,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        assert isinstance(context.options, RestHttpOptions)
        assert isinstance(context.connection, RestConnection)
        assert isinstance(context.target, WriteBackTarget)
        self.target = context.target
        self.base_url = context.connection.base_url.rstrip("/")
        self.client = RestClient(
            context.options, Clock(context.sleep, context.monotonic), rng=rng, transport=transport
        )
        auth = context.options.auth
        token_url = self.url(auth.token_url) if isinstance(auth, OAuth2ClientCredentials) else None
        self.client.authenticate_with(
            authenticator(
                auth,
                context.secrets,
                token_url=token_url,
                fetch=self.client.fetch_token,
                monotonic=context.monotonic,
            )
        )

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def deliver(self, records: Sequence[Outgoing]) -> list[Delivery]:
        batch = self.target.batch
        if batch is None:
            return [self._send_one(record) for record in records]
        deliveries: list[Delivery] = []
        for start in range(0, len(records), batch.size):
            deliveries += self._send_batch(batch, records[start : start + batch.size])
        return deliveries

    def notes(self) -> list[str]:
        summary = self.client.summary()
        return [f"the API: {summary}"] if summary else []

    def close(self) -> None:
        self.client.close()

    # --- one record per request -----------------------------------------------------------

    def _send_one(self, record: Outgoing) -> Delivery:
        # A 404 on a path naming the record (PUT /contacts/{Id}) is about that record; on a
        # fixed path it means the endpoint is wrong, which no record can fix.
        names_record = bool(self.target.placeholders)
        response = self.client.send_json(
            self.target.method,
            self.url(record.path),
            record.body,
            headers={IDEMPOTENCY_HEADER: record.idempotency_key},
            what=f"write-back {self.target.method} {record.path}",
            refusable=lambda status: status != 404 or names_record,
            not_found_hint="check the write-back target's path",
        )
        if response.is_success:
            return Delivery(
                record.index,
                delivered=True,
                status=response.status_code,
                remote_id=_remote_id(_json_or_none(response)),
                replayed=_replayed(response),
            )
        return Delivery(
            record.index,
            delivered=False,
            status=response.status_code,
            detail=self.client.excerpt(response),
        )

    # --- several records per request ------------------------------------------------------

    def _send_batch(self, batch: BatchedRequests, records: Sequence[Outgoing]) -> list[Delivery]:
        # The batch's key is made of its records' keys: the same records with the same
        # content, in the same order, are the same request.
        key = hashlib.sha256("\n".join(r.idempotency_key for r in records).encode()).hexdigest()
        what = f"write-back POST {batch.path} ({len(records)} records)"
        response = self.client.send_json(
            "POST",
            self.url(batch.path),
            {batch.records_key: [r.body for r in records]},
            headers={IDEMPOTENCY_HEADER: key[:40]},
            what=what,
            refusable=lambda status: status != 404,
            not_found_hint="check the write-back target's batch.path",
        )
        if not response.is_success:  # the whole request refused: so is each of its records
            detail = self.client.excerpt(response)
            return [
                Delivery(r.index, delivered=False, status=response.status_code, detail=detail)
                for r in records
            ]
        results = _results(_json_or_none(response), batch, len(records), what)
        replayed = _replayed(response)
        deliveries = []
        for position, record in enumerate(records):
            result = results[position]
            status = result.get("status")
            ok = isinstance(status, int) and 200 <= status < 300
            deliveries.append(
                Delivery(
                    record.index,
                    delivered=ok,
                    status=status if isinstance(status, int) else None,
                    remote_id=_remote_id(result) if ok else None,
                    detail=None if ok else self.client.masker.text(_detail(result)),
                    replayed=replayed,
                )
            )
        return deliveries


def _results(body: Any, batch: BatchedRequests, sent: int, what: str) -> dict[int, dict[str, Any]]:
    """One result per record sent, by its position in the request."""
    found = body.get(batch.results_key) if isinstance(body, dict) else None
    problem = None
    by_index: dict[int, dict[str, Any]] = {}
    if not isinstance(found, list):
        problem = f"has no list under {batch.results_key!r}"
    else:
        for result in found:
            index = result.get("index") if isinstance(result, dict) else None
            if isinstance(index, int) and 0 <= index < sent:
                by_index[index] = result
        if len(by_index) != sent:
            problem = f"has results for {len(by_index)} of the {sent} records sent"
    if problem is not None:
        raise RestResponseError(
            f"{what}: the answer {problem}",
            hint="check writeback batch.results_key against the API's docs; the records of "
            "this request may have been written: the next run sends them again under the "
            "same idempotency key",
        )
    return by_index


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _remote_id(body: Any) -> str | None:
    if isinstance(body, dict):
        for name in REMOTE_ID_FIELDS:
            value = body.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
    return None


def _replayed(response: httpx.Response) -> bool:
    return str(response.headers.get(REPLAYED_HEADER, "")).lower() == "true"


def _detail(result: dict[str, Any]) -> str:
    shown = {k: v for k, v in result.items() if k not in ("index", "status")}
    text = json.dumps(shown, ensure_ascii=False, default=str)
    return text[:200] + ("…" if len(text) > 200 else "")
