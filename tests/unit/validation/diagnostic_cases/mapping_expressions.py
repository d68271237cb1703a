"""Diagnostic codes of mapping expressions (parsing, names, calls, types)."""

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
]
