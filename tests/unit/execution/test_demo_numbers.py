"""The demo's runs find exactly what its data generator spoiled: no more, no less."""

from __future__ import annotations

from collections import Counter

import pytest

from isthmus.config import load_project
from isthmus.demo import DemoProject
from isthmus.execution import RunSettings, run_integration
from isthmus.store import RunStatus
from support import sqlite_content

# Each kind of spoiled contact, and the rule and core field that must reject it.
CONTACT_RULES = {
    "missing_email": ("required", "email"),
    "invalid_email": ("pattern", "email"),
    "invalid_created_at": ("parse_timestamp", "created_at"),
    "invalid_updated_at": ("parse_timestamp", "updated_at"),
    "missing_status": ("required", "status"),
    "unknown_status": ("lookup", "status"),
    "invalid_lead_score": ("to_float", "lead_score"),
    "lead_score_below_min": ("min", "lead_score"),
    "lead_score_above_max": ("max", "lead_score"),
    "unknown_account": ("reference", "account_id"),
    "malformed": ("malformed", None),
}


def expected_reasons(data) -> Counter[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    expected: Counter[tuple[str, str | None]] = Counter()
    for kind, rule in CONTACT_RULES.items():
        expected[rule] += data.contacts.spoiled.get(kind, 0)
    expected[("required", "name")] += data.accounts.spoiled["missing_name"]
    return +expected


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_each_tenant_run_rejects_exactly_what_the_generator_spoiled(
    demo: DemoProject, tenant: str
) -> None:
    data = next(d for d in demo.data if d.tenant.tenant == tenant)
    assert data.contacts.total_spoiled > 0
    assert data.accounts.total_spoiled > 0
    report = run_integration(load_project(demo.root), data.tenant.integration, RunSettings())

    assert report.status is RunStatus.SUCCEEDED
    accounts, contacts = report.streams
    assert (accounts.mapping, contacts.mapping) == ("accounts", "contacts")
    assert (accounts.records_read, accounts.loaded, accounts.rejected, accounts.skipped) == (
        data.accounts.records,
        data.accounts.good,
        data.accounts.total_spoiled,
        0,
    )
    assert (contacts.records_read, contacts.loaded, contacts.rejected, contacts.skipped) == (
        data.contacts.records,
        data.contacts.good,
        data.contacts.total_spoiled,
        0,
    )
    assert contacts.inserted == data.contacts.distinct_good_ids
    assert contacts.updated == data.contacts.good - data.contacts.distinct_good_ids
    found = Counter({(r.rule, r.field): r.count for r in report.reasons})
    assert found == expected_reasons(data)

    core = sqlite_content(demo.root / ".isthmus/core.db")
    assert sum(1 for row in core["customer"] if row[0] == tenant) == (
        data.contacts.distinct_good_ids
    )
    assert sum(1 for row in core["account"] if row[0] == tenant) == data.accounts.good


def test_the_demo_uses_every_kind_of_spoiled_record(demo: DemoProject) -> None:
    for data in demo.data:
        kinds = {k for k, n in data.contacts.spoiled.items() if n > 0}
        assert set(CONTACT_RULES) - kinds == set(), data.tenant.tenant
