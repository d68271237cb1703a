"""The REST source's configuration: registered, described, and strict about credentials."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from isthmus.connectors.registry import source_connector
from isthmus.connectors.rest import RestConnection, RestOptions, RestSource, RestStream

BEARER = {"type": "bearer", "token": "${secret:crm_token}"}


def errors(model: type[BaseModel], data: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [e["msg"].removeprefix("Value error, ") for e in caught.value.errors()]


def test_the_rest_connector_is_registered_with_its_three_models() -> None:
    connector = source_connector("rest")
    assert connector is not None
    assert (connector.options, connector.connection, connector.stream) == (
        RestOptions,
        RestConnection,
        RestStream,
    )
    assert connector.factory is RestSource


@pytest.mark.parametrize("model", [RestOptions, RestConnection, RestStream])
def test_every_field_is_described_in_the_json_schema(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()

    def undescribed(node: dict[str, Any]) -> list[str]:
        return [
            name
            for name, spec in node.get("properties", {}).items()
            if "description" not in spec and "$ref" not in spec
        ]

    missing = undescribed(schema)
    for definition in schema.get("$defs", {}).values():
        missing += undescribed(definition)
    assert missing == []


def test_defaults_are_the_documented_ones() -> None:
    options = RestOptions.model_validate({"auth": BEARER})
    assert (options.timeout_s, options.retries, options.max_retry_wait_s) == (30.0, 5, 60.0)
    assert options.rate_limit is None
    assert options.pagination.style == "none"
    stream = RestStream.model_validate({"path": "/contacts"})
    assert (stream.record_selector, stream.params, stream.pagination) == ("", {}, None)


@pytest.mark.parametrize(
    "auth",
    [
        {"type": "bearer", "token": "abc123"},
        {"type": "bearer", "token": "Bearer ${secret:crm_token}"},
        {"type": "api_key", "in": "query", "name": "key", "value": "abc"},
        {"type": "basic", "username": "${secret:u}", "password": "hunter2"},
        {
            "type": "oauth2_client_credentials",
            "token_url": "/oauth/token",
            "client_id": "${secret:id}",
            "client_secret": "plain",
        },
    ],
)
def test_a_literal_credential_is_refused(auth: dict[str, Any]) -> None:
    [message] = errors(RestOptions, {"auth": auth})
    assert message.startswith("a credential must be a secret reference such as ${secret:")


def test_an_unknown_auth_type_or_pagination_style_is_refused() -> None:
    assert errors(RestOptions, {"auth": {"type": "digest"}})
    assert errors(RestOptions, {"auth": BEARER, "pagination": {"style": "pages"}})
    assert errors(RestOptions, {"auth": BEARER, "retry": 3})  # extra keys are refused


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://crm.example", "base_url must be an http:// or https:// URL with a host"),
        ("crm.example/api", "base_url must be an http:// or https:// URL with a host"),
        ("https://u:p@crm.example", "base_url must not hold credentials; use source.options.auth"),
        ("https://crm.example/api?key=1", "base_url takes no query string or fragment"),
    ],
)
def test_the_base_url_is_an_http_url_without_credentials(url: str, message: str) -> None:
    assert errors(RestConnection, {"base_url": url}) == [message]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ({"path": "https://other.example/x"}, "path is relative to the connection's base_url"),
        ({"path": "/contacts?active=1"}, "path takes no query string; put query parameters"),
        (
            {"path": "/c", "params": {"token": "${secret:crm_token}"}},
            "params.token uses a secret; credentials belong under source.options.auth",
        ),
        ({"path": "/c", "record_selector": "data[0]"}, "String should match pattern"),
    ],
)
def test_stream_keys_are_checked(stream: dict[str, Any], message: str) -> None:
    [found] = errors(RestStream, stream)
    assert found.startswith(message)
