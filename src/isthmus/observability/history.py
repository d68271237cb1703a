"""Run history for people: runs, their counts and their rejections, with PII masked."""

from __future__ import annotations

from dataclasses import dataclass

from isthmus.config.project import Project
from isthmus.errors import NotFoundError
from isthmus.observability.masking import PiiPolicy
from isthmus.store import ReasonGroup, RunRecord, StateStore
from isthmus.validation import check_integration


@dataclass(frozen=True)
class ShownExample:
    origin: str
    position: int
    record_id: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class ShownReason:
    rule: str
    field: str | None
    count: int
    message: str
    examples: tuple[ShownExample, ...]


@dataclass(frozen=True)
class RunDetails:
    run: RunRecord
    reasons: tuple[ShownReason, ...]


def pii_policy(project: Project) -> PiiPolicy:
    """What to mask, from the project's current configuration."""
    core: dict[tuple[str, str], frozenset[str]] = {}
    source: dict[tuple[str, str], frozenset[str]] = {}
    for name in project.integrations:
        compiled, _ = check_integration(project, name)
        if compiled is None:
            continue
        for mapping in compiled.mappings:
            key = (name, mapping.name)
            core[key] = frozenset(f for f, spec in mapping.entity.fields.items() if spec.pii)
            source[key] = mapping.pii_source_fields
    return PiiPolicy(core, source)


def run_details(
    store: StateStore, run_id: int, policy: PiiPolicy, *, examples: int = 3
) -> RunDetails:
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(
            f"no run {run_id} in the state store", hint="`isthmus runs` lists recent runs"
        )
    groups = store.quarantine_groups(run_id, examples=examples)
    return RunDetails(run, tuple(_shown(group, policy) for group in groups))


def _shown(group: ReasonGroup, policy: PiiPolicy) -> ShownReason:
    shown = tuple(
        ShownExample(e.origin, e.position, e.record_id, policy.shown_value(e), e.message)
        for e in group.examples
    )
    message = group.examples[0].message if group.examples else ""
    return ShownReason(group.rule, group.field, group.count, message, shown)
