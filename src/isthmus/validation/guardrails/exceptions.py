"""Turn guardrail violations into diagnostics, applying the integration's exceptions.

A violation is an error, unless an exception names its rule, has not expired (``expires`` is
the last valid day) and, when it has a ``scope``, the scope is the violation's path or a path
above it: then it is an info note. An expired exception leaves the error and says so; one
expiring within ``EXPIRY_WARNING_DAYS`` adds a warning; one that matches no violation is the
warning ``stale-exception``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from isthmus.config.documents import Document
from isthmus.config.models import ExceptionGrant, Integration
from isthmus.diagnostics import Diagnostic, Location, Severity
from isthmus.validation.guardrails.rules import RULES, Violation, path_matches

EXPIRY_WARNING_DAYS = 14
STALE_EXCEPTION = "stale-exception"
EXCEPTION_EXPIRING = "exception-expiring"


def grant_matches(grant: ExceptionGrant, violation: Violation) -> bool:
    return grant.rule == violation.rule.id and (
        grant.scope is None or path_matches(grant.scope, violation.path)
    )


def exception_status(grant: ExceptionGrant, today: dt.date) -> str:
    """active, expiring (valid, but for at most EXPIRY_WARNING_DAYS more days) or expired."""
    left = (grant.expires - today).days
    if left < 0:
        return "expired"
    return "expiring" if left <= EXPIRY_WARNING_DAYS else "active"


@dataclass(frozen=True)
class Judged:
    diagnostics: list[Diagnostic]
    used: list[bool]  # per exception of the integration: whether it matches a violation


def judge(
    integration: Integration, document: Document, violations: list[Violation], today: dt.date
) -> Judged:
    grants = integration.exceptions
    used = [False] * len(grants)
    found: list[Diagnostic] = []
    for violation in violations:
        matching = [i for i, g in enumerate(grants) if grant_matches(g, violation)]
        for i in matching:
            used[i] = True
        valid = [i for i in matching if grants[i].expires >= today]
        if valid:
            found.append(_waived(integration, violation, grants[valid[0]]))
        else:
            found.append(_error(integration, violation, [grants[i] for i in matching]))
    for i, grant in enumerate(grants):
        where = document.location(("exceptions", i))
        status = exception_status(grant, today)
        if not used[i]:
            found.append(_stale(integration, grant, where))
        elif status == "expiring":
            left = (grant.expires - today).days
            found.append(
                Diagnostic(
                    EXCEPTION_EXPIRING,
                    f"integration {integration.integration!r}: the exception for rule "
                    f"{grant.rule} approved by {grant.approved_by} expires on {grant.expires} "
                    f"(in {left} day(s))",
                    where,
                    hint="renew it with a new expiry date and approver, or fix the violation",
                    severity=Severity.WARNING,
                )
            )
    return Judged(found, used)


def _waived(integration: Integration, violation: Violation, grant: ExceptionGrant) -> Diagnostic:
    return Diagnostic(
        violation.rule.id,
        f"{violation.message}; waived for integration {integration.integration!r} by the "
        f"exception approved by {grant.approved_by} "
        f"until {grant.expires}: {grant.justification}",
        violation.location,
        severity=Severity.INFO,
    )


def _error(
    integration: Integration, violation: Violation, expired: list[ExceptionGrant]
) -> Diagnostic:
    rule = violation.rule
    if expired:
        last = max(expired, key=lambda g: g.expires)
        return Diagnostic(
            rule.id,
            f"{violation.message}; the exception of integration {integration.integration!r}, "
            f"approved by {last.approved_by}, expired on {last.expires}",
            violation.location,
            hint=f"renew the exception with a new expiry date and approver, or {rule.fix}",
        )
    return Diagnostic(
        rule.id,
        f"{violation.message}; integration {integration.integration!r} has no exception for "
        f"rule {rule.id}",
        violation.location,
        hint=f"{rule.fix}, or add under exceptions: {exception_entry(violation)}",
    )


def exception_entry(violation: Violation) -> str:
    """The exact ``exceptions:`` entry that would waive ``violation``."""
    return (
        f"{{rule: {violation.rule.id}, scope: {violation.path}, justification: ..., "
        "approved_by: ..., expires: YYYY-MM-DD}"
    )


def _stale(integration: Integration, grant: ExceptionGrant, where: Location) -> Diagnostic:
    if grant.rule not in RULES:
        why = f"{grant.rule} is not a guardrail rule (rules: {', '.join(RULES)})"
    else:
        scope = f" at {grant.scope}" if grant.scope else ""
        why = f"nothing in it breaks rule {grant.rule}{scope} (or the policy turns it off)"
    return Diagnostic(
        STALE_EXCEPTION,
        f"integration {integration.integration!r} holds an exception approved by "
        f"{grant.approved_by} that matches no violation: {why}",
        where,
        hint="remove the exception",
        severity=Severity.WARNING,
    )
