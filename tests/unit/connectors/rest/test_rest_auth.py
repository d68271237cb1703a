"""The REST source authenticates every way the mock CRM asks, and bad credentials fail fast."""

from __future__ import annotations

import pytest

from isthmus.connectors.rest.errors import RestAuthError, RestSecretError
from isthmus.errors import ErrorClass, TerminalError


@pytest.mark.parametrize(
    "mode", ["bearer", "api_key_header", "api_key_query", "basic", "oauth2", "none"]
)
def test_each_auth_mode_reads_every_contact(mock_crm, mode: str) -> None:
    rest = mock_crm(auth=mode, contacts=30, page_size=10)
    batches = rest.read(rest.source(pagination={"style": "cursor"}))
    assert rest.ids(batches) == [c["Id"] for c in rest.crm.contacts]
    assert all(r.status == 200 for r in rest.crm.requests)


def test_a_query_api_key_is_sent_on_every_page_and_shown_masked(mock_crm) -> None:
    rest = mock_crm(auth="api_key_query", contacts=30, page_size=10, pagination="link_header")
    rest.read(rest.source(pagination={"style": "link_header"}))
    lists = [r for r in rest.crm.requests if r.path == "/contacts"]
    assert len(lists) == 3
    assert all(r.query["api_key"] == "***" for r in lists)


def test_an_oauth2_token_is_fetched_once_and_reused(mock_crm) -> None:
    rest = mock_crm(auth="oauth2", contacts=50, page_size=10)
    source = rest.source(pagination={"style": "cursor"})
    rest.read(source)
    rest.read(source)
    assert rest.crm.tokens_issued == 1
    assert [r.path for r in rest.crm.requests].count("/oauth/token") == 1
    assert [r.path for r in rest.crm.requests].count("/contacts") == 10


def test_an_oauth2_token_is_renewed_before_it_expires(mock_crm) -> None:
    rest = mock_crm(auth="oauth2", token_ttl_s=600)
    source = rest.source(pagination={"style": "cursor"})
    rest.read(source)
    rest.clock.advance(575)  # within the renewal margin of the 600 s lifetime
    rest.read(source)
    assert rest.crm.tokens_issued == 2
    assert not [r for r in rest.crm.requests if r.status == 401]


def test_a_401_makes_oauth2_fetch_a_new_token_once_and_retry(mock_crm) -> None:
    rest = mock_crm(auth="oauth2", contacts=30, page_size=10)
    source = rest.source(pagination={"style": "cursor"})
    rest.read(source)
    rest.crm.expire_tokens()  # the server forgets the token the client still holds
    batches = rest.read(source)
    assert len(rest.ids(batches)) == 30
    assert rest.crm.tokens_issued == 2
    statuses = [(r.path, r.status) for r in rest.crm.requests]
    assert statuses.count(("/contacts", 401)) == 1
    assert rest.clock.sleeps == []  # a new token is not a retry: no wait


def test_wrong_oauth2_client_credentials_fail_at_the_token_endpoint(mock_crm) -> None:
    rest = mock_crm(auth="oauth2")
    secrets = {**rest.secrets, "crm_client_secret": "not-the-secret"}
    with pytest.raises(RestAuthError) as caught:
        rest.read(rest.source(secrets=secrets))
    assert (
        caught.value.hint == "check the credentials of secrets crm_client_id and crm_client_secret"
    )
    assert "token request" in caught.value.message
    assert "401" in caught.value.message
    assert [r.path for r in rest.crm.requests] == ["/oauth/token"]


@pytest.mark.parametrize(
    ("mode", "secret", "hint"),
    [
        ("bearer", "crm_token", "check the credentials of secret crm_token"),
        ("api_key_header", "crm_key", "check the credentials of secret crm_key"),
        ("api_key_query", "crm_key", "check the credentials of secret crm_key"),
        ("basic", "crm_password", "check the credentials of secrets crm_user and crm_password"),
    ],
)
def test_bad_credentials_fail_at_once_naming_the_secret(
    mock_crm, mode: str, secret: str, hint: str
) -> None:
    rest = mock_crm(auth=mode)
    source = rest.source(secrets={**rest.secrets, secret: "wrong"}, retries=5)
    with pytest.raises(RestAuthError) as caught:
        rest.read(source)
    error = caught.value
    assert isinstance(error, TerminalError)
    assert error.error_class is ErrorClass.AUTH
    assert error.hint == hint
    assert "stream contacts page 1" in error.message
    assert "401" in error.message
    assert len(rest.crm.requests) == 1  # no retries
    assert rest.clock.sleeps == []


def test_a_secret_the_run_did_not_pass_is_a_configuration_error(mock_crm) -> None:
    rest = mock_crm()
    with pytest.raises(RestSecretError, match="crm_token") as caught:
        rest.source(secrets={})
    assert caught.value.error_class is ErrorClass.CONFIG
