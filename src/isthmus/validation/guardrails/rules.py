"""What a guardrail rule is and what it finds: a rule id with why it exists and how to ask for
an exception; a violation with the configuration path it concerns, so an exception's
``scope`` can name exactly it."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from isthmus.diagnostics import Location


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    why: str  # one sentence: why the rule exists
    fix: str  # what to change instead of asking for an exception


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    path: str  # the configuration path broken, dotted (e.g. mappings.contacts.write)
    message: str  # what is wrong, naming the object, and why the rule exists
    location: Location


RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "schedule-min-interval",
            "runs firing more often than the policy's minimum load the tenant's system and the "
            "core database for little fresher data",
            "schedule it less often",
        ),
        Rule(
            "allowed-connectors",
            "only connectors the policy allows have been reviewed for this project",
            "use an allowed connector, or add it to policy.allowed-connectors",
        ),
        Rule(
            "override-not-allowed",
            "a template's maintainers answer only for what they made overridable",
            "remove the override, or ask the template's owner to make the path overridable",
        ),
        Rule(
            "replace-mode-requires-exception",
            "write: replace removes every row of the tenant a run does not bring, which an "
            "export that is only partial would wipe out",
            "use write: upsert",
        ),
        Rule(
            "delete-propagation-requires-exception",
            "a run removes core rows the source no longer has, which an export that is only "
            "partial would wipe out",
            "set deletes: none",
        ),
        Rule(
            "max-rejected-fraction-ceiling",
            "a run that rejects more than the ceiling hides a broken source behind a success",
            "fix the rejected records instead of raising the threshold",
        ),
        Rule(
            "pii-must-be-masked",
            "personal data leaves the core product only transformed (hashed, masked), never "
            "as it is stored",
            "send a value computed from the field, not the field itself",
        ),
        Rule(
            "owner-required",
            "someone must answer for an integration when it breaks",
            "name the owning team and its contact",
        ),
        Rule(
            "escalation-required",
            "an integration that stays unhealthy must reach someone who can act",
            "add an escalation step: {after: 1h, team: ..., contact: ...}",
        ),
        Rule(
            "custom-function-requires-exception",
            "a custom function runs the project's own Python code, which neither the mapping "
            "language's checks nor its tests cover",
            "use the mapping language's built-in functions",
        ),
    )
}


def path_matches(pattern: str, path: str) -> bool:
    """Whether dotted ``path`` is ``pattern`` or lies under it; segments may be globs."""
    wanted, parts = pattern.split("."), path.split(".")
    if len(wanted) > len(parts):
        return False
    return all(fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=False))


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)
