"""The REST source against every fault of the mock CRM: waits are the fake clock's, retries
are counted, and what cannot be retried fails with a message that says what to fix."""

from __future__ import annotations

import pytest

from isthmus.connectors.rest.client import BACKOFF_BASE_S
from isthmus.connectors.rest.errors import (
    RestRequestError,
    RestResponseError,
    RestUnavailableError,
)
from isthmus.demo.mockcrm import Faults
from isthmus.errors import ErrorClass, TerminalError, TransientError


def statuses(rest) -> list[int]:  # type: ignore[no-untyped-def]
    return [r.status for r in rest.crm.requests]


def test_a_429_waits_as_long_as_retry_after_says(mock_crm) -> None:
    rest = mock_crm(faults=Faults(rate_limit_next=2, retry_after_s=7), contacts=20, page_size=10)
    batches = rest.read(rest.source(pagination={"style": "cursor"}))
    assert len(rest.ids(batches)) == 20
    assert statuses(rest) == [429, 429, 200, 200]
    assert rest.clock.sleeps == [7.0, 7.0]


def test_a_retry_after_given_as_an_http_date_is_honoured(mock_crm) -> None:
    faults = Faults(rate_limit_next=1, retry_after_s=4, retry_after_format="http_date")
    rest = mock_crm(faults=faults, contacts=5)
    rest.read(rest.source(pagination={"style": "cursor"}))
    assert statuses(rest) == [429, 200]
    assert rest.clock.sleeps == [4.0]


def test_every_nth_request_rate_limited_still_reads_everything(mock_crm) -> None:
    rest = mock_crm(faults=Faults(rate_limit_every=3), contacts=60, page_size=10)
    batches = rest.read(rest.source(pagination={"style": "cursor"}))
    assert rest.ids(batches) == [c["Id"] for c in rest.crm.contacts]
    assert statuses(rest) == [200, 200, 429, 200, 200, 429, 200, 200]
    assert rest.clock.sleeps == [1.0, 1.0]


@pytest.mark.parametrize("status", [500, 503])
def test_a_burst_of_server_errors_is_retried_with_jittered_backoff(mock_crm, status: int) -> None:
    rest = mock_crm(faults=Faults(error_next=3, error_status=status), contacts=20, page_size=10)
    batches = rest.read(rest.source(pagination={"style": "cursor"}, retries=4))
    assert len(rest.ids(batches)) == 20
    assert statuses(rest) == [status] * 3 + [200, 200]
    waits = rest.clock.sleeps
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, start=1):
        assert 0 <= wait <= BACKOFF_BASE_S * 2 ** (attempt - 1)


def test_a_slow_response_times_out_and_is_retried(mock_crm) -> None:
    rest = mock_crm(faults=Faults(slow_next=1, slow_s=0.5), contacts=5)
    batches = rest.read(rest.source(pagination={"style": "cursor"}, timeout_s=0.2))
    assert len(rest.ids(batches)) == 5
    assert len(rest.clock.sleeps) == 1  # one backoff after the timeout
    # The slow request is still being answered; the retry was answered at once.
    assert rest.crm.fault_state.counted == 2


def test_retries_exhausted_end_as_a_transient_error(mock_crm) -> None:
    rest = mock_crm(faults=Faults(rate_limit_next=10, retry_after_s=2))
    with pytest.raises(RestUnavailableError) as caught:
        rest.read(rest.source(retries=3))
    error = caught.value
    assert isinstance(error, TransientError)
    assert not isinstance(error, TerminalError)
    assert error.error_class is ErrorClass.TRANSIENT
    assert error.retry_after == 2.0
    assert "answered 429 Too Many Requests, still after 3 tries" in error.message
    assert "stream contacts page 1: GET" in error.message
    assert statuses(rest) == [429, 429, 429]
    assert rest.clock.sleeps == [2.0, 2.0]


def test_a_retry_after_beyond_the_longest_wait_is_left_to_the_run(mock_crm) -> None:
    rest = mock_crm(faults=Faults(rate_limit_next=1, retry_after_s=300))
    with pytest.raises(RestUnavailableError) as caught:
        rest.read(rest.source(max_retry_wait_s=60))
    assert caught.value.retry_after == 300.0
    assert rest.clock.sleeps == []
    assert len(rest.crm.requests) == 1


def test_a_malformed_page_fails_naming_the_url_and_the_page(mock_crm) -> None:
    rest = mock_crm(faults=Faults(malformed_page=2), pagination="page_number", contacts=30)
    source = rest.source(pagination={"style": "page_number", "size": 10})
    with pytest.raises(RestResponseError) as caught:
        rest.read(source)
    error = caught.value
    assert isinstance(error, TerminalError)
    url = f"{rest.crm.url}/contacts?page=2&per_page=10"
    assert error.message.startswith(f"stream contacts: page 2 (GET {url}) is not valid JSON")
    assert len(rest.crm.requests) == 2  # not retried


def test_records_repeated_across_pages_are_passed_through(mock_crm) -> None:
    rest = mock_crm(faults=Faults(repeat_last=True), contacts=30, page_size=10)
    batches = rest.read(rest.source(pagination={"style": "cursor"}))
    contacts = [c["Id"] for c in rest.crm.contacts]
    expected = contacts[:10] + contacts[9:20] + contacts[19:]
    assert rest.ids(batches) == expected
    assert [p for b in batches for p in b.positions.to_pylist()] == list(range(1, 33))


def test_a_missing_resource_says_to_check_the_path(mock_crm) -> None:
    rest = mock_crm()
    with pytest.raises(RestRequestError) as caught:
        rest.read(rest.source(), {"path": "/contcts", "record_selector": "data"})
    assert caught.value.hint == "check the stream's path"
    assert f"GET {rest.crm.url}/contcts answered 404 Not Found" in caught.value.message
    assert len(rest.crm.requests) == 1


def test_another_client_error_quotes_a_bounded_excerpt_of_the_answer(mock_crm) -> None:
    rest = mock_crm(pagination="cursor")
    source = rest.source(pagination={"style": "cursor"})
    stream = {"path": "/contacts", "record_selector": "data", "params": {"cursor": "x" * 500}}
    with pytest.raises(RestRequestError) as caught:
        rest.read(source, stream)
    message = caught.value.message
    assert "answered 400 Bad Request: " in message
    assert "cursor is not one this API issued" in message
    excerpt = message.split("answered 400 Bad Request: ", 1)[1]
    assert len(excerpt) <= 201


def test_a_rate_limit_spaces_requests_on_the_clock(mock_crm) -> None:
    rest = mock_crm(contacts=40, page_size=10)
    rest.read(rest.source(pagination={"style": "cursor"}, rate_limit=4))
    assert rest.clock.sleeps == [0.25, 0.25, 0.25]  # four requests, a quarter second apart


def test_faults_can_be_changed_while_the_server_runs(mock_crm) -> None:
    rest = mock_crm(contacts=10)
    source = rest.source(pagination={"style": "cursor"})
    rest.crm.set_faults(error_next=1)
    rest.read(source)
    assert statuses(rest) == [503, 200]
    assert rest.crm.faults == Faults(error_next=1)
