"""The mock CRM's credentials: one auth mode per server, and OAuth 2 tokens it can expire."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

AuthMode = Literal["bearer", "api_key_header", "api_key_query", "basic", "oauth2", "none"]
AUTH_MODES: tuple[AuthMode, ...] = get_args(AuthMode)
API_KEY_HEADER = "X-API-Key"
API_KEY_PARAM = "api_key"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a password


@dataclass(frozen=True)
class MockCredentials:
    """The credentials the mock accepts (demo values, not secrets of any real system)."""

    # The mock's published demo values, printed by `isthmus mock-crm`.
    token: str = "mock-token"  # noqa: S105
    api_key: str = "mock-api-key"
    username: str = "mock-user"
    password: str = "mock-password"  # noqa: S105
    client_id: str = "mock-client"
    client_secret: str = "mock-client-secret"  # noqa: S105

    def describe(self, mode: AuthMode) -> str:
        """What a client must send, in one line, for the command line to print."""
        return {
            "bearer": f"Authorization: Bearer {self.token}",
            "api_key_header": f"{API_KEY_HEADER}: {self.api_key}",
            "api_key_query": f"?{API_KEY_PARAM}={self.api_key}",
            "basic": f"basic auth {self.username} / {self.password}",
            "oauth2": f"POST {TOKEN_PATH} with grant_type=client_credentials, "
            f"client_id={self.client_id}, client_secret={self.client_secret}",
            "none": "no credentials",
        }[mode]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Tokens:
    """OAuth 2 access tokens issued, each valid for ``ttl_s`` seconds or until expired."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.issued = 0
        self._valid: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        with self._lock:
            self.issued += 1
            token = f"mock-access-{self.issued}"
            self._valid[token] = time.monotonic() + self.ttl_s
            return token

    def valid(self, token: str) -> bool:
        with self._lock:
            until = self._valid.get(token)
            return until is not None and time.monotonic() < until

    def expire_all(self) -> None:
        with self._lock:
            self._valid.clear()


def authorized(
    mode: AuthMode,
    credentials: MockCredentials,
    tokens: Tokens,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> bool:
    """Whether a request carries the credentials ``mode`` asks for."""
    authorization = headers.get("authorization", "")
    if mode == "none":
        return True
    if mode == "bearer":
        return _same(_bearer(authorization), credentials.token)
    if mode == "api_key_header":
        return _same(headers.get(API_KEY_HEADER.lower()), credentials.api_key)
    if mode == "api_key_query":
        return _same(query.get(API_KEY_PARAM), credentials.api_key)
    if mode == "basic":
        pair = basic_pair(authorization)
        return pair is not None and (
            _same(pair[0], credentials.username) & _same(pair[1], credentials.password)
        )
    token = _bearer(authorization)
    return token is not None and tokens.valid(token)


def client_authorized(
    credentials: MockCredentials, headers: Mapping[str, str], form: Mapping[str, str]
) -> bool:
    """Whether a token request names the client, in its form or with basic auth."""
    pair = basic_pair(headers.get("authorization", ""))
    client_id, secret = pair if pair else (form.get("client_id"), form.get("client_secret"))
    return _same(client_id, credentials.client_id) & _same(secret, credentials.client_secret)


def _bearer(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def basic_pair(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None
