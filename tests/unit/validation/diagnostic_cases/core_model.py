"""Diagnostic codes of the core model: keys, constraints, references, and mappings that fill
entities."""

from __future__ import annotations

from functools import partial

from support_diagnostics import Case, replace_in

ACCOUNT = "core/account.yaml"
CUSTOMER = "core/customer.yaml"
CONTACTS = "templates/crm-contacts-2.1.0.yaml"

CASES = [
    Case(
        "unknown-core-field",
        partial(replace_in, relative=CONTACTS, old="industry: Industry", new="industri: Industry"),
        CONTACTS,
        "industri: Industry",
    ),
    Case(
        "tenant-key-mapped",
        partial(
            replace_in,
            relative=CONTACTS,
            old="      industry: Industry\n",
            new="      industry: Industry\n      tenant_id: Id\n",
        ),
        CONTACTS,
        "tenant_id: Id",
    ),
    Case(
        "tenant-key-not-in-primary-key",
        partial(
            replace_in,
            relative=ACCOUNT,
            old="primary_key: [tenant_id, account_id]",
            new="primary_key: [account_id]",
        ),
        ACCOUNT,
        "[account_id]",
    ),
    Case(
        "required-field-unmapped",
        partial(replace_in, relative=CONTACTS, old="      name: trim(Name)\n", new=""),
        CONTACTS,
        "fields:\n      account_id: Id\n",
    ),
    Case(
        "constraint-type-mismatch",
        partial(
            replace_in,
            relative=CUSTOMER,
            old="opt_out: {type: boolean, required: true",
            new="opt_out: {type: boolean, min: 0, required: true",
        ),
        CUSTOMER,
        "min: 0, required",
    ),
    Case(
        "unknown-reference",
        partial(
            replace_in,
            relative=CUSTOMER,
            old="references: account.account_id",
            new="references: account.acount_id",
        ),
        CUSTOMER,
        "account.acount_id",
    ),
    Case(
        "type-mismatch",
        partial(
            replace_in,
            relative=CUSTOMER,
            old="  lead_score:",
            new="  partner_id: {type: integer, references: account.account_id}\n  lead_score:",
        ),
        CUSTOMER,
        "account.account_id}",
        name="reference",
    ),
    Case(
        "reference-cycle",
        partial(
            replace_in,
            relative=ACCOUNT,
            old="  industry: {type: string,",
            new="  owner_id: {type: string, references: customer.customer_id}\n"
            "  industry: {type: string,",
        ),
        ACCOUNT,
        "entity: account",
        offset=len("entity: "),
    ),
]
