"""Credentials on requests: API keys, bearer tokens, basic auth and OAuth 2 client credentials.

Secret values are revealed here, when a request needs them, and nowhere else. Each
authenticator knows the names of the secrets it uses (for hints such as "check the
credentials of secret crm_token") and their values (so messages can mask them).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from isthmus.connectors.rest.errors import RestAuthError, RestResponseError, RestSecretError
from isthmus.connectors.rest.options import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    secret_name,
)

# A token is renewed this long before the end of its announced lifetime, so a request never
# leaves with a token that expires on the way.
TOKEN_MARGIN_S = 30.0
DEFAULT_TOKEN_LIFETIME_S = 3600.0


class Authenticator(Protocol):
    secret_names: tuple[str, ...]
    secret_values: tuple[str, ...]
    query_names: frozenset[str]  # query parameters that carry a credential

    def apply(self, request: httpx.Request) -> None:
        """Put the credentials on ``request``."""

    def refresh(self) -> bool:
        """Forget a cached credential after a 401; True when a fresh one may help."""


TokenFetch = Callable[[str, dict[str, str]], httpx.Response]
"""Posts a form to a token URL (with the client's retries) and returns the response."""


def reveal(reference: str, secrets: Mapping[str, Any]) -> str:
    name = secret_name(reference)
    if name not in secrets:
        raise RestSecretError(
            f"the REST source needs secret {name!r}, which the run was not given",
            hint=f"bind it under the integration's connection.secrets: {name}: env:VARIABLE",
        )
    secret = secrets[name]
    return str(secret.reveal() if hasattr(secret, "reveal") else secret)


@dataclass
class _Static:
    """Credentials that never change: none, an API key, a bearer token, basic auth."""

    secret_names: tuple[str, ...]
    secret_values: tuple[str, ...]
    query_names: frozenset[str]
    headers: dict[str, str]
    query: dict[str, str]

    def apply(self, request: httpx.Request) -> None:
        request.headers.update(self.headers)
        if self.query:
            request.url = request.url.copy_merge_params(self.query)

    def refresh(self) -> bool:
        return False


class _OAuth2:
    """Client credentials: one token, reused until shortly before it expires."""

    def __init__(
        self,
        config: OAuth2ClientCredentials,
        token_url: str,
        secrets: Mapping[str, Any],
        fetch: TokenFetch,
        monotonic: Callable[[], float],
    ) -> None:
        self.secret_names: tuple[str, ...] = (
            secret_name(config.client_id),
            secret_name(config.client_secret),
        )
        self.client_id = reveal(config.client_id, secrets)
        self.client_secret = reveal(config.client_secret, secrets)
        self.secret_values: tuple[str, ...] = (self.client_id, self.client_secret)
        self.query_names: frozenset[str] = frozenset()
        self.scope = config.scope
        self.token_url = token_url
        self.fetch = fetch
        self.monotonic = monotonic
        self.token: str | None = None
        self.expires_at = 0.0
        self.fetched = 0  # tokens fetched, for tests and logs

    def apply(self, request: httpx.Request) -> None:
        if self.token is None or self.monotonic() >= self.expires_at:
            self._fetch()
        assert self.token is not None
        request.headers["Authorization"] = f"Bearer {self.token}"

    def refresh(self) -> bool:
        self.token = None
        return True

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        started = self.monotonic()
        response = self.fetch(self.token_url, form)
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME_S)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RestResponseError(
                f"the token endpoint {self.token_url} answered without an access_token",
                hint="check oauth2 token_url: it must return JSON with access_token",
            ) from None
        if not isinstance(token, str) or not token:
            raise RestAuthError(
                f"the token endpoint {self.token_url} returned an empty access_token",
                hint=f"check the credentials of secrets {' and '.join(self.secret_names)}",
            )
        self.token = token
        self.secret_values = (self.client_id, self.client_secret, token)
        self.expires_at = started + max(lifetime - TOKEN_MARGIN_S, lifetime / 2)
        self.fetched += 1


def authenticator(
    config: Auth,
    secrets: Mapping[str, Any],
    *,
    token_url: str | None,
    fetch: TokenFetch,
    monotonic: Callable[[], float],
) -> Authenticator:
    """The authenticator of ``config``, with its secrets revealed from ``secrets``."""
    if isinstance(config, NoAuth):
        return _Static((), (), frozenset(), {}, {})
    if isinstance(config, ApiKeyAuth):
        key = reveal(config.value, secrets)
        names: tuple[str, ...] = (secret_name(config.value),)
        if config.location == "query":
            return _Static(names, (key,), frozenset({config.name}), {}, {config.name: key})
        return _Static(names, (key,), frozenset(), {config.name: key}, {})
    if isinstance(config, BearerAuth):
        token = reveal(config.token, secrets)
        headers = {"Authorization": f"Bearer {token}"}
        return _Static((secret_name(config.token),), (token,), frozenset(), headers, {})
    if isinstance(config, BasicAuth):
        user, password = reveal(config.username, secrets), reveal(config.password, secrets)
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        names = (secret_name(config.username), secret_name(config.password))
        return _Static(
            names, (user, password, encoded), frozenset(), {"Authorization": f"Basic {encoded}"}, {}
        )
    assert token_url is not None
    return _OAuth2(config, token_url, secrets, fetch, monotonic)


def credentials_hint(auth: Authenticator) -> str:
    names = auth.secret_names
    if not names:
        return "the API asks for credentials; set source.options.auth"
    listed = " and ".join(names)
    return f"check the credentials of secret{'s' if len(names) > 1 else ''} {listed}"
