"""Guardrails: each policy rule found, waived by an exception (active, expiring, expired,
scoped, stale), and turned off or tuned by the project's policy.

Every test starts from the bundled demo project, which breaks no rule, and changes one thing.
``today`` is fixed, so expiry does not depend on the day the tests run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.config.policy import Policy
from isthmus.demo import DemoProject
from isthmus.diagnostics import Diagnostic, Severity
from isthmus.validation import validate_project
from isthmus.validation.guardrails import (
    EXCEPTION_EXPIRING,
    RULES,
    STALE_EXCEPTION,
    exception_rows,
)
from isthmus.validation.guardrails.sync import shortest_cron_gap
from support import without_demo_guardrails

TODAY = dt.date(2026, 6, 1)
TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
API_TEMPLATE = "templates/crm-api-1.0.0.yaml"
ACME = "integrations/acme/crm.yaml"
GLOBEX = "integrations/globex/crm.yaml"
GUARDRAIL_CODES = {*RULES, STALE_EXCEPTION, EXCEPTION_EXPIRING}


@pytest.fixture
def root(demo: DemoProject) -> Path:
    return without_demo_guardrails(demo.root)


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{relative} should hold {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(root: Path, relative: str, text: str) -> None:
    with (root / relative).open("a", encoding="utf-8") as file:
        file.write(text)


def grant(
    root: Path,
    relative: str,
    rule: str,
    *,
    expires: str = "2026-12-31",
    scope: str | None = None,
) -> None:
    scoped = f", scope: {scope}" if scope else ""
    append(
        root,
        relative,
        f"exceptions:\n  - {{rule: {rule}, justification: the CRM is the source of truth, "
        f"approved_by: cto@example.com, expires: {expires}{scoped}}}\n",
    )


def guardrails(root: Path, today: dt.date = TODAY) -> list[Diagnostic]:
    found = validate_project(load_project(root), today=today)
    return [d for d in found if d.code in GUARDRAIL_CODES]


def where(diagnostic: Diagnostic, root: Path) -> str:
    location = diagnostic.location
    assert location is not None
    return f"{location.file.relative_to(root).as_posix()}:{location.line}"


def summary(found: list[Diagnostic], root: Path) -> list[tuple[str, str, str]]:
    return [(d.code, str(d.severity), where(d, root)) for d in found]


def test_the_demo_waives_its_one_violation_with_acmes_exception(demo: DemoProject) -> None:
    [note] = guardrails(demo.root)
    assert (note.code, note.severity) == ("schedule-min-interval", Severity.INFO)
    assert "waived for integration 'acme-crm'" in note.message


def test_the_demo_project_breaks_no_rule_of_the_default_policy(root: Path) -> None:
    assert guardrails(root) == []
    assert Policy().enabled("delete-propagation-requires-exception")
    assert not Policy().enabled("escalation-required")  # off by default (see policy.py)


# --- each rule, with and without an exception --------------------------------------------


def test_a_schedule_firing_more_often_than_the_minimum_is_an_error_unless_excepted(
    root: Path,
) -> None:
    edit(root, TEMPLATE, '"*/30 * * * *"', '"*/2 * * * *"')
    found = guardrails(root)
    assert [d.code for d in found] == ["schedule-min-interval"] * 2  # acme and globex
    assert found[0].message == (
        "sync.schedule '*/2 * * * *' fires every 2m, more often than the policy's minimum of "
        "5m: runs firing more often than the policy's minimum load the tenant's system and the "
        "core database for little fresher data; integration 'acme-crm' has no exception for "
        "rule schedule-min-interval"
    )
    assert found[0].hint == (
        "schedule it less often, or add under exceptions: {rule: schedule-min-interval, "
        "scope: sync.schedule, justification: ..., approved_by: ..., expires: YYYY-MM-DD}"
    )
    grant(root, ACME, "schedule-min-interval")
    found = guardrails(root)
    assert [(d.severity, d.message.split(";")[-1]) for d in found] == [
        (
            Severity.INFO,
            " waived for integration 'acme-crm' by the exception approved by cto@example.com "
            "until 2026-12-31: the CRM is the source of truth",
        ),
        (
            Severity.ERROR,
            " integration 'globex-crm' has no exception for rule schedule-min-interval",
        ),
    ]


def test_an_interval_shorter_than_the_minimum_is_an_error(root: Path) -> None:
    edit(root, TEMPLATE, 'schedule: "*/30 * * * *"', "interval: 1m")
    found = guardrails(root)
    assert [d.code for d in found] == ["schedule-min-interval"] * 2
    assert found[0].message.startswith(
        "sync.interval 1m is shorter than the policy's minimum of 5m: runs firing more often"
    )


def test_the_shortest_gap_of_a_cron_expression_is_measured_over_its_firings() -> None:
    assert shortest_cron_gap("*/30 * * * *") == dt.timedelta(minutes=30)
    assert shortest_cron_gap("0,2 9 * * *") == dt.timedelta(minutes=2)
    assert shortest_cron_gap("not cron") is None


def test_a_connector_the_policy_does_not_allow_is_an_error_unless_excepted(root: Path) -> None:
    append(root, "isthmus.yaml", "policy:\n  allowed-connectors: {connectors: [rest]}\n")
    found = guardrails(root)
    assert summary(found, root) == [
        ("allowed-connectors", "error", f"{TEMPLATE}:11"),
        ("allowed-connectors", "error", f"{TEMPLATE}:11"),
    ]
    assert found[0].message == (
        "source.connector is 'file', which the policy does not allow (allowed: rest): only "
        "connectors the policy allows have been reviewed for this project; integration "
        "'acme-crm' has no exception for rule allowed-connectors"
    )
    grant(root, ACME, "allowed-connectors")
    grant(root, GLOBEX, "allowed-connectors")
    assert {d.severity for d in guardrails(root)} == {Severity.INFO}


def test_an_override_the_template_does_not_allow_is_an_error_at_the_override(
    root: Path,
) -> None:
    append(root, ACME, "overrides:\n  sync: {batch_size: 100}\n")
    found = guardrails(root)
    assert summary(found, root) == [("override-not-allowed", "error", f"{ACME}:11")]
    assert found[0].message == (
        "integration 'acme-crm' overrides sync.batch_size, which template crm-contacts 2.1.0 "
        "does not make overridable (overridable: streams.*.path, sync.schedule, "
        "mappings.*.fields.*): a template's maintainers answer only for what they made "
        "overridable; integration 'acme-crm' has no exception for rule override-not-allowed"
    )
    grant(root, ACME, "override-not-allowed", scope="sync.batch_size")
    assert summary(guardrails(root), root) == [("override-not-allowed", "info", f"{ACME}:11")]


def test_an_allowed_override_breaks_no_rule(root: Path) -> None:
    append(root, ACME, "overrides:\n  sync: {schedule: '0 * * * *'}\n")
    assert guardrails(root) == []


def test_replace_mode_needs_an_exception_when_the_policy_turns_the_rule_on(root: Path) -> None:
    edit(
        root,
        TEMPLATE,
        "entity: account\n    read: full\n    write: upsert",
        "entity: account\n    read: full\n    write: replace",
    )
    assert guardrails(root) == []  # off in the default policy
    append(root, "isthmus.yaml", "policy:\n  replace-mode-requires-exception: true\n")
    found = guardrails(root)
    assert [d.code for d in found] == ["replace-mode-requires-exception"] * 2
    assert found[0].message.startswith(
        "mapping 'accounts' writes with replace: write: replace removes every row of the tenant"
    )
    grant(root, ACME, "replace-mode-requires-exception")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO, Severity.ERROR]


def test_delete_propagation_needs_an_exception_and_keeps_its_messages(root: Path) -> None:
    edit(
        root,
        TEMPLATE,
        "entity: account\n    read: full\n",
        "entity: account\n    read: full\n    deletes: hard\n",
    )
    found = guardrails(root)
    assert [d.code for d in found] == ["delete-propagation-requires-exception"] * 2
    assert found[0].message == (
        "mapping 'accounts' propagates deletes (hard): a run removes core rows the source no "
        "longer has, which an export that is only partial would wipe out; integration "
        "'acme-crm' has no exception for rule delete-propagation-requires-exception"
    )
    assert found[0].hint == (
        "set deletes: none, or add under exceptions: {rule: "
        "delete-propagation-requires-exception, scope: mappings.accounts.deletes, "
        "justification: ..., approved_by: ..., expires: YYYY-MM-DD}"
    )
    grant(root, ACME, "delete-propagation-requires-exception")
    grant(root, GLOBEX, "delete-propagation-requires-exception")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO] * 2


def test_an_override_raising_max_rejected_fraction_above_the_ceiling_is_an_error(
    root: Path,
) -> None:
    append(root, "isthmus.yaml", "policy:\n  override-not-allowed: false\n")
    append(root, ACME, "overrides:\n  sync: {max_rejected_fraction: 0.5}\n")
    found = guardrails(root)
    assert summary(found, root) == [("max-rejected-fraction-ceiling", "error", f"{ACME}:11")]
    assert found[0].message == (
        "integration 'acme-crm' raises sync.max_rejected_fraction to 0.5, above the policy's "
        "ceiling of 0.2: a run that rejects more than the ceiling hides a broken source behind "
        "a success; integration 'acme-crm' has no exception for rule "
        "max-rejected-fraction-ceiling"
    )
    grant(root, ACME, "max-rejected-fraction-ceiling")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO]


def test_the_policy_changes_the_ceiling(root: Path) -> None:
    append(
        root,
        "isthmus.yaml",
        "policy:\n  override-not-allowed: false\n  max-rejected-fraction-ceiling: {ceiling: 0.6}\n",
    )
    append(root, ACME, "overrides:\n  sync: {max_rejected_fraction: 0.5}\n")
    assert guardrails(root) == []


def test_a_pii_field_written_back_as_it_is_is_an_error_unless_excepted(root: Path) -> None:
    edit(root, API_TEMPLATE, "LeadScore: lead_score}", "LeadScore: lead_score, Mail: email}")
    found = guardrails(root)
    assert [d.code for d in found] == ["pii-must-be-masked"]
    assert found[0].message == (
        "write-back target 'contact_status' sends customer.email, marked pii, unmasked as Mail: "
        "personal data leaves the core product only transformed (hashed, masked), never as it "
        "is stored; integration 'initech-crm' has no exception for rule pii-must-be-masked"
    )
    grant(root, "integrations/initech/crm.yaml", "pii-must-be-masked")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO]


def test_a_pii_field_transformed_before_it_is_written_back_breaks_no_rule(root: Path) -> None:
    edit(root, API_TEMPLATE, "LeadScore: lead_score}", "LeadScore: lead_score, Mail: lower(email)}")
    assert guardrails(root) == []


def test_a_blank_owner_is_an_error_unless_excepted(root: Path) -> None:
    edit(root, ACME, "owner: {team: onboarding,", "owner: {team: ' ',")
    found = guardrails(root)
    assert summary(found, root) == [("owner-required", "error", f"{ACME}:5")]
    assert found[0].message == (
        "integration 'acme-crm' names no owning team or contact: someone must answer for an "
        "integration when it breaks; integration 'acme-crm' has no exception for rule "
        "owner-required"
    )
    grant(root, ACME, "owner-required")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO]


def test_no_escalation_step_is_an_error_when_the_policy_turns_the_rule_on(root: Path) -> None:
    edit(
        root,
        ACME,
        "escalation:\n  - {after: 1h, team: integrations-core, contact: oncall@example.com}\n",
        "escalation: []\n",
    )
    assert guardrails(root) == []
    append(root, "isthmus.yaml", "policy:\n  escalation-required: {enabled: true}\n")
    found = guardrails(root)
    assert summary(found, root) == [("escalation-required", "error", f"{ACME}:6")]
    assert found[0].message.startswith(
        "integration 'acme-crm' has no escalation step: an integration that stays unhealthy "
        "must reach someone who can act"
    )
    grant(root, ACME, "escalation-required")
    assert [d.severity for d in guardrails(root)] == [Severity.INFO]


# --- expiry, scope, stale exceptions, the policy -----------------------------------------


def deletes_on_both_mappings(root: Path) -> None:
    for entity in ("account", "customer"):
        edit(
            root,
            TEMPLATE,
            f"entity: {entity}\n    read: full\n",
            f"entity: {entity}\n    read: full\n    deletes: hard\n",
        )


def test_an_expired_exception_leaves_the_error_and_says_it_expired(root: Path) -> None:
    deletes_on_both_mappings(root)
    grant(root, ACME, "delete-propagation-requires-exception", expires="2026-05-31")
    errors = [d for d in guardrails(root) if d.severity is Severity.ERROR]
    assert len(errors) == 4  # both mappings, both integrations
    expired = [d for d in errors if "expired" in d.message]
    assert len(expired) == 2
    assert expired[0].message.endswith(
        "; the exception of integration 'acme-crm', approved by cto@example.com, expired "
        "on 2026-05-31"
    )
    assert (
        expired[0].hint
        == "renew the exception with a new expiry date and approver, or set deletes: none"
    )


def test_an_exception_expiring_within_14_days_waives_and_warns(root: Path) -> None:
    deletes_on_both_mappings(root)
    grant(root, ACME, "delete-propagation-requires-exception", expires="2026-06-11")
    found = [d for d in guardrails(root) if "'globex-crm'" not in d.message]
    assert summary(found, root) == [
        ("exception-expiring", "warning", f"{ACME}:11"),
        ("delete-propagation-requires-exception", "info", f"{TEMPLATE}:41"),
        ("delete-propagation-requires-exception", "info", f"{TEMPLATE}:52"),
    ]
    assert found[0].message == (
        "integration 'acme-crm': the exception for rule delete-propagation-requires-exception "
        "approved by cto@example.com expires on 2026-06-11 (in 10 day(s))"
    )
    far = guardrails(root, today=dt.date(2026, 5, 1))
    assert EXCEPTION_EXPIRING not in {d.code for d in far}


def test_a_scoped_exception_waives_only_the_violation_at_its_path(root: Path) -> None:
    deletes_on_both_mappings(root)
    grant(root, ACME, "delete-propagation-requires-exception", scope="mappings.accounts.deletes")
    acme = [d for d in guardrails(root) if "'acme-crm'" in d.message or d.severity is Severity.INFO]
    assert [(d.severity, d.message.split(":")[0]) for d in acme] == [
        (Severity.INFO, "mapping 'accounts' propagates deletes (hard)"),
        (Severity.ERROR, "mapping 'contacts' propagates deletes (hard)"),
    ]


def test_an_exception_that_matches_no_violation_is_a_stale_warning(root: Path) -> None:
    grant(root, ACME, "delete-propagation-requires-exception")
    found = guardrails(root)
    assert summary(found, root) == [(STALE_EXCEPTION, "warning", f"{ACME}:11")]
    assert found[0].message == (
        "integration 'acme-crm' holds an exception approved by cto@example.com that matches no "
        "violation: nothing in it breaks rule delete-propagation-requires-exception (or the "
        "policy turns it off)"
    )
    assert found[0].hint == "remove the exception"


def test_the_policy_turns_a_rule_off(root: Path) -> None:
    deletes_on_both_mappings(root)
    append(root, "isthmus.yaml", "policy:\n  delete-propagation-requires-exception: false\n")
    assert guardrails(root) == []


def test_the_policy_changes_a_parameter(root: Path) -> None:
    append(root, "isthmus.yaml", "policy:\n  schedule-min-interval: {min_interval: 1h}\n")
    found = guardrails(root)
    assert [d.code for d in found] == ["schedule-min-interval"] * 2
    assert "fires every 30m, more often than the policy's minimum of 1h" in found[0].message


def test_an_unknown_rule_in_the_policy_is_reported_at_the_key(root: Path) -> None:
    append(root, "isthmus.yaml", "policy:\n  no-such-rule: false\n")
    found = validate_project(load_project(root), today=TODAY)
    assert [d.code for d in found] == ["unknown-key"]


def test_exception_rows_list_status_days_left_and_use(root: Path) -> None:
    deletes_on_both_mappings(root)
    grant(root, ACME, "delete-propagation-requires-exception", expires="2026-06-11")
    grant(root, GLOBEX, "owner-required", expires="2026-05-01")
    rows = [r.to_dict() for r in exception_rows(load_project(root), TODAY)]
    assert [(r["tenant"], r["rule"], r["days_left"], r["status"], r["used"]) for r in rows] == [
        ("acme", "delete-propagation-requires-exception", 10, "expiring", True),
        ("globex", "owner-required", -31, "expired", False),
    ]
