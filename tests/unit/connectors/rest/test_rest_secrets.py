"""Secret values never reach an error message, a hint, an origin or a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import structlog
from pydantic import ValidationError
from structlog.testing import capture_logs

from isthmus.connectors.rest import RestOptions
from isthmus.connectors.rest.errors import RestAuthError, RestResponseError
from isthmus.demo.mockcrm import Faults, MockCredentials
from isthmus.errors import IsthmusError

SECRET = "s3cr3t-Zq81xV"  # recognisable, so a leak is found wherever it goes
CREDENTIALS = MockCredentials(
    token=f"token-{SECRET}",
    api_key=f"key-{SECRET}",
    username=f"user-{SECRET}",
    password=f"password-{SECRET}",
    client_id=f"client-{SECRET}",
    client_secret=f"client-secret-{SECRET}",
)
SECRETS = {
    "crm_token": CREDENTIALS.token,
    "crm_key": CREDENTIALS.api_key,
    "crm_user": CREDENTIALS.username,
    "crm_password": CREDENTIALS.password,
    "crm_client_id": CREDENTIALS.client_id,
    "crm_client_secret": CREDENTIALS.client_secret,
}


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Every log line written so far, standard logging (httpx) and structlog alike."""
    caplog.set_level(logging.DEBUG)
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as events:
            yield lambda: [
                *(str(event) for event in events),
                *(record.getMessage() for record in caplog.records),
            ]
    finally:
        structlog.configure(**before)


def shown(error: IsthmusError) -> str:
    return f"{error.message}\n{error.hint}"


@pytest.mark.parametrize("mode", ["bearer", "api_key_header", "api_key_query", "basic", "oauth2"])
def test_no_secret_is_shown_through_retries_and_a_failing_page(
    mock_crm, captured: Callable[[], list[str]], mode: str
) -> None:
    faults = Faults(rate_limit_next=1, error_next=1, malformed_page=3)
    rest = mock_crm(
        auth=mode,
        credentials=CREDENTIALS,
        faults=faults,
        pagination="page_number",
        contacts=30,
    )
    source = rest.source(secrets=SECRETS, pagination={"style": "page_number", "size": 10})
    origins: list[str] = []

    def read_all() -> None:
        origins.extend(batch.origin for batch in rest.read(source, batch_size=5))

    with pytest.raises(RestResponseError) as caught:
        read_all()
    assert "page 3" in caught.value.message
    logs = captured()
    assert any("rest_request_retried" in line for line in logs)
    assert any("HTTP Request: GET" in line for line in logs)
    for text in [shown(caught.value), *origins, *logs]:
        assert SECRET not in text


@pytest.mark.parametrize("mode", ["bearer", "api_key_query", "basic", "oauth2"])
def test_no_secret_is_shown_when_credentials_are_refused(
    mock_crm, captured: Callable[[], list[str]], mode: str
) -> None:
    rest = mock_crm(auth=mode, credentials=MockCredentials())  # expects other values
    with pytest.raises(RestAuthError) as caught:
        rest.read(rest.source(secrets=SECRETS))
    assert "check the credentials of secret" in (caught.value.hint or "")
    for text in [shown(caught.value), *captured()]:
        assert SECRET not in text


def test_an_answer_that_echoes_a_credential_is_quoted_masked(mock_crm) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, text=f"invalid: {request.headers['Authorization']}")

    rest = mock_crm()
    source = rest.source(secrets=SECRETS, transport=httpx.MockTransport(echo))
    with pytest.raises(IsthmusError) as caught:
        rest.read(source)
    assert "invalid: Bearer ***" in caught.value.message
    assert SECRET not in shown(caught.value)


def test_a_literal_credential_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as caught:
        RestOptions.model_validate({"auth": {"type": "bearer", "token": SECRET}})
    messages: list[Any] = [e["msg"] for e in caught.value.errors()]
    assert messages == [
        "Value error, a credential must be a secret reference such as ${secret:crm_token}, "
        "not a value; bind the secret under the integration's connection.secrets"
    ]
