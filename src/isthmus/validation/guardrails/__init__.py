"""Guardrails: rules from the project's policy that a configuration may break only with an
approved, expiring exception on the integration.

Each rule is a small function of a resolved integration returning its violations
(``rules.Violation``); ``exceptions.judge`` turns them into diagnostics, applying the
integration's exceptions. The rule ids, why each exists and its fix are in ``rules.RULES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from isthmus.config.models import Entity
from isthmus.config.policy import Policy
from isthmus.config.project import Project
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.diagnostics import Diagnostic
from isthmus.validation.guardrails import custom_calls, integrations, mappings, sync
from isthmus.validation.guardrails.exceptions import (
    EXCEPTION_EXPIRING,
    STALE_EXCEPTION,
    exception_status,
    judge,
)
from isthmus.validation.guardrails.rules import RULES, Rule, Violation

__all__ = [
    "EXCEPTION_EXPIRING",
    "RULES",
    "STALE_EXCEPTION",
    "ExceptionRow",
    "Rule",
    "Violation",
    "check_guardrails",
    "exception_rows",
    "find_violations",
    "project_policy",
]

Check = Callable[[ResolvedIntegration, Policy, dict[str, Entity]], list[Violation]]

CHECKS: dict[str, Check] = {
    "schedule-min-interval": lambda r, p, e: sync.schedule_min_interval(r, p),
    "allowed-connectors": lambda r, p, e: integrations.allowed_connectors(r, p),
    "override-not-allowed": lambda r, p, e: integrations.override_not_allowed(r),
    "replace-mode-requires-exception": lambda r, p, e: mappings.replace_mode(r),
    "delete-propagation-requires-exception": lambda r, p, e: mappings.delete_propagation(r),
    "max-rejected-fraction-ceiling": lambda r, p, e: sync.rejected_fraction_ceiling(r, p),
    "pii-must-be-masked": lambda r, p, e: mappings.pii_masked(r, e),
    "owner-required": lambda r, p, e: integrations.owner_required(r),
    "escalation-required": lambda r, p, e: integrations.escalation_required(r),
    "custom-function-requires-exception": lambda r, p, e: custom_calls.custom_function_calls(r),
}


def project_policy(project: Project) -> Policy:
    """The policy of ``isthmus.yaml``; the default policy when it has none (or did not load)."""
    return project.settings.model.policy if project.settings is not None else Policy()


def find_violations(project: Project, resolved: ResolvedIntegration) -> list[Violation]:
    """Every violation of the rules the project's policy has in force."""
    policy = project_policy(project)
    entities = {name: loaded.model for name, loaded in project.entities.items()}
    found: list[Violation] = []
    for rule_id, check in CHECKS.items():
        if policy.enabled(rule_id):
            found += check(resolved, policy, entities)
    return found


def check_guardrails(
    project: Project, resolved: ResolvedIntegration, today: dt.date
) -> list[Diagnostic]:
    """The integration's violations as diagnostics, with its exceptions applied."""
    violations = find_violations(project, resolved)
    return judge(resolved.integration, resolved.integration_document, violations, today).diagnostics


@dataclass(frozen=True)
class ExceptionRow:
    """One exception of the project, for ``isthmus exceptions``."""

    tenant: str
    integration: str
    rule: str
    scope: str | None
    approved_by: str
    justification: str
    expires: dt.date
    days_left: int
    status: str  # active, expiring or expired
    used: bool | None  # whether it matches a violation; None when the integration does not resolve

    def to_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "integration": self.integration,
            "rule": self.rule,
            "scope": self.scope,
            "approved_by": self.approved_by,
            "justification": self.justification,
            "expires": self.expires.isoformat(),
            "days_left": self.days_left,
            "status": self.status,
            "used": self.used,
        }


def exception_rows(project: Project, today: dt.date) -> list[ExceptionRow]:
    """Every exception of every integration of the project, by tenant and integration."""
    rows = []
    for name in sorted(project.integrations):
        loaded = project.integrations[name]
        integration = loaded.model
        if not integration.exceptions:
            continue
        resolved, _ = resolve(project, name)
        used: list[bool | None] = [None] * len(integration.exceptions)
        if resolved is not None:
            violations = find_violations(project, resolved)
            used = list(judge(integration, loaded.document, violations, today).used)
        for grant, in_use in zip(integration.exceptions, used, strict=True):
            rows.append(
                ExceptionRow(
                    tenant=integration.tenant,
                    integration=name,
                    rule=grant.rule,
                    scope=grant.scope,
                    approved_by=grant.approved_by,
                    justification=grant.justification,
                    expires=grant.expires,
                    days_left=(grant.expires - today).days,
                    status=exception_status(grant, today),
                    used=in_use,
                )
            )
    return sorted(rows, key=lambda r: (r.tenant, r.integration))
