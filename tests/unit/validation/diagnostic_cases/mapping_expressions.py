"""Diagnostic codes of mapping expressions (parsing, names, calls, types) and of the source
schema they read."""

from __future__ import annotations

from functools import partial

from support_diagnostics import Case, replace_in

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"

CASES = [
    Case(
        "unknown-function",
        partial(replace_in, relative=TEMPLATE, old="name: trim(Name)", new="name: trmi(Name)"),
        TEMPLATE,
        "trmi(Name)",
    ),
    Case(
        "bad-arguments",
        partial(
            replace_in, relative=TEMPLATE, old="name: trim(Name)", new="name: trim(Name, Name)"
        ),
        TEMPLATE,
        # The argument too many.
        "trim(Name, Name)",
        offset=len("trim(Name, "),
    ),
    Case(
        "expression-syntax",
        partial(replace_in, relative=TEMPLATE, old="name: trim(Name)", new="name: Name[0]"),
        TEMPLATE,
        "Name[0]",
    ),
    Case(
        "type-mismatch",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="lead_score: to_float(LeadScore)",
            new="lead_score: LeadScore",
        ),
        TEMPLATE,
        "lead_score: LeadScore",
        offset=len("lead_score: "),
    ),
    Case(
        "undeclared-source-field",
        partial(replace_in, relative=TEMPLATE, old="industry: Industry", new="industry: Industri"),
        TEMPLATE,
        "Industri",
    ),
    Case(
        "unsupported-type",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="      OptOut: boolean\n",
            new="      OptOut: boolean\n      Birthday: date\n",
        ),
        TEMPLATE,
        "schema:\n      Id: string\n      FirstName",
        offset=len("schema:\n      "),
    ),
]
