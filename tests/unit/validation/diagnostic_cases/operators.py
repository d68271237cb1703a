"""Operator diagnostics of mapping expressions, at the operator or operand they name."""

from __future__ import annotations

from functools import partial

from support_diagnostics import Case, replace_in

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
LEAD_SCORE = "lead_score: to_float(LeadScore)"

CASES = [
    Case(
        "expression-syntax",
        partial(
            replace_in,
            relative=TEMPLATE,
            old=LEAD_SCORE,
            new="lead_score: to_float(LeadScore) if 0 < to_float(LeadScore) < 100 else None",
        ),
        TEMPLATE,
        # The second operator of the chain.
        "< 100",
        name="chained-comparison",
    ),
    Case(
        "type-mismatch",
        partial(
            replace_in,
            relative=TEMPLATE,
            old=LEAD_SCORE,
            new="lead_score: 1.0 if LeadScore > 50 else 0.0",
        ),
        TEMPLATE,
        "> 50",
        name="text-compared-with-a-number",
    ),
    Case(
        "type-mismatch",
        partial(
            replace_in,
            relative=TEMPLATE,
            old="opt_out: coalesce(OptOut, False)",
            new="opt_out: OptOut and Email",
        ),
        TEMPLATE,
        # The operand that is not a boolean.
        "and Email",
        offset=len("and "),
        name="and-on-text",
    ),
]
