"""Diagnostic codes of guardrails: a rule of the policy broken without an exception, and
exceptions that expire soon or match nothing.

The base project has no ``policy:``, so every rule is on at its default (replace mode and
escalation off); a case appends the policy it needs to isthmus.yaml.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from isthmus.diagnostics import Severity
from support_diagnostics import Case, append_to, replace_in

SETTINGS = "isthmus.yaml"
ACME = "integrations/acme/crm.yaml"
INITECH = "integrations/initech/crm.yaml"
API = "templates/crm-api-1.0.0.yaml"
# The API template's accounts mapping, and its sync section.
API_ACCOUNTS = "entity: account\n    read: full\n    write: upsert\n"
API_SYNC = "sync:\n  max_rejected_fraction: 0.1\n"
EVERY_TWO_MINUTES = 'sync:\n  schedule: "*/2 * * * *"\n  max_rejected_fraction: 0.1\n'
IN_A_WEEK = dt.date.today() + dt.timedelta(days=7)


def _policy(root: Path, rules: str) -> None:
    append_to(root, SETTINGS, f"policy:\n{rules}")


def _exception(root: Path, relative: str, entry: str) -> None:
    append_to(root, relative, f"exceptions:\n  - {entry}\n")


def _allowed_connectors(root: Path) -> None:
    # Initech's REST source breaks the rule; its REST write-back is excepted, so only the
    # source is an error (the excepted one is a note).
    _policy(root, "  allowed-connectors: {connectors: [file]}\n")
    _exception(
        root,
        INITECH,
        "{rule: allowed-connectors, scope: writeback.connector, justification: reviewed, "
        "approved_by: cto@example.com, expires: 2099-12-31}",
    )


def _replace_mode(root: Path) -> None:
    _policy(root, "  replace-mode-requires-exception: true\n")
    replace_in(root, API, API_ACCOUNTS, API_ACCOUNTS.replace("upsert", "replace"))


def _ceiling(root: Path) -> None:
    _policy(root, "  override-not-allowed: false\n")
    append_to(root, INITECH, "overrides:\n  sync: {max_rejected_fraction: 0.5}\n")


def _escalation(root: Path) -> None:
    _policy(root, "  escalation-required: true\n")
    replace_in(
        root,
        ACME,
        "escalation:\n  - {after: 1h, team: integrations-core, contact: oncall@example.com}\n",
        "escalation: []\n",
    )


def _expiring(root: Path) -> None:
    replace_in(root, API, API_SYNC, EVERY_TWO_MINUTES)
    _exception(
        root,
        INITECH,
        "{rule: schedule-min-interval, justification: a contract, "
        f"approved_by: cto@example.com, expires: {IN_A_WEEK}}}",
    )


CASES = [
    Case(
        "schedule-min-interval",
        partial(replace_in, relative=API, old=API_SYNC, new=EVERY_TWO_MINUTES),
        API,
        '"*/2 * * * *"',
    ),
    Case(
        "allowed-connectors",
        _allowed_connectors,
        API,
        "source:\n  connector: rest",
        offset=len("source:\n  connector: "),
    ),
    Case(
        "override-not-allowed",
        partial(append_to, relative=ACME, text="overrides:\n  sync: {batch_size: 100}\n"),
        ACME,
        "batch_size: 100",
    ),
    Case("replace-mode-requires-exception", _replace_mode, API, "write: replace", offset=7),
    Case(
        "delete-propagation-requires-exception",
        partial(
            replace_in, relative=API, old=API_ACCOUNTS, new=f"{API_ACCOUNTS}    deletes: hard\n"
        ),
        API,
        "deletes: hard",
        offset=len("deletes: "),
    ),
    Case("max-rejected-fraction-ceiling", _ceiling, INITECH, "0.5"),
    Case(
        "pii-must-be-masked",
        partial(
            replace_in,
            relative=API,
            old="LeadScore: lead_score}",
            new="LeadScore: lead_score, Email: email}",
        ),
        API,
        "Email: email}",
        offset=len("Email: "),
    ),
    Case(
        "owner-required",
        partial(
            replace_in, relative=ACME, old="owner: {team: onboarding,", new="owner: {team: ' ',"
        ),
        ACME,
        "owner:",
    ),
    Case("escalation-required", _escalation, ACME, "escalation:"),
    Case(
        "exception-expiring",
        _expiring,
        INITECH,
        "- {rule: schedule-min-interval",
        offset=2,
        severity=Severity.WARNING,
    ),
    Case(
        "stale-exception",
        partial(
            _exception,
            relative=ACME,
            entry="{rule: owner-required, justification: none, approved_by: cto@example.com, "
            "expires: 2099-12-31}",
        ),
        ACME,
        "{rule: owner-required",
        severity=Severity.WARNING,
    ),
]
