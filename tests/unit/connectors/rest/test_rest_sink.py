"""The REST write-back against the running mock CRM: every request carries an idempotency
key, the far side's refusals become per-record outcomes, and what cannot be fixed by a
record (credentials, a wrong endpoint, an unreadable batch answer) fails the send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from isthmus.config.writeback import WriteBackTarget
from isthmus.connectors.rest import RestConnection
from isthmus.connectors.rest.errors import RestAuthError, RestRequestError, RestResponseError
from isthmus.connectors.rest.options import RestHttpOptions
from isthmus.connectors.rest.sink import RestSink
from isthmus.connectors.writeback import Delivery, Outgoing, SinkContext
from isthmus.demo.mockcrm import Faults, MockCrm
from isthmus.errors import ErrorClass
from isthmus.testing import FakeClock

TOKEN = "mock-token"
OPTIONS = {"auth": {"type": "bearer", "token": "${secret:crm_token}"}, "retries": 3}


@pytest.fixture
def crm() -> Iterator[MockCrm]:
    with MockCrm(seed=3, accounts=2, contacts=3) as server:
        yield server


def sink(
    crm: MockCrm,
    target: dict[str, Any],
    *,
    token: str = TOKEN,
    transport: httpx.BaseTransport | None = None,
) -> RestSink:
    clock = FakeClock()
    context = SinkContext(
        options=RestHttpOptions.model_validate(OPTIONS),
        connection=RestConnection(base_url=crm.url),
        target=WriteBackTarget.model_validate(
            {"entity": "customer", "read": "full", "fields": {"Email": "email"}, **target}
        ),
        secrets={"crm_token": token},
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    return RestSink(context, transport=transport)


def contact(index: int, email: str, path: str = "/contacts") -> Outgoing:
    return Outgoing(index, path, {"Email": email, "Name": f"N{index}"}, f"key-{index}-{email}")


def deliver(rest: RestSink, records: list[Outgoing]) -> list[Delivery]:
    try:
        return sorted(rest.deliver(records), key=lambda d: d.index)
    finally:
        rest.close()


def test_each_record_is_posted_with_its_idempotency_key(crm: MockCrm) -> None:
    out = deliver(sink(crm, {"path": "/contacts"}), [contact(0, "a@x.io"), contact(1, "b@x.io")])
    assert [(d.delivered, d.status, d.replayed) for d in out] == [(True, 201, False)] * 2
    assert [d.remote_id for d in out] == [c["id"] for c in crm.created]
    assert [w.idempotency_key for w in crm.received] == ["key-0-a@x.io", "key-1-b@x.io"]


def test_a_record_sent_again_is_recognised_and_not_created_twice(crm: MockCrm) -> None:
    deliver(sink(crm, {"path": "/contacts"}), [contact(0, "a@x.io")])
    again = deliver(sink(crm, {"path": "/contacts"}), [contact(0, "a@x.io")])
    assert [(d.delivered, d.status, d.replayed) for d in again] == [(True, 201, True)]
    assert len(crm.created) == 1


def test_a_lost_reply_is_retried_under_the_same_key_without_a_duplicate(crm: MockCrm) -> None:
    crm.set_faults(Faults(lost_write_replies=2))
    out = deliver(sink(crm, {"path": "/contacts"}), [contact(0, "a@x.io")])
    assert [(d.delivered, d.replayed) for d in out] == [(True, True)]
    assert len(crm.created) == 1
    assert [(w.idempotency_key, w.replayed) for w in crm.received] == [
        ("key-0-a@x.io", False),
        ("key-0-a@x.io", True),
        ("key-0-a@x.io", True),
    ]


def test_a_record_the_far_side_refuses_is_an_outcome_with_status_and_excerpt(
    crm: MockCrm,
) -> None:
    out = deliver(sink(crm, {"path": "/contacts"}), [contact(0, "not-an-email"), contact(1, "b@x")])
    assert (out[0].delivered, out[0].status) == (False, 422)
    assert out[0].detail == (
        '{"error": "Email is required and must be an email address", "field": "Email"}'
    )
    assert (out[1].delivered, out[1].status) == (True, 201)


def test_a_put_to_a_record_the_far_side_does_not_have_is_refused_not_fatal(crm: MockCrm) -> None:
    existing = crm.contacts[0]["Id"]
    records = [
        contact(0, "a@x.io", f"/contacts/{existing}"),
        contact(1, "b@x.io", "/contacts/NOPE"),
    ]
    out = deliver(sink(crm, {"path": "/contacts/{Id}", "method": "PUT"}), records)
    assert [(d.delivered, d.status) for d in out] == [(True, 200), (False, 404)]
    assert out[1].detail == '{"error": "no contact with id NOPE"}'
    assert crm.written[existing]["Email"] == "a@x.io"


def test_a_wrong_fixed_path_fails_the_send_with_a_hint(crm: MockCrm) -> None:
    rest = sink(crm, {"path": "/people"})
    with pytest.raises(RestRequestError) as caught:
        deliver(rest, [contact(0, "a@x.io", "/people")])
    assert caught.value.message.startswith("write-back POST /people: POST http://127.0.0.1:")
    assert caught.value.message.endswith("/people answered 404 Not Found")
    assert caught.value.hint == "check the write-back target's path"


def test_bad_credentials_fail_at_once_naming_the_secret(crm: MockCrm) -> None:
    with pytest.raises(RestAuthError) as caught:
        deliver(sink(crm, {"path": "/contacts"}, token="wrong"), [contact(0, "a@x.io")])
    assert caught.value.error_class is ErrorClass.AUTH
    assert caught.value.hint == "check the credentials of secret crm_token"
    assert len(crm.received) == 0


def test_a_batch_endpoint_answers_each_record(crm: MockCrm) -> None:
    target = {"path": "/contacts", "batch": {"path": "/contacts/batch", "size": 2}}
    records = [contact(0, "a@x.io"), contact(1, "nope"), contact(2, "c@x.io")]
    out = deliver(sink(crm, target), records)
    assert [(d.index, d.delivered, d.status) for d in out] == [
        (0, True, 201),
        (1, False, 422),
        (2, True, 201),
    ]
    assert out[1].detail == (
        '{"error": "Email is required and must be an email address", "field": "Email"}'
    )
    assert [(w.path, len(w.idempotency_key or "")) for w in crm.received] == [
        ("/contacts/batch", 40),
        ("/contacts/batch", 40),
    ]
    again = deliver(sink(crm, target), records)  # the same batches: recognised
    assert [d.replayed for d in again] == [True, True, True]
    assert len(crm.created) == 2


def test_a_batch_answer_without_a_result_per_record_fails_the_send(crm: MockCrm) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(207, json={"results": [{"index": 0, "status": 201}]})

    target = {"path": "/contacts", "batch": {"path": "/contacts/batch"}}
    rest = sink(crm, target, transport=httpx.MockTransport(short))
    with pytest.raises(RestResponseError) as caught:
        deliver(rest, [contact(0, "a@x.io"), contact(1, "b@x.io")])
    assert caught.value.message == (
        "write-back POST /contacts/batch (2 records): the answer has results for 1 of the 2 "
        "records sent"
    )
    assert "same idempotency key" in (caught.value.hint or "")
