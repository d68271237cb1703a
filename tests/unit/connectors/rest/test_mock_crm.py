"""The mock CRM itself: generated data and its report, updated_since, write endpoints with
idempotency keys, faults on writes, and the admin endpoints tests drive it with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from isthmus.demo.generator import ALL_KINDS
from isthmus.demo.mockcrm import Faults, MockCrm, ReceivedWrite

AUTH = {"Authorization": "Bearer mock-token"}
VALID = {"FirstName": "Ann", "Email": "ann@example.com"}


@pytest.fixture
def crm() -> Iterator[MockCrm]:
    with MockCrm(accounts=5, contacts=20) as server:
        yield server


@pytest.fixture
def http(crm: MockCrm) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=crm.url, headers=AUTH, timeout=5) as client:
        yield client


def post(http: httpx.Client, path: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return http.post(path, json=body, headers=headers)


def test_generated_data_matches_its_report_and_has_no_malformed_kind() -> None:
    crm = MockCrm(seed=3, accounts=30, contacts=400, bad_fraction=0.2)
    report = crm.report.contacts
    assert report is not None
    assert crm.report.accounts is not None
    assert len(crm.contacts) == report.records == 400
    assert "malformed" not in report.spoiled
    assert set(report.spoiled) >= {k for k in ALL_KINDS if k != "malformed"}
    assert len({c["Id"] for c in crm.contacts}) == report.distinct_good_ids + report.total_spoiled
    assert len(crm.accounts) == 30
    crm.stop()


def test_the_same_seed_serves_the_same_records() -> None:
    first, second = MockCrm(seed=9, contacts=50), MockCrm(seed=9, contacts=50)
    assert first.contacts == second.contacts
    first.stop()
    second.stop()


def test_updated_since_keeps_contacts_modified_at_or_after_an_instant(
    crm: MockCrm, http: httpx.Client
) -> None:
    since = "2022-01-01T00:00:00+02:00"
    answer = http.get("/contacts", params={"updated_since": since, "limit": 1000})
    served = answer.json()["data"]
    cut = dt.datetime.fromisoformat(since)
    expected = [
        c["Id"]
        for c in crm.contacts
        if (modified := _instant(c["LastModifiedDate"])) is not None and modified >= cut
    ]
    assert [c["Id"] for c in served] == expected
    assert 0 < len(expected) < len(crm.contacts)
    assert http.get("/contacts", params={"updated_since": "yesterday"}).status_code == 400


def _instant(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None  # a spoiled date: never "since" anything


def test_a_create_returns_the_record_with_a_server_id(crm: MockCrm, http: httpx.Client) -> None:
    answer = post(http, "/contacts", VALID)
    assert answer.status_code == 201
    created = answer.json()
    assert created == {**VALID, "id": created["id"]}
    assert crm.created == [created]


@pytest.mark.parametrize(
    "body", [{"FirstName": "No Email"}, {"Email": ""}, {"Email": "  "}, {"Email": "no-at.example"}]
)
def test_a_contact_without_a_valid_email_is_refused(
    crm: MockCrm, http: httpx.Client, body: dict[str, Any]
) -> None:
    answer = post(http, "/contacts", body)
    assert answer.status_code == 422
    assert answer.json()["field"] == "Email"
    assert crm.created == []


def test_the_same_idempotency_key_replays_the_stored_response(
    crm: MockCrm, http: httpx.Client
) -> None:
    first = post(http, "/contacts", VALID, key="k-1")
    again = post(http, "/contacts", dict(reversed(VALID.items())), key="k-1")  # same JSON
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(crm.created) == 1
    assert crm.received == [
        ReceivedWrite("POST", "/contacts", "k-1", 201, False),
        ReceivedWrite("POST", "/contacts", "k-1", 201, True),
    ]


def test_the_same_key_with_a_different_body_is_a_conflict(crm: MockCrm, http: httpx.Client) -> None:
    post(http, "/contacts", VALID, key="k-2")
    answer = post(http, "/contacts", {**VALID, "FirstName": "Bob"}, key="k-2")
    assert answer.status_code == 422
    assert answer.json()["field"] == "Idempotency-Key"
    assert len(crm.created) == 1


def test_a_refused_write_is_replayed_as_refused(crm: MockCrm, http: httpx.Client) -> None:
    assert post(http, "/contacts", {"Email": "x"}, key="k-3").status_code == 422
    again = post(http, "/contacts", {"Email": "x"}, key="k-3")
    assert again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"


def test_put_replaces_and_patch_merges_a_contact(crm: MockCrm, http: httpx.Client) -> None:
    contact_id = post(http, "/contacts", {**VALID, "Phone": "1"}).json()["id"]
    replaced = http.put(f"/contacts/{contact_id}", json={"Email": "new@example.com"})
    assert (replaced.status_code, replaced.json()) == (
        200,
        {"Email": "new@example.com", "id": contact_id},
    )
    merged = http.patch(f"/contacts/{contact_id}", json={"Phone": "2"})
    assert merged.json() == {"Email": "new@example.com", "Phone": "2", "id": contact_id}
    assert http.patch(f"/contacts/{contact_id}", json={"Email": None}).status_code == 422
    assert crm.written[contact_id]["Phone"] == "2"


def test_a_generated_contact_can_be_patched_and_an_unknown_id_is_404(
    crm: MockCrm, http: httpx.Client
) -> None:
    seeded = next(c for c in crm.contacts if "@" in str(c.get("Email")))
    assert http.patch(f"/contacts/{seeded['Id']}", json={"Status": "x"}).status_code == 200
    assert http.put("/contacts/nope", json=VALID).status_code == 404
    assert http.patch("/contacts/nope", json=VALID).status_code == 404


def test_a_batch_answers_207_with_one_result_per_record(crm: MockCrm, http: httpx.Client) -> None:
    records = [VALID, {"Email": "bad"}, {**VALID, "FirstName": "Cy"}, "not an object"]
    answer = post(http, "/contacts/batch", {"records": records}, key="b-1")
    assert answer.status_code == 207
    results = answer.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [(0, 201), (1, 422), (2, 201), (3, 422)]
    assert results[1]["field"] == "Email"
    assert [c["id"] for c in crm.created] == [results[0]["id"], results[2]["id"]]
    replay = post(http, "/contacts/batch", {"records": records}, key="b-1")
    assert replay.json() == answer.json()
    assert len(crm.created) == 2
    assert post(http, "/contacts/batch", {"items": []}).status_code == 400


def test_faults_apply_to_writes_and_a_retry_with_the_key_creates_once(
    crm: MockCrm, http: httpx.Client
) -> None:
    crm.set_faults(error_next=1, rate_limit_next=1)
    statuses = [post(http, "/contacts", VALID, key="k-9").status_code for _ in range(4)]
    assert statuses == [429, 503, 201, 201]
    assert len(crm.created) == 1
    assert [(w.status, w.replayed) for w in crm.received] == [(201, False), (201, True)]


def test_writes_need_credentials(crm: MockCrm) -> None:
    answer = httpx.post(f"{crm.url}/contacts", json=VALID)
    assert answer.status_code == 401
    assert crm.created == []


def test_the_admin_endpoints_set_faults_list_writes_and_reset(
    crm: MockCrm, http: httpx.Client
) -> None:
    post(http, "/contacts", VALID, key="k-5")
    received = httpx.get(f"{crm.url}/_admin/received").json()["received"]
    assert received == [
        {
            "method": "POST",
            "path": "/contacts",
            "idempotency_key": "k-5",
            "status": 201,
            "replayed": False,
        }
    ]
    answer = httpx.post(f"{crm.url}/_admin/faults", json={"error_next": 2, "repeat_last": True})
    assert answer.status_code == 200
    assert crm.faults == Faults(error_next=2, repeat_last=True)
    assert httpx.post(f"{crm.url}/_admin/faults", json={"nonsense": 1}).status_code == 400
    assert httpx.post(f"{crm.url}/_admin/reset").status_code == 200
    assert (crm.created, crm.received, crm.faults) == ([], [], Faults())
    assert post(http, "/contacts", VALID, key="k-5").headers.get("Idempotent-Replayed") is None


def test_an_oauth2_token_works_until_the_tokens_are_expired() -> None:
    with MockCrm(auth="oauth2", contacts=3) as crm:
        form = {
            "grant_type": "client_credentials",
            "client_id": "mock-client",
            "client_secret": "mock-client-secret",
        }
        token = httpx.post(f"{crm.url}/oauth/token", data=form).json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600.0
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert httpx.get(f"{crm.url}/contacts", headers=headers).status_code == 200
        httpx.post(f"{crm.url}/_admin/expire_tokens")
        assert httpx.get(f"{crm.url}/contacts", headers=headers).status_code == 401
        wrong = httpx.post(f"{crm.url}/oauth/token", data={**form, "client_secret": "x"})
        assert wrong.status_code == 401
