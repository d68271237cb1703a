"""Runs through the engine that read the mock CRM over real HTTP (loopback only): whatever
the faults, the core database ends with exactly the generator's good rows, once."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from isthmus.config import load_project
from isthmus.demo.mockcrm import Faults, MockCrm
from isthmus.execution import RunSettings, run_integration
from isthmus.store import RunStatus, StateStore
from isthmus.testing import FakeClock
from support import sqlite_content

TOKEN_VARIABLE = "ACME_CRM_TOKEN"
TEMPLATE = """
template: crm-rest
version: 1.0.0
description: Accounts and contacts from a CRM's REST API, upserted by the CRM's ids.
owner: {team: integrations-core, contact: integrations@example.com}
source:
  connector: rest
  options:
    auth: {type: bearer, token: "${secret:crm_token}"}
    pagination: {style: cursor}
    timeout_s: 5
    retries: RETRIES
streams:
  accounts:
    path: /accounts
    record_selector: data
    primary_key: Id
    schema: {Id: string, Name: string, Industry: string, CreatedDate: string}
  contacts:
    path: /contacts
    record_selector: data
    params: {limit: 40}
    incremental: {param: updated_since, cursor_field: LastModifiedDate}
    primary_key: Id
    cursor: LastModifiedDate
    schema:
      Id: string
      FirstName: string
      LastName: string
      Email: string
      Phone: string
      Account: {Id: string, Name: string}
      CreatedDate: string
      LastModifiedDate: string
      LeadScore: string
      Status: string
      OptOut: boolean
mappings:
  accounts:
    stream: accounts
    entity: account
    fields:
      account_id: Id
      name: trim(Name)
      industry: Industry
      created_at: parse_timestamp(CreatedDate)
  contacts:
    stream: contacts
    entity: customer
    read: incremental
    fields:
      customer_id: Id
      full_name: "trim(concat(FirstName, ' ', LastName))"
      email: lower(trim(Email))
      phone: Phone
      account_id: Account.Id
      lead_score: to_float(LeadScore)
      status: >-
        lookup(trim(Status), {'active': 'active', 'customer': 'active',
        'inactive': 'inactive', 'prospect': 'prospect', 'lead': 'prospect',
        'churned': 'churned', 'former customer': 'churned'}, ignore_case=True)
      opt_out: coalesce(OptOut, False)
      created_at: parse_timestamp(CreatedDate)
      updated_at: parse_timestamp(LastModifiedDate)
    cursor_field: updated_at
sync: {max_rejected_fraction: 0.5, batch_size: 50, schema_drift: ignore}
"""
WRITEBACK = """
writeback:
  connector: rest
  options:
    auth: {type: bearer, token: "${secret:crm_token}"}
    timeout_s: 5
    retries: RETRIES
  targets:
    contacts_out:
      entity: customer
      read: incremental
      cursor_field: updated_at
      method: POST
      path: /contacts
      fields: {CoreId: customer_id, Email: email, FullName: full_name, Status: upper(status)}
"""
INTEGRATION = """
integration: acme-crm
tenant: acme
template: crm-rest@^1
owner: {team: onboarding, contact: onboarding@example.com}
connection:
  base_url: BASE_URL
  secrets: {crm_token: env:ACME_CRM_TOKEN}
"""


PII_EXCEPTION = """
exceptions:
  - rule: pii-must-be-masked
    justification: the CRM is where these e-mail addresses come from
    approved_by: privacy@example.com
    expires: 2099-12-31
"""


@pytest.fixture
def crm() -> Iterator[MockCrm]:
    with MockCrm(seed=11, accounts=15, contacts=230, bad_fraction=0.08, page_size=40) as server:
        yield server


def write_project(
    root: Path, crm: MockCrm, *, retries: int = 5, timeout_s: float = 5, writeback: bool = False
) -> Path:
    demo = resources.files("isthmus.demo") / "files"
    root.mkdir(parents=True, exist_ok=True)
    for name in ("isthmus.yaml", "core/account.yaml", "core/customer.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text((demo / name).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "templates").mkdir()
    (root / "integrations").mkdir()
    template = TEMPLATE + (WRITEBACK if writeback else "")
    template = template.replace("RETRIES", str(retries)).replace(
        "timeout_s: 5", f"timeout_s: {timeout_s}"
    )
    (root / "templates/crm-rest.yaml").write_text(template, encoding="utf-8")
    integration = INTEGRATION.replace("BASE_URL", json.dumps(crm.url))
    if writeback:  # it sends each customer's e-mail back as it is: a waived guardrail
        integration += PII_EXCEPTION
    (root / "integrations/acme.yaml").write_text(integration, encoding="utf-8")
    return root


def run(root: Path, clock: FakeClock | None = None, *, full: bool = False):  # type: ignore[no-untyped-def]
    settings = RunSettings(
        environ={TOKEN_VARIABLE: "mock-token"}, clock=clock or FakeClock(), full=full
    )
    return run_integration(load_project(root), "acme-crm", settings)


def run_attempts(report: Any) -> list[Any]:
    """The tries of the run's streams (not of its bookkeeping before them)."""
    return [a for a in report.attempts if a.scope == "run"]


def core_rows(root: Path) -> dict[str, list[tuple[object, ...]]]:
    return sqlite_content(root / ".isthmus/core.db")


def test_a_run_through_rate_limits_and_errors_loads_exactly_the_good_rows(
    crm: MockCrm, tmp_path: Path
) -> None:
    crm.set_faults(error_next=2, rate_limit_every=4, retry_after_s=3)
    clock = FakeClock()
    report = run(write_project(tmp_path, crm), clock)

    assert report.status is RunStatus.SUCCEEDED, report.error
    accounts, contacts = crm.report.accounts, crm.report.contacts
    assert accounts is not None
    assert contacts is not None
    by_name = {s.mapping: s for s in report.streams}
    assert (by_name["accounts"].records_read, by_name["accounts"].loaded) == (15, accounts.good)
    stream = by_name["contacts"]
    assert (stream.records_read, stream.loaded, stream.rejected) == (
        contacts.records,
        contacts.good,
        contacts.total_spoiled,
    )
    assert stream.inserted == contacts.distinct_good_ids
    rows = core_rows(tmp_path)
    assert len(rows["customer"]) == contacts.distinct_good_ids
    assert len(rows["account"]) == accounts.good
    assert clock.sleeps.count(3.0) == Counter(r.status for r in crm.requests)[429]
    assert len(run_attempts(report)) == 1  # the connector's retries were enough
    # The run's record says what the API put it through, stream by stream.
    statuses = Counter(r.status for r in crm.requests)
    notes = (report.note or "").split("; ")
    by_stream = {n.split(":")[0]: n for n in notes if n.startswith("stream ")}
    retried = sum(int(n) for n in re.findall(r"\((?:429|503): (\d+)", report.note or ""))
    retried += sum(int(n) for n in re.findall(r", (?:429|503): (\d+)", report.note or ""))
    assert retried == statuses[429] + statuses[503]
    assert set(by_stream) <= {"stream accounts", "stream contacts"}
    assert re.fullmatch(
        r"stream contacts: the API: \d+ of \d+ requests retried \(429: \d+(, 503: \d+)?\)",
        by_stream["stream contacts"],
    ), by_stream


def test_repeated_records_and_a_second_incremental_run_change_nothing(
    crm: MockCrm, tmp_path: Path
) -> None:
    root = write_project(tmp_path, crm)
    crm.set_faults(repeat_last=True)
    first = run(root)
    assert first.status is RunStatus.SUCCEEDED, first.error
    contacts = crm.report.contacts
    assert contacts is not None
    pages = -(-contacts.records // 40)
    stream = next(s for s in first.streams if s.mapping == "contacts")
    assert stream.records_read == contacts.records + pages - 1
    rows = core_rows(root)
    assert len(rows["customer"]) == contacts.distinct_good_ids

    store = StateStore.open(f"sqlite:///{root / '.isthmus/state.db'}")
    try:
        [checkpoint] = [
            t for s, (t, *_) in store.checkpoints_of("acme-crm").items() if s == "contacts"
        ]
    finally:
        store.close()
    crm.set_faults(Faults())
    second = run(root)
    assert second.status is RunStatus.SUCCEEDED, second.error
    newest = [r for r in crm.requests if r.query.get("updated_since")]
    assert {r.query["updated_since"] for r in newest} == {checkpoint["cursor"]}
    stream = next(s for s in second.streams if s.mapping == "contacts")
    assert 1 <= stream.records_read < 5  # only the newest contact(s) came again
    again = core_rows(root)
    assert (again["customer"], again["account"]) == (rows["customer"], rows["account"])


def test_a_run_whose_connector_gives_up_is_retried_by_the_engine(
    crm: MockCrm, tmp_path: Path
) -> None:
    root = write_project(tmp_path, crm, retries=2)
    crm.set_faults(error_next=3)  # two 503s end the first try; the second try gets one
    report = run(root)
    assert report.status is RunStatus.SUCCEEDED, report.error
    attempts = run_attempts(report)
    assert len(attempts) == 2
    assert attempts[0].error_class == "transient"
    contacts = crm.report.contacts
    assert contacts is not None
    assert len(core_rows(root)["customer"]) == contacts.distinct_good_ids


def test_bad_credentials_fail_the_run_at_once_naming_the_secret(
    crm: MockCrm, tmp_path: Path
) -> None:
    root = write_project(tmp_path, crm)
    settings = RunSettings(environ={TOKEN_VARIABLE: "wrong-token"}, clock=FakeClock())
    report = run_integration(load_project(root), "acme-crm", settings)
    assert report.status is RunStatus.FAILED
    assert report.error_class == "auth"
    assert report.hint == "check the credentials of secret crm_token"
    assert len(run_attempts(report)) == 1
    assert len(crm.requests) == 1
    assert "wrong-token" not in (report.error or "")
    assert core_rows(root).get("customer", []) == []


FAULTS = {
    "429 with Retry-After": Faults(rate_limit_next=3, retry_after_s=2),
    "429 as an HTTP date": Faults(rate_limit_every=5, retry_after_format="http_date"),
    "a burst of 500": Faults(error_next=3, error_status=500),
    "a burst of 503": Faults(error_next=4, error_status=503),
    "responses slower than the timeout": Faults(slow_next=2, slow_s=0.4),
    "records repeated across pages": Faults(repeat_last=True),
}


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_every_fault_still_loads_exactly_the_right_rows_once(
    crm: MockCrm, tmp_path: Path, faults: Faults
) -> None:
    reference = run(write_project(tmp_path / "reference", crm))  # no faults
    assert reference.status is RunStatus.SUCCEEDED, reference.error
    root = write_project(tmp_path / "faulty", crm, timeout_s=0.2)
    crm.set_faults(faults)
    report = run(root)
    assert report.status is RunStatus.SUCCEEDED, report.error
    accounts, contacts = crm.report.accounts, crm.report.contacts
    assert accounts is not None
    assert contacts is not None
    stream = next(s for s in report.streams if s.mapping == "contacts")
    assert (stream.loaded, stream.rejected, stream.inserted) == (
        stream.records_read - contacts.total_spoiled,
        contacts.total_spoiled,
        contacts.distinct_good_ids,
    )
    rows = core_rows(root)
    assert len(rows["account"]) == accounts.good
    assert len(rows["customer"]) == contacts.distinct_good_ids
    expected = core_rows(tmp_path / "reference")
    assert (rows["customer"], rows["account"]) == (expected["customer"], expected["account"])


def test_a_malformed_page_fails_the_run_naming_the_page_and_loads_nothing(
    crm: MockCrm, tmp_path: Path
) -> None:
    root = write_project(tmp_path, crm)
    crm.set_faults(malformed_page=3)
    report = run(root)
    assert report.status is RunStatus.FAILED
    assert report.error is not None
    assert re.fullmatch(
        r"stream contacts: page 3 \(GET http://127\.0\.0\.1:\d+/contacts\?limit=40&cursor=\S+\) "
        r"is not valid JSON \(Expecting value at character \d+\)",
        report.error,
    ), report.error
    assert report.hint == "the API sent a broken page; if it persists, report it to the API's owner"
    assert core_rows(root).get("customer", []) == []  # the run's scope rolled back


def test_write_back_survives_lost_replies_and_a_retried_try_without_duplicates(
    crm: MockCrm, tmp_path: Path
) -> None:
    # The first write is stored but its reply is lost twice: the connector (2 tries) gives
    # up, the engine tries the write-back again, and the far side recognises the record.
    root = write_project(tmp_path, crm, retries=2, writeback=True)
    crm.set_faults(lost_write_replies=2)
    report = run(root)
    assert report.status is RunStatus.SUCCEEDED, report.error
    customers = sorted(r[1] for r in core_rows(root)["customer"])
    out = next(s for s in report.streams if s.mapping == "contacts_out")
    assert (out.records_read, out.loaded, out.rejected) == (len(customers), len(customers), 0)
    assert out.inserted == len(customers) - 1  # the first record was created by the failed try
    assert report.note == (
        "write-back contacts_out: the API: 1 of 2 requests retried (503: 1); "
        "write-back contacts_out: 1 of the records delivered the external system had received "
        "before (it recognised their idempotency keys and did not store them again)"
    )
    tries = [a for a in report.attempts if a.scope == "writeback contacts_out"]
    assert [a.error_class for a in tries] == ["transient", None]
    assert sorted(c["CoreId"] for c in crm.created) == customers  # each contact once
    assert sum(w.replayed for w in crm.received) == 2

    again = run(root)  # nothing changed: nothing is sent
    assert next(s for s in again.streams if s.mapping == "contacts_out").records_read == 0
    full = run(root, full=True)  # everything is sent again, and recognised
    out = next(s for s in full.streams if s.mapping == "contacts_out")
    assert (out.loaded, out.inserted, out.updated) == (len(customers), 0, 0)
    assert sorted(c["CoreId"] for c in crm.created) == customers
