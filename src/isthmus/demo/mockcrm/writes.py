"""The mock CRM's write endpoints: create, replace, merge and batch-create contacts, with
idempotency keys.

A write that carries an ``Idempotency-Key`` is stored with its response: the same key and the
same request again gets the stored response back (``Idempotent-Replayed: true``) and changes
nothing; the same key with a different request is refused with 422. A contact needs an
``Email`` with an ``@`` in it, or it is refused with 422 naming the field.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

Record = dict[str, Any]
Reply = tuple[int, Any]  # status and JSON body


@dataclass(frozen=True)
class ReceivedWrite:
    """One write request as the mock saw it (never its body or credentials)."""

    method: str
    path: str
    idempotency_key: str | None
    status: int
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    status: int
    body: Any


def email_problem(record: Any) -> dict[str, str] | None:
    """Why ``record`` cannot be a contact, as a 422 body; None when it can."""
    if not isinstance(record, dict):
        return {"error": "a contact is a JSON object", "field": ""}
    email = record.get("Email")
    if not isinstance(email, str) or not email.strip() or "@" not in email:
        return {"error": "Email is required and must be an email address", "field": "Email"}
    return None


class WriteStore:
    """Contacts written through the API, and the responses stored under idempotency keys."""

    def __init__(self, seed_contacts: Sequence[Record]) -> None:
        self._seed = {
            r["Id"]: r
            for r in seed_contacts
            if isinstance(r, dict) and isinstance(r.get("Id"), str)
        }
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.written: dict[str, Record] = {}
            self.created: list[Record] = []
            self.received: list[ReceivedWrite] = []
            self._keys: dict[str, _Stored] = {}
            self._serial = 0

    def note(self, write: ReceivedWrite) -> None:
        with self._lock:
            self.received.append(write)

    def handle(self, method: str, path: str, key: str | None, body: bytes) -> tuple[Reply, bool]:
        """The reply to one write, and whether it was replayed from an idempotency key."""
        with self._lock:
            if key is None:
                return self._dispatch(method, path, body), False
            fingerprint = _fingerprint(method, path, body)
            stored = self._keys.get(key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    error = "Idempotency-Key was used before with a different request"
                    return (422, {"error": error, "field": "Idempotency-Key"}), False
                return (stored.status, copy.deepcopy(stored.body)), True
            status, reply = self._dispatch(method, path, body)
            self._keys[key] = _Stored(fingerprint, status, copy.deepcopy(reply))
            return (status, reply), False

    def _dispatch(self, method: str, path: str, body: bytes) -> Reply:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["contacts"]:
            return self._create(data)
        if method == "POST" and parts == ["contacts", "batch"]:
            return self._batch(data)
        if method in ("PUT", "PATCH") and len(parts) == 2 and parts[0] == "contacts":
            return self._update(parts[1], data, merge=method == "PATCH")
        return 404, {"error": f"no endpoint {method} {path}"}

    def _create(self, data: Any) -> Reply:
        problem = email_problem(data)
        if problem is not None:
            return 422, problem
        self._serial += 1
        record = {**data, "id": f"003MOCK{self._serial:08d}"}
        self.written[record["id"]] = record
        self.created.append(copy.deepcopy(record))
        return 201, copy.deepcopy(record)

    def _update(self, contact_id: str, data: Any, *, merge: bool) -> Reply:
        existing = self.written.get(contact_id) or self._seed.get(contact_id)
        if existing is None:
            return 404, {"error": f"no contact with id {contact_id}"}
        if not isinstance(data, dict):
            return 422, {"error": "a contact is a JSON object", "field": ""}
        record = {**copy.deepcopy(existing), **data} if merge else dict(data)
        record["id"] = contact_id
        problem = email_problem(record)
        if problem is not None:
            return 422, problem
        self.written[contact_id] = record
        return 200, copy.deepcopy(record)

    def _batch(self, data: Any) -> Reply:
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            return 400, {"error": 'the body is {"records": [...]}'}
        results = []
        for index, record in enumerate(records):
            status, reply = self._create(record)
            if status == 201:
                results.append({"index": index, "status": 201, "id": reply["id"]})
            else:
                results.append({"index": index, "status": status, **reply})
        return 207, {"results": results}


def _fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()
