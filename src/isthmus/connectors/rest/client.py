"""HTTP for the REST connectors: credentials, pacing, retries, and errors that say what to fix.

Every wait goes through the run's injected ``sleep`` and ``monotonic``, so tests never wait.
A request is tried up to ``retries`` times when the API answers 408, 429 or 5xx, times out or
drops the connection; a 429's Retry-After (seconds or an HTTP date) sets the wait, otherwise
it is exponential backoff with full jitter. A 401 makes an OAuth 2 source fetch a new token
once; any other 401 or 403 fails at once, naming the secrets to check. Secret values never
reach a message, a log line or an origin: URLs are shown with credentials masked as ``***``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from isthmus.connectors.jsonbody import dumps
from isthmus.connectors.rest.auth import Authenticator, credentials_hint
from isthmus.connectors.rest.errors import (
    RestAuthError,
    RestRequestError,
    RestUnavailableError,
)
from isthmus.connectors.rest.options import RestHttpOptions
from isthmus.logs import get_logger

MASK = "***"
EXCERPT_CHARS = 200
BACKOFF_BASE_S = 0.5
RETRIED_STATUSES = frozenset({408, 429})

log = get_logger("isthmus.connectors.rest")


class Masker:
    """Hides secret values, and the values of credential query parameters, in text and URLs."""

    def __init__(self, values: Iterable[str] = (), query_names: Iterable[str] = ()) -> None:
        self.values = tuple(sorted({v for v in values if v}, key=len, reverse=True))
        self.query_names = frozenset(query_names)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text

    def url(self, url: str | httpx.URL) -> str:
        parts = urlsplit(str(url))
        query = [
            (name, MASK if name in self.query_names or value in self.values else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        masked = urlunsplit(parts._replace(query=urlencode(query, safe="*:,")))
        return self.text(masked)


class _MaskHttpxUrls(logging.Filter):
    """httpx logs each request's URL at INFO; credential query values are masked there too."""

    def __init__(self) -> None:
        super().__init__()
        self.query_names: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and self.query_names:
            masker = Masker((), self.query_names)
            record.args = tuple(
                masker.url(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_HTTPX_FILTER = _MaskHttpxUrls()
logging.getLogger("httpx").addFilter(_HTTPX_FILTER)


@dataclass(frozen=True)
class Clock:
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]


class RestClient:
    """One API's HTTP client: authenticates, paces and retries every request."""

    def __init__(
        self,
        options: RestHttpOptions,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.http = httpx.Client(
            timeout=options.timeout_s, follow_redirects=False, transport=transport
        )
        self.auth: Authenticator | None = None
        self.masker = Masker()
        self._pace_lock = threading.Lock()
        self._last_sent: float | None = None
        self.requests = 0
        self.retried: Counter[str] = Counter()  # why requests were tried again, for the run

    def authenticate_with(self, auth: Authenticator) -> None:
        self.auth = auth
        self.masker = Masker(auth.secret_values, auth.query_names)
        _HTTPX_FILTER.query_names.update(auth.query_names)

    def get(self, url: str, params: dict[str, str], what: str) -> httpx.Response:
        """GET with credentials; ``what`` names the request in errors (no secrets in it)."""
        return self._send("GET", url, params=params, what=what)

    def send_json(
        self,
        method: str,
        url: str,
        body: Any,
        *,
        headers: dict[str, str],
        what: str,
        refusable: Callable[[int], bool],
        not_found_hint: str,
    ) -> httpx.Response:
        """Send ``body`` as JSON with credentials and ``headers``. A success is returned, and
        so is an answer whose status ``refusable`` accepts (the far side refusing this one
        request, for the caller to record); 401/403, 429 and 5xx are handled as for a GET."""
        # Encoded here, not by httpx: a decimal goes out as an exact number and a json value
        # embedded (see jsonbody), with the same compact form httpx would write.
        return self._send(
            method,
            url,
            params={},
            content=dumps(body).encode("utf-8"),
            headers=_with_json_type(headers),
            what=what,
            refusable=refusable,
            not_found_hint=not_found_hint,
        )

    def fetch_token(self, url: str, form: dict[str, str]) -> httpx.Response:
        """POST a token request's form (no API credentials on it)."""
        return self._send("POST", url, params={}, data=form, what="token request", token=True)

    def close(self) -> None:
        self.http.close()

    def summary(self) -> str | None:
        """What the run should know about this API's answers: how many requests were tried
        again and why, e.g. ``5 of 120 requests retried (429: 3, 503: 2)``. None when no
        request needed a second try."""
        if not self.retried:
            return None
        total = sum(self.retried.values())
        causes = ", ".join(f"{cause}: {n}" for cause, n in sorted(self.retried.items()))
        return f"{total} of {self.requests} requests retried ({causes})"

    # --- the retry loop -------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str],
        what: str,
        data: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: bool = False,
        refusable: Callable[[int], bool] | None = None,
        not_found_hint: str = "check the stream's path",
    ) -> httpx.Response:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            request = self.http.build_request(
                method, url, params=params or None, data=data, content=content, headers=headers
            )
            if not token and self.auth is not None:
                self.auth.apply(request)
                self.masker = Masker(self.auth.secret_values, self.auth.query_names)
            shown = f"{what}: {method} {self.masker.url(request.url)}"
            failure = self._try(request, shown)
            if isinstance(failure, httpx.Response):
                response = failure
                if response.status_code == 401 and not token and not refreshed:
                    refreshed = self.auth is not None and self.auth.refresh()
                    if refreshed:
                        attempt -= 1  # a new token, not a new try
                        continue
                if refusable is not None and _refused(response.status_code, refusable):
                    return response
                self._raise_if_terminal(response, shown, token, not_found_hint)
                if response.is_success:
                    return response
                retry_after = retry_after_seconds(response)
                reason = f"answered {response.status_code} {response.reason_phrase}".rstrip()
                cause = str(response.status_code)
            else:
                retry_after, reason = None, failure
                cause = "timeout" if failure.startswith("timed out") else "connection error"
            self._wait_or_give_up(attempt, retry_after, shown, reason)
            self.retried[cause] += 1

    def _try(self, request: httpx.Request, shown: str) -> httpx.Response | str:
        """The response, or why there is none (a timeout or a connection error)."""
        self._pace()
        self.requests += 1
        try:
            response = self.http.send(request)
            response.read()
        except httpx.UnsupportedProtocol:
            raise RestRequestError(
                f"{shown} cannot be sent: the URL's scheme is not http or https",
                hint="check the connection's base_url",
            ) from None
        except httpx.TimeoutException:
            return f"timed out after {self.options.timeout_s:g} s"
        except httpx.TransportError as exc:
            return f"failed: {self.masker.text(type(exc).__name__)}"
        return response

    def _wait_or_give_up(
        self, attempt: int, retry_after: float | None, shown: str, reason: str
    ) -> None:
        cap = self.options.max_retry_wait_s
        if attempt >= self.options.retries or (retry_after is not None and retry_after > cap):
            tries = f"{attempt} tr{'y' if attempt == 1 else 'ies'}"
            raise RestUnavailableError(
                f"{shown} {reason}, still after {tries}",
                hint="the API is unavailable or limits requests; the run can be retried later"
                + ("" if retry_after is None else f" (it asked to wait {retry_after:g} s)"),
                retry_after=retry_after,
            )
        ceiling = min(cap, BACKOFF_BASE_S * 2 ** (attempt - 1))
        wait = retry_after if retry_after is not None else self.rng.uniform(0, ceiling)
        log.info("rest_request_retried", request=shown, reason=reason, attempt=attempt, wait=wait)
        self.clock.sleep(wait)

    def _raise_if_terminal(
        self, response: httpx.Response, shown: str, token: bool, not_found_hint: str
    ) -> None:
        status = response.status_code
        if response.is_success or status in RETRIED_STATUSES or status >= 500:
            return
        answered = f"{shown} answered {status} {response.reason_phrase}".rstrip()
        auth_hint = credentials_hint(self.auth) if self.auth is not None else None
        if status in (401, 403) or (token and status == 400):
            raise RestAuthError(answered + self._excerpt(response), hint=auth_hint)
        if status == 404:
            hint = "check oauth2 token_url" if token else not_found_hint
            raise RestRequestError(answered, hint=hint)
        if 300 <= status < 400:
            location = self.masker.url(response.headers.get("location", "?"))
            raise RestRequestError(
                f"{answered}: redirected to {location}",
                hint="set the connection's base_url to the address the API redirects to",
            )
        raise RestRequestError(
            answered + self._excerpt(response),
            hint="check the stream's params and the source options against the API's docs",
        )

    def _excerpt(self, response: httpx.Response) -> str:
        excerpt = self.excerpt(response)
        return f": {excerpt}" if excerpt else ""

    def excerpt(self, response: httpx.Response) -> str:
        """The start of a response's body on one line, secrets masked."""
        text = " ".join(response.text.split())
        cut = text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")
        return self.masker.text(cut)

    def _pace(self) -> None:
        if self.options.rate_limit is None:
            return
        interval = 1.0 / self.options.rate_limit
        with self._pace_lock:
            now = self.clock.monotonic()
            if self._last_sent is not None and now - self._last_sent < interval:
                self.clock.sleep(interval - (now - self._last_sent))
                now = self.clock.monotonic()
            self._last_sent = now


def _refused(status: int, refusable: Callable[[int], bool]) -> bool:
    """A 4xx about the request itself; never bad credentials or a request to slow down."""
    return (
        400 <= status < 500
        and status not in (401, 403, 407, *RETRIED_STATUSES)
        and (refusable(status))
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a Retry-After header asks for: seconds, or an HTTP date measured against the
    response's own Date header (no local clock is read). None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        until = email.utils.parsedate_to_datetime(value)
        now = email.utils.parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    if until is None or now is None:
        return None
    return max(0.0, (until - now).total_seconds())


def _with_json_type(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` saying the body is JSON, unless they name a content type themselves."""
    if any(name.lower() == "content-type" for name in headers):
        return headers
    return {**headers, "Content-Type": "application/json"}
