"""Diagnostic codes of the static checks beyond types: values a field can never hold, keys that
may be null, lossy conversions, references nothing writes, duplicate mappings, stream cursors."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from isthmus.diagnostics import Severity
from support_diagnostics import Case, append_to, replace_in

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
CUSTOMER = "core/customer.yaml"
ACME = "integrations/acme/crm.yaml"
ACCOUNTS_MAPPING = """  accounts:
    stream: accounts
    entity: account
    read: full
    write: upsert
    fields:
      account_id: Id
      name: trim(Name)
      industry: Industry
      created_at: parse_timestamp(CreatedDate)
"""
# The copy's first field key: the duplicate is reported there.
SECOND_MAPPING_KEY = (
    "contacts_again:\n    stream: contacts\n    entity: customer\n    read: full\n"
    "    write: upsert\n    fields:\n      customer_id"
)


def _integer_rank_from_a_float(root: Path) -> None:
    replace_in(root, CUSTOMER, "  opt_out:", "  rank: {type: integer}\n  opt_out:")
    replace_in(root, TEMPLATE, "      opt_out:", "      rank: to_float(LeadScore)\n      opt_out:")


def _second_contacts_mapping(root: Path) -> None:
    """A copy of the contacts mapping under another name, inserted after it."""
    path = root / TEMPLATE
    text = path.read_text(encoding="utf-8")
    start, end = text.index("  contacts:\n    stream: contacts\n"), text.index("sync:\n")
    copy = text[start:end].replace("  contacts:\n", "  contacts_again:\n", 1)
    path.write_text(text[:end] + copy + text[end:], encoding="utf-8")


CASES = [
    Case(
        "value-not-in-enum",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="'former customer': 'churned'}",
            new="'former customer': 'closed'}",
        ),
        TEMPLATE,
        "'closed'",
        name="lookup-value",
    ),
    Case(
        "value-not-in-enum",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="ignore_case=True)\n      opt_out",
            new="default='unknown')\n      opt_out",
        ),
        TEMPLATE,
        "'unknown'",
        name="lookup-default",
    ),
    Case(
        "constant-violates-constraint",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="email: lower(trim(Email))",
            new="email: concat('no', 'body')",
        ),
        TEMPLATE,
        "concat('no', 'body')",
    ),
    Case(
        "key-may-be-null",
        partial(replace_in, relative=TEMPLATE, old="customer_id: Id", new="customer_id: Email"),
        TEMPLATE,
        "customer_id: Email",
        offset=len("customer_id: "),
        severity=Severity.WARNING,
    ),
    Case(
        "lossy-conversion",
        _integer_rank_from_a_float,
        TEMPLATE,
        "rank: to_float(LeadScore)",
        offset=len("rank: "),
        severity=Severity.WARNING,
    ),
    Case(
        "reference-target-unwritten",
        partial(replace_in, relative=TEMPLATE, old=ACCOUNTS_MAPPING, new=""),
        TEMPLATE,
        "account_id: Account.Id",
        offset=len("account_id: "),
    ),
    Case(
        "unknown-entity",
        partial(
            replace_in, relative=TEMPLATE, old="\nsync:\n", new="\npreexisting: [acount]\nsync:\n"
        ),
        TEMPLATE,
        "acount",
        name="preexisting",
    ),
    Case(
        "duplicate-mapping",
        _second_contacts_mapping,
        TEMPLATE,
        SECOND_MAPPING_KEY,
        offset=len(SECOND_MAPPING_KEY) - len("customer_id"),
    ),
    Case(
        "undeclared-source-field",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="cursor: LastModifiedDate",
            new="cursor: LastModified",
        ),
        TEMPLATE,
        "cursor: LastModified\n",
        offset=len("cursor: "),
        name="stream-cursor",
    ),
    Case(
        "duplicate-key",
        partial(
            append_to,
            relative=ACME,
            text="overrides:\n  mappings:\n    contacts:\n      fields:\n"
            "        phone: Phone\n        phone: trim(Phone)\n",
        ),
        ACME,
        "phone: trim(Phone)",
        name="fields-block",
    ),
]
