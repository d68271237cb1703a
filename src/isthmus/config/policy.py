"""The guardrail policy: which rules are in force and their parameters (``policy:`` of
``isthmus.yaml``). Without a ``policy:`` section every rule is on at its default.

A rule is written as its id with its settings, or ``false`` to turn it off::

    policy:
      schedule-min-interval: {min_interval: 15m}
      allowed-connectors: {connectors: [file, rest]}
      owner-required: false
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from isthmus.config.durations import Duration

ALL_CONNECTORS = "*"


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Whether the rule is in force.")


class ScheduleMinInterval(RuleSettings):
    min_interval: Duration = Field(
        "5m", description="The shortest time allowed between two runs of a schedule or interval."
    )


class AllowedConnectors(RuleSettings):
    connectors: list[str] = Field(
        default_factory=lambda: [ALL_CONNECTORS],
        description="Source and write-back connectors integrations may use; '*' allows every "
        "registered connector.",
        examples=[["file", "rest"]],
    )


class MaxRejectedFractionCeiling(RuleSettings):
    ceiling: float = Field(
        0.2,
        ge=0,
        le=1,
        description="The highest sync.max_rejected_fraction an integration's override may set.",
    )


def _shorthand(value: Any) -> Any:
    """``false``/``true`` stand for ``{enabled: false}``/``{enabled: true}``."""
    return {"enabled": value} if isinstance(value, bool) else value


def _rule(model: type[RuleSettings], alias: str, description: str) -> Any:
    return Field(default_factory=model, alias=alias, description=description)


class Policy(BaseModel):
    """The guardrail rules in force; every rule is on at its default unless written here."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schedule_min_interval: ScheduleMinInterval = _rule(
        ScheduleMinInterval, "schedule-min-interval", "Schedules may not fire more often."
    )
    allowed_connectors: AllowedConnectors = _rule(
        AllowedConnectors, "allowed-connectors", "The connectors integrations may use."
    )
    override_not_allowed: RuleSettings = _rule(
        RuleSettings, "override-not-allowed", "Overrides only of paths the template allows."
    )
    # Off unless turned on, like escalation-required below: projects written before the
    # policy existed replace without an exception.
    replace_mode_requires_exception: RuleSettings = Field(
        default_factory=lambda: RuleSettings(enabled=False),
        alias="replace-mode-requires-exception",
        description="write: replace needs an exception (off by default).",
    )
    delete_propagation_requires_exception: RuleSettings = _rule(
        RuleSettings, "delete-propagation-requires-exception", "Deletes need an exception."
    )
    max_rejected_fraction_ceiling: MaxRejectedFractionCeiling = _rule(
        MaxRejectedFractionCeiling,
        "max-rejected-fraction-ceiling",
        "The ceiling of an overridden max_rejected_fraction.",
    )
    pii_must_be_masked: RuleSettings = _rule(
        RuleSettings, "pii-must-be-masked", "Personal data is not written back as it is."
    )
    owner_required: RuleSettings = _rule(
        RuleSettings, "owner-required", "An integration names a real owner."
    )
    custom_function_requires_exception: RuleSettings = _rule(
        RuleSettings,
        "custom-function-requires-exception",
        "A mapping expression calling a custom function needs an exception.",
    )
    # Off unless turned on: projects written before the policy existed (and the integrations
    # `isthmus new integration` scaffolds) have no escalation steps yet.
    escalation_required: RuleSettings = Field(
        default_factory=lambda: RuleSettings(enabled=False),
        alias="escalation-required",
        description="An integration has an escalation step (off by default).",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        return _shorthand(value)

    def enabled(self, rule: str) -> bool:
        """Whether rule ``rule`` (its id) is in force; an unknown id is not."""
        settings = getattr(self, rule.replace("-", "_"), None)
        return isinstance(settings, RuleSettings) and settings.enabled
