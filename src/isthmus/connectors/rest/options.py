"""Configuration of the REST source: the template's options, the integration's connection and
each stream's keys.

Credentials are never written into configuration: every credential field takes exactly one
``${secret:NAME}`` reference, which the integration binds under ``connection.secrets``; a
literal value is refused (and never repeated in the message, in case it was a real secret).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

SECRET_ONLY = re.compile(r"^\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}$")
SECRET_ANYWHERE = re.compile(r"\$\{secret:")
DOTTED_PATH = r"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$"


def _reference_only(value: str) -> str:
    if not SECRET_ONLY.match(value):
        raise ValueError(
            "a credential must be a secret reference such as ${secret:crm_token}, not a value; "
            "bind the secret under the integration's connection.secrets"
        )
    return value


Credential = Annotated[
    str,
    AfterValidator(_reference_only),
    Field(description="A secret reference: ${secret:NAME}.", examples=["${secret:crm_token}"]),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- auth ---------------------------------------------------------------------------------


class NoAuth(_Model):
    type: Literal["none"] = Field(description="The API needs no credentials.")


class ApiKeyAuth(_Model):
    type: Literal["api_key"] = Field(description="An API key in a header or a query parameter.")
    location: Literal["header", "query"] = Field(
        "header", alias="in", description="Where the key goes: a header or a query parameter."
    )
    name: str = Field(
        min_length=1,
        description="The header's or query parameter's name.",
        examples=["X-API-Key", "api_key"],
    )
    value: Credential


class BearerAuth(_Model):
    type: Literal["bearer"] = Field(description="Authorization: Bearer <token>.")
    token: Credential


class BasicAuth(_Model):
    type: Literal["basic"] = Field(description="HTTP basic authentication.")
    username: Credential
    password: Credential


class OAuth2ClientCredentials(_Model):
    type: Literal["oauth2_client_credentials"] = Field(
        description="OAuth 2 client credentials: a token is fetched from token_url, reused "
        "until it expires, and refreshed once when the API answers 401."
    )
    token_url: str = Field(
        min_length=1,
        description="The token endpoint: a path relative to the connection's base_url, or an "
        "absolute http(s) URL.",
        examples=["/oauth/token", "https://login.example.com/oauth2/token"],
    )
    client_id: Credential
    client_secret: Credential
    scope: str | None = Field(None, description="The scope to ask for; none when not set.")


Auth = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | BasicAuth | OAuth2ClientCredentials,
    Field(discriminator="type"),
]


# --- pagination ---------------------------------------------------------------------------


class NoPagination(_Model):
    style: Literal["none"] = Field(description="One request returns every record.")


class PageNumberPagination(_Model):
    style: Literal["page_number"] = Field(
        description="Numbered pages; reading stops at an empty page or one shorter than size."
    )
    page_param: str = Field("page", min_length=1, description="The page number's parameter.")
    size_param: str = Field("per_page", min_length=1, description="The page size's parameter.")
    size: int = Field(100, ge=1, le=100_000, description="Records asked for per page.")
    start: int = Field(1, ge=0, description="The first page's number.")


class OffsetLimitPagination(_Model):
    style: Literal["offset_limit"] = Field(
        description="An offset and a limit; reading stops at an empty page or one shorter "
        "than limit."
    )
    offset_param: str = Field("offset", min_length=1, description="The offset's parameter.")
    limit_param: str = Field("limit", min_length=1, description="The limit's parameter.")
    limit: int = Field(100, ge=1, le=100_000, description="Records asked for per page.")


class CursorPagination(_Model):
    style: Literal["cursor"] = Field(
        description="Each page names the next one with a cursor; no cursor means done."
    )
    cursor_param: str = Field(
        "cursor", min_length=1, description="The query parameter that sends the cursor back."
    )
    cursor_path: str = Field(
        "next_cursor",
        pattern=DOTTED_PATH,
        min_length=1,
        description="Dotted path in the response body to the next cursor; null or missing "
        "ends the read.",
        examples=["next_cursor", "meta.next"],
    )


class LinkHeaderPagination(_Model):
    style: Literal["link_header"] = Field(
        description='Follow the response\'s `Link: <url>; rel="next"` header until it is gone.'
    )


class NextUrlPagination(_Model):
    style: Literal["next_url"] = Field(
        description="Each page holds the URL of the next one; null or missing ends the read."
    )
    next_url_path: str = Field(
        "next",
        pattern=DOTTED_PATH,
        min_length=1,
        description="Dotted path in the response body to the next page's URL (absolute, or "
        "relative to the current page).",
        examples=["next", "links.next"],
    )


Pagination = Annotated[
    NoPagination
    | PageNumberPagination
    | OffsetLimitPagination
    | CursorPagination
    | LinkHeaderPagination
    | NextUrlPagination,
    Field(discriminator="style"),
]


# --- the three levels ---------------------------------------------------------------------


class RestHttpOptions(_Model):
    """What every request to the API shares: credentials, timeouts, pacing and retries. These
    are the options of a REST write-back; the REST source adds pagination."""

    auth: Auth = Field(description="How requests authenticate; credentials are secret references.")
    timeout_s: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for a connection or a response."
    )
    rate_limit: float | None = Field(
        None,
        gt=0,
        description="Requests per second at most; requests are spaced evenly. None: no limit.",
        examples=[5],
    )
    retries: int = Field(
        5,
        ge=1,
        le=20,
        description="Tries of one request at most, when the API answers 429 or 5xx, times out "
        "or drops the connection; then the run fails as transient.",
    )
    max_retry_wait_s: float = Field(
        60.0,
        gt=0,
        description="The longest wait between two tries. A Retry-After asking for more ends the "
        "connector's retries and passes the wait on to the run's retries.",
    )


class RestOptions(RestHttpOptions):
    """Template-level options of the REST source."""

    pagination: Pagination = Field(
        default_factory=lambda: NoPagination(style="none"),
        description="How streams page through records, unless a stream says otherwise.",
    )


class RestConnection(_Model):
    """Integration-level connection of the REST source (secrets sit beside it)."""

    base_url: str = Field(
        description="The API's root URL; stream paths are appended to it.",
        examples=["https://crm.acme.example/api"],
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value, "base_url")


class Incremental(_Model):
    param: str = Field(
        min_length=1,
        description="The query parameter that carries the checkpoint's cursor value on an "
        "incremental read.",
        examples=["updated_since"],
    )
    cursor_field: str | None = Field(
        None,
        min_length=1,
        description="The record field whose greatest value becomes the checkpoint. Defaults to "
        "the stream's cursor.",
        examples=["LastModifiedDate"],
    )


class RestStream(_Model):
    """Stream-level keys of the REST source."""

    path: str = Field(
        min_length=1,
        description="The resource's path, appended to the connection's base_url; query "
        "parameters go under params.",
        examples=["/contacts"],
    )
    record_selector: str = Field(
        "",
        pattern=DOTTED_PATH,
        description="Dotted path in the response body to the list of records; empty when the "
        "body itself is the list.",
        examples=["data", "data.items"],
    )
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Query parameters sent with every request of the stream (never credentials).",
        examples=[{"status": "active"}],
    )
    pagination: Pagination | None = Field(
        None, description="This stream's pagination; none: the source options' pagination."
    )
    incremental: Incremental | None = Field(
        None,
        description="How an incremental read asks only for changes; none: every read is full.",
    )

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        if "://" in value or value.startswith("//"):
            raise ValueError("path is relative to the connection's base_url, not a full URL")
        if "?" in value or "#" in value:
            raise ValueError("path takes no query string; put query parameters under params")
        return value

    @field_validator("params")
    @classmethod
    def _no_credentials(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for name, param in value.items():
            if isinstance(param, str) and SECRET_ANYWHERE.search(param):
                raise ValueError(
                    f"params.{name} uses a secret; credentials belong under source.options.auth"
                )
        return value


def check_http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not hold credentials; use source.options.auth")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} takes no query string or fragment")
    return value


def secret_name(reference: str) -> str:
    """NAME of a validated ``${secret:NAME}``."""
    match = SECRET_ONLY.match(reference)
    assert match is not None, "credentials are validated as references"
    return match.group(1)
