"""The mock CRM: a real HTTP server on 127.0.0.1 serving accounts and contacts.

    with MockCrm(contacts=200, auth="oauth2", pagination="cursor") as crm:
        crm.url                                  # http://127.0.0.1:<free port>
        crm.set_faults(error_next=2)             # the next two requests answer 503

Endpoints: ``GET /accounts``, ``GET /contacts`` (``updated_since`` keeps contacts modified at
or after an instant), ``POST /contacts``, ``PUT|PATCH /contacts/{id}``, ``POST
/contacts/batch``, ``POST /oauth/token``; for tests, ``GET /_admin/received``, ``GET|POST
/_admin/faults``, ``POST /_admin/expire_tokens`` and ``POST /_admin/reset`` (no auth, no
faults). The server logs nothing: no request, no body, no credential.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from isthmus.demo.mockcrm.auth import (
    TOKEN_PATH,
    AuthMode,
    MockCredentials,
    Tokens,
    authorized,
    client_authorized,
)
from isthmus.demo.mockcrm.data import CrmData, CrmReport, build_data, instant, updated_since
from isthmus.demo.mockcrm.faults import Faults, FaultState
from isthmus.demo.mockcrm.paging import PagingError, Style, page, window
from isthmus.demo.mockcrm.writes import ReceivedWrite, Record, WriteStore

JSON = "application/json"


@dataclass(frozen=True)
class SeenRequest:
    """One counted request: method, path, query (credentials masked) and the status sent."""

    method: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> _Answer:
    data = json.dumps(body, ensure_ascii=False).encode()
    return _Answer(status, data, {"Content-Type": JSON, **(headers or {})})


DEFAULT_BAD_FRACTION = 0.05  # of the generated contacts, spoiled as the generator reports
DEFAULT_DUP_FRACTION = 0.02  # of the good contacts, sent again later with a newer change


class MockCrm:
    """A mock CRM API in a daemon thread; ``port=0`` picks a free port."""

    def __init__(
        self,
        *,
        port: int = 0,
        seed: int = 7,
        accounts: int | Sequence[Any] = 20,
        contacts: int | Sequence[Any] = 200,
        bad_fraction: float = DEFAULT_BAD_FRACTION,
        dup_fraction: float = DEFAULT_DUP_FRACTION,
        auth: AuthMode = "bearer",
        pagination: Style = "cursor",
        page_size: int = 100,
        envelope: str = "data",
        credentials: MockCredentials | None = None,
        token_ttl_s: float = 3600.0,
        faults: Faults | None = None,
    ) -> None:
        self.data: CrmData = build_data(
            seed=seed,
            accounts=accounts,
            contacts=contacts,
            bad_fraction=bad_fraction,
            dup_fraction=dup_fraction,
        )
        self.auth = auth
        self.pagination = pagination
        self.page_size = page_size
        self.envelope = envelope
        self.credentials = credentials or MockCredentials()
        self.tokens = Tokens(token_ttl_s)
        self.fault_state = FaultState(faults or Faults())
        self.writes = WriteStore(self.data.contacts)
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.crm = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MockCrm:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # how soon stop() is noticed
                name="mock-crm",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> MockCrm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests look at and change ----------------------------------------------------

    @property
    def report(self) -> CrmReport:
        return self.data.report

    @property
    def accounts(self) -> tuple[Record, ...]:
        return self.data.accounts

    @property
    def contacts(self) -> tuple[Record, ...]:
        return self.data.contacts

    @property
    def faults(self) -> Faults:
        return self.fault_state.faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Put ``faults`` (or the current ones) with ``changes`` in force; counters restart."""
        new = (faults or self.faults).changed(changes) if changes else (faults or Faults())
        self.fault_state.set(new)
        return new

    def expire_tokens(self) -> None:
        """Every OAuth 2 token issued so far stops working (the API answers 401)."""
        self.tokens.expire_all()

    @property
    def tokens_issued(self) -> int:
        return self.tokens.issued

    @property
    def received(self) -> list[ReceivedWrite]:
        return list(self.writes.received)

    @property
    def created(self) -> list[Record]:
        return list(self.writes.created)

    @property
    def written(self) -> dict[str, Record]:
        return dict(self.writes.written)

    def reset(self) -> None:
        """Forget writes, idempotency keys, requests seen, tokens and faults."""
        self.writes.reset()
        self.tokens.expire_all()
        self.fault_state.set(Faults())
        with self._lock:
            self.requests.clear()

    def seen(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # --- answering --------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.startswith("/_admin/"):
            return self._admin(method, path, body)
        decision = self.fault_state.draw()
        if decision.delay_s:
            time.sleep(decision.delay_s)  # the fault is a real delay on the server side
        if decision.status is not None:
            answer = self._fault_answer(decision.status)
        else:
            answer = self._api(method, path, query, headers, body)
        shown = {k: ("***" if k == "api_key" else v) for k, v in query.items()}
        self.seen(SeenRequest(method, path, shown, answer.status))
        return answer

    def _fault_answer(self, status: int) -> _Answer:
        if status != 429:
            return _json(status, {"error": "the CRM is unavailable, try again"})
        faults = self.faults
        if faults.retry_after_format == "http_date":
            now = time.time()
            headers = {
                "Date": email.utils.formatdate(now, usegmt=True),
                "Retry-After": email.utils.formatdate(now + faults.retry_after_s, usegmt=True),
            }
        else:
            headers = {"Retry-After": str(faults.retry_after_s)}
        return _json(429, {"error": "too many requests"}, headers)

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Answer:
        if path == TOKEN_PATH:
            return self._token(method, headers, body)
        if not authorized(self.auth, self.credentials, self.tokens, headers, query):
            return _json(401, {"error": "missing or invalid credentials"})
        if method == "GET" and path in ("/accounts", "/contacts"):
            return self._list(path, query)
        if method in ("POST", "PUT", "PATCH") and path.startswith("/contacts"):
            return self._write(method, path, headers, body)
        return _json(404, {"error": f"no endpoint {method} {path}"})

    def _token(self, method: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        if method != "POST":
            return _json(405, {"error": "use POST"})
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        if self.auth != "oauth2" or not client_authorized(self.credentials, headers, form):
            return _json(401, {"error": "invalid_client"})
        token = self.tokens.issue()
        ttl = self.tokens.ttl_s
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": ttl})

    def _list(self, path: str, query: dict[str, str]) -> _Answer:
        resource = path.strip("/")
        items = list(self.data.resource(resource) or ())
        if resource == "contacts" and "updated_since" in query:
            since = instant(query["updated_since"])
            if since is None:
                return _json(400, {"error": "updated_since must be an ISO-8601 instant"})
            items = updated_since(items, since)
        try:
            at = window(self.pagination, query, self.page_size)
        except PagingError as exc:
            return _json(400, {"error": str(exc)})
        faults = self.faults
        if faults.malformed_page == at.number and faults.malformed_resource == resource:
            return _Answer(200, b'{"data": [{"Id": "broken", "Email": ', {"Content-Type": JSON})
        out = page(
            self.pagination,
            items,
            at,
            path=path,
            query=query,
            base_url=self.url,
            repeat_last=faults.repeat_last,
        )
        return _json(200, self._envelope(out.records, out.extra), out.headers)

    def _envelope(self, records: list[Record], extra: dict[str, Any]) -> Any:
        if not self.envelope:
            return records
        body: Any = records
        for step in reversed(self.envelope.split(".")):
            body = {step: body}
        return {**body, **extra}

    def _write(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        key = headers.get("idempotency-key")
        (status, reply), replayed = self.writes.handle(method, path, key, body)
        self.writes.note(ReceivedWrite(method, path, key, status, replayed))
        if self.fault_state.lose_write_reply():  # done, but the client never learns it
            return self._fault_answer(503)
        extra = {"Idempotent-Replayed": "true"} if replayed else {}
        return _json(status, reply, extra)

    def _admin(self, method: str, path: str, body: bytes) -> _Answer:
        if path == "/_admin/received" and method == "GET":
            return _json(200, {"received": [r.to_dict() for r in self.received]})
        if path == "/_admin/faults" and method == "GET":
            return _json(200, self.faults.to_dict())
        if path == "/_admin/faults" and method == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the body is a JSON object of faults")
                faults = self.set_faults(Faults(), **changes)
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
            return _json(200, faults.to_dict())
        if path == "/_admin/expire_tokens" and method == "POST":
            self.expire_tokens()
            return _json(200, {"expired": True})
        if path == "/_admin/reset" and method == "POST":
            self.reset()
            return _json(200, {"reset": True})
        return _json(404, {"error": f"no endpoint {method} {path}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    crm: MockCrm

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (after a timeout) is not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server
    server_version = "mock-crm"
    _date: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: requests may carry credentials."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.crm.answer(self.command, self.path, headers, body)
        self._date = answer.headers.get("Date")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if name.lower() != "date":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(answer.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # A 429's Retry-After date and its Date header are read from one instant.
        return self._date or super().date_time_string(timestamp)

    # BaseHTTPRequestHandler's names for its per-method hooks.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815
