"""`POST /hooks/{tenant}/{integration}/{stream}` through FastAPI's test client, on a fake
clock: what is stored, what is refused with which status, and what the log says (never the
body or the secret)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from isthmus.config import load_project
from isthmus.errors import ProjectError
from isthmus.execution import database_urls
from isthmus.store import StateStore, WebhookEvent
from isthmus.testing import FakeClock
from isthmus.validation import validate_project
from isthmus.web import create_app
from support_webhooks import (
    ACME_SECRET,
    ENVIRON,
    GLOBEX_SECRET,
    MAX_BODY,
    signed,
    write_hook_project,
)

with warnings.catch_warnings():
    # Starlette's test client asks for the httpx2 fork; httpx, which isthmus depends on
    # anyway, still drives it.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
ACME = "/hooks/acme/acme-hooks/contacts"
RECORD = {"id": "c1", "email": "Ann@Example.com", "age": 31, "address": {"city": "Oslo"}}
NOT_FOUND = {"detail": "no webhook endpoint at this address"}


@pytest.fixture
def all_levels() -> Iterator[None]:
    """Let info events through to capture_logs (the default configuration drops them)."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(**before)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_hook_project(tmp_path / "hooks")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def client(project: Path, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(project, clock=clock, environ=ENVIRON)) as test_client:
        yield test_client


def stored(project: Path, integration: str = "acme-hooks") -> list[WebhookEvent]:
    store = StateStore.open(database_urls(load_project(project)).state)
    try:
        return store.events_after(integration, "contacts", 0, 1000)
    finally:
        store.close()


def post(
    client: TestClient,
    record: Any = RECORD,
    *,
    event_id: str = "msg_1",
    path: str = ACME,
    at: dt.datetime = START,
    secret: str = ACME_SECRET,
    drop: tuple[str, ...] = (),
    **headers: str,
) -> Any:
    body, signed_headers = signed(event_id, record, at.timestamp(), secret)
    sent = {k: v for k, v in {**signed_headers, **headers}.items() if k not in drop}
    return client.post(path, content=body, headers=sent)


def test_a_signed_delivery_is_stored_and_answered_202_with_its_sequence_id(
    client: TestClient, project: Path
) -> None:
    response = post(client)
    assert response.status_code == 202
    (event,) = stored(project)
    assert response.json() == {"status": "accepted", "event": event.seq}
    assert (event.tenant, event.integration, event.stream) == ("acme", "acme-hooks", "contacts")
    assert event.event_id == "msg_1"
    assert json.loads(event.body) == RECORD
    assert event.body == json.dumps(RECORD)  # as received, byte for byte
    assert event.received_at == START


def test_a_file_bound_plain_secret_signs_another_tenants_deliveries(
    client: TestClient, project: Path
) -> None:
    path = "/hooks/globex/globex-hooks/contacts"
    assert post(client, path=path, secret=GLOBEX_SECRET).status_code == 202
    assert post(client, path=path, event_id="msg_2").status_code == 401  # acme's secret
    assert [e.event_id for e in stored(project, "globex-hooks")] == ["msg_1"]


def test_a_bad_signature_is_refused_401_and_nothing_is_stored(
    client: TestClient, project: Path
) -> None:
    response = post(client, secret="whsec_b3RoZXIta2V5")
    assert response.status_code == 401
    assert response.json() == {"detail": "no signature matches"}
    body, headers = signed("msg_1", RECORD, START.timestamp())
    tampered = client.post(ACME, content=body.replace(b"Ann", b"Eve"), headers=headers)
    assert tampered.status_code == 401
    assert stored(project) == []


@pytest.mark.parametrize(
    ("drop", "detail"),
    [
        (("webhook-id",), "missing header: webhook-id"),
        (("webhook-timestamp",), "missing header: webhook-timestamp"),
        (("webhook-signature",), "missing header: webhook-signature"),
        (
            ("webhook-id", "webhook-timestamp", "webhook-signature"),
            "missing headers: webhook-id, webhook-timestamp, webhook-signature",
        ),
    ],
)
def test_a_delivery_without_its_signature_headers_is_refused_401(
    client: TestClient, project: Path, drop: tuple[str, ...], detail: str
) -> None:
    response = post(client, drop=drop)
    assert (response.status_code, response.json()) == (401, {"detail": detail})
    assert stored(project) == []


def test_a_timestamp_older_than_the_tolerance_is_a_replay_and_refused(
    client: TestClient, project: Path, clock: FakeClock
) -> None:
    clock.advance(300)
    assert post(client, event_id="msg_edge").status_code == 202  # exactly at the tolerance
    clock.advance(1)
    response = post(client, event_id="msg_old")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "webhook-timestamp is 301 s old, beyond the 300 s tolerance"
    }
    # A captured delivery sent again later is refused the same way, even with a new id.
    assert post(client, event_id="msg_edge").status_code == 401
    assert [e.event_id for e in stored(project)] == ["msg_edge"]


def test_a_timestamp_in_the_future_beyond_the_tolerance_is_refused(
    client: TestClient, project: Path
) -> None:
    response = post(client, at=START + dt.timedelta(seconds=301))
    assert response.status_code == 401
    assert "in the future" in response.json()["detail"]
    assert post(client, at=START + dt.timedelta(seconds=300)).status_code == 202


def test_a_timestamp_that_is_not_seconds_is_refused(client: TestClient) -> None:
    response = post(client, **{"webhook-timestamp": "2026-03-01T09:00:00Z"})
    assert response.status_code == 401
    assert response.json() == {"detail": "webhook-timestamp is not whole seconds since the epoch"}


def test_a_body_declared_larger_than_the_limit_is_refused_413_before_it_is_read(
    client: TestClient, project: Path
) -> None:
    record = {"id": "c1", "email": "x" * MAX_BODY}
    response = post(client, record)
    assert response.status_code == 413
    assert response.json() == {"detail": f"the body is larger than {MAX_BODY} bytes"}
    assert stored(project) == []


def test_a_streamed_body_without_content_length_is_refused_once_past_the_limit(
    client: TestClient, project: Path
) -> None:
    record = {"id": "c1", "email": "x" * MAX_BODY}
    body, headers = signed("msg_1", record, START.timestamp())
    chunks = iter([body[:1000], body[1000:2000], body[2000:]])
    response = client.post(ACME, content=chunks, headers=headers)
    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413
    assert stored(project) == []
    small, headers = signed("msg_2", RECORD, START.timestamp())
    accepted = client.post(ACME, content=iter([small[:10], small[10:]]), headers=headers)
    assert accepted.status_code == 202


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/globex/acme-hooks/contacts",  # another tenant's integration
        "/hooks/acme/nobody/contacts",  # no such integration
        "/hooks/acme/acme-hooks/accounts",  # no such stream
        "/hooks/acme/acme-files/contacts",  # not the webhook connector
    ],
)
def test_an_address_that_names_no_webhook_stream_is_404_whichever_part_is_wrong(
    client: TestClient, project: Path, path: str
) -> None:
    response = post(client, path=path)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert stored(project) == []


def test_a_duplicate_delivery_is_answered_200_and_stored_once(
    client: TestClient, project: Path
) -> None:
    first = post(client)
    again = post(client, {**RECORD, "email": "changed@example.com"})
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "event": first.json()["event"]}
    (event,) = stored(project)
    assert json.loads(event.body) == RECORD


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"id": "c1", ', "the body is not valid JSON"),
        (b"", "the body is not valid JSON"),
        (b'{"id": NaN}', "the body is not valid JSON"),
        (b"[" * 1020 + b"]" * 1020, "the body is not valid JSON"),  # nested too deep
        (b'{"id": "\xff"}', "the body is not UTF-8 text"),
        (b'[{"id": "c1"}]', "the body must be one JSON object (one record), not an array"),
        (b'"c1"', "the body must be one JSON object (one record), not a JSON str"),
    ],
)
def test_a_body_that_is_not_one_json_object_is_refused_400(
    client: TestClient, project: Path, body: bytes, detail: str
) -> None:
    response = post(client, body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert stored(project) == []


def test_an_event_id_that_cannot_name_an_event_is_refused_400(client: TestClient) -> None:
    response = post(client, event_id="msg 1")
    assert response.status_code == 400
    assert response.json() == {"detail": "webhook-id must be printable ASCII without spaces"}


def test_only_post_is_served(client: TestClient) -> None:
    assert client.get(ACME).status_code == 405
    assert client.get("/docs").status_code == 404


def test_an_unreadable_secret_is_503_and_logged_as_an_error(
    project: Path, clock: FakeClock
) -> None:
    with (
        TestClient(create_app(project, clock=clock, environ={})) as client,
        capture_logs() as logs,
    ):
        response = post(client)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "this endpoint cannot verify deliveries now; try again later"
    }
    (entry,) = logs
    assert entry["log_level"] == "error"
    assert "ACME_HOOK_SECRET" in entry["reason"]
    assert stored(project) == []


def test_configuration_changes_apply_without_a_restart(client: TestClient, project: Path) -> None:
    assert post(client, path="/hooks/acme/acme-hooks2/contacts").status_code == 404
    text = (project / "integrations/acme/hooks.yaml").read_text(encoding="utf-8")
    (project / "integrations/acme/hooks2.yaml").write_text(
        text.replace("acme-hooks", "acme-hooks2"), encoding="utf-8"
    )
    assert post(client, path="/hooks/acme/acme-hooks2/contacts").status_code == 202


@pytest.mark.usefixtures("all_levels")
def test_refusals_are_logged_with_address_reason_and_remote_but_never_body_or_secret(
    client: TestClient,
) -> None:
    marker = "body-marker-zq7"
    record = {**RECORD, "email": marker}
    with capture_logs() as logs:
        post(client, record)  # stored
        post(client, record)  # duplicate
        post(client, record, event_id="msg_2", secret="whsec_b3RoZXIta2V5")  # bad signature
        post(client, record, path="/hooks/acme/nobody/contacts")  # unknown
        post(client, {"id": marker, "pad": "x" * MAX_BODY})  # too large
    text = repr(logs)
    assert marker not in text
    assert ACME_SECRET not in text
    assert ACME_SECRET.removeprefix("whsec_") not in text
    assert "signing-secret-of-acme" not in text
    assert [e["event"] for e in logs] == [
        "webhook delivery stored",
        "webhook delivery was a duplicate",
        "webhook delivery refused",
        "webhook delivery refused",
        "webhook delivery refused",
    ]
    refused = logs[2]
    assert {k: refused[k] for k in ("tenant", "integration", "stream", "status", "reason")} == {
        "tenant": "acme",
        "integration": "acme-hooks",
        "stream": "contacts",
        "status": 401,
        "reason": "no signature matches",
    }
    assert refused["remote"] == "testclient"
    assert logs[3]["reason"] == "no such integration"
    assert logs[4]["status"] == 413


def test_an_app_needs_a_project_that_loads(tmp_path: Path) -> None:
    (tmp_path / "isthmus.yaml").write_text("project: [broken\n", encoding="utf-8")
    with pytest.raises(ProjectError):
        create_app(tmp_path)


def test_the_project_validates_and_a_literal_signing_secret_does_not(project: Path) -> None:
    assert [d for d in validate_project(load_project(project)) if d.is_error] == []
    template = project / "templates/crm-events-1.0.0.yaml"
    template.write_text(
        template.read_text().replace("${secret:hook_secret}", "whsec_dG9wc2VjcmV0"),
        encoding="utf-8",
    )
    (error,) = [d for d in validate_project(load_project(project)) if d.is_error]
    assert error.code == "invalid-value"
    assert "signing_secret: must be a secret reference" in error.message
    assert "whsec_dG9wc2VjcmV0" not in error.message


def test_a_project_file_removed_while_serving_is_503_not_a_crash(
    client: TestClient, project: Path
) -> None:
    (project / "isthmus.yaml").unlink()
    response = post(client)
    assert response.status_code == 503
