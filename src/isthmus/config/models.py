"""The configuration a user writes, as pydantic models: one model per file kind.

Every model forbids unknown keys and describes each field; the descriptions feed the
generated docs. The models hold configuration as written; ``resolve.py`` combines a template
with an integration's overrides.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from isthmus.config.durations import Duration
from isthmus.config.policy import Policy
from isthmus.config.sync import Sync
from isthmus.config.writeback import WriteBack
from isthmus.types import DataType, parse_type

NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_REFERENCE = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}")

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=63)]
Expression = str | bool | int | float
OVERRIDABLE_SECTIONS = frozenset({"streams", "mappings", "sync", "source", "writeback"})
ReadMode = Literal["full", "incremental"]
WriteModeName = Literal["append", "upsert", "replace"]


def secret_bindings_only(bindings: dict[str, str]) -> dict[str, str]:
    """Reject a secret binding that is not a reference (it may be a pasted value)."""
    for name, reference in bindings.items():
        scheme, _, target = reference.partition(":")
        if scheme not in ("env", "file") or not target:
            raise ValueError(
                f"secret {name!r} must be bound to env:VARIABLE or file:PATH, not a value"
            )
    return bindings


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(Model):
    team: str = Field(
        description="The team that owns this and answers for it.",
        examples=["integrations-core"],
        min_length=1,
    )
    contact: str = Field(
        description="How to reach the owner: an email address or a channel.",
        examples=["integrations@example.com"],
        min_length=1,
    )


class EscalationStep(Model):
    after: str = Field(
        description="How long an unhealthy state lasts before this step: "
        "a number and a unit (m, h or d).",
        pattern=r"^\d+[mhd]$",
        examples=["1h"],
    )
    team: str = Field(description="The team to escalate to.", min_length=1)
    contact: str = Field(description="How to reach that team.", min_length=1)


# --- project file -------------------------------------------------------------------------


class CoreDatabase(Model):
    database: str = Field(
        description="SQLAlchemy URL of the core product's database. A relative SQLite path is "
        "relative to the project folder.",
        examples=["sqlite:///.isthmus/core.db", "postgresql+psycopg://app@db/core"],
    )
    manage_schema: bool = Field(
        True,
        description="Create missing core tables from the core model. When false, isthmus "
        "checks the live tables against the core model and refuses to run on "
        "a mismatch.",
    )


class StateStoreSettings(Model):
    database: str = Field(
        description="SQLAlchemy URL of the state store (runs, quarantine, checkpoints, leases). "
        "A relative SQLite path is relative to the project folder.",
        examples=["sqlite:///.isthmus/state.db"],
    )


class QuarantineSettings(Model):
    retention_days: int = Field(
        30, ge=1, description="The scheduler deletes quarantined records older than this."
    )


class SchedulerSettings(Model):
    tick: Duration = Field("5s", description="How often the scheduler looks for due runs.")
    max_concurrent_runs: int = Field(
        1, ge=1, le=64, description="Runs the scheduler keeps going at the same time."
    )


class ProjectFile(Model):
    project: Name = Field(description="The project's name.")
    description: str = Field("", description="What this project integrates, in a sentence.")
    core: CoreDatabase = Field(
        description="The core product's database that integrations write to."
    )
    state: StateStoreSettings = Field(description="Where isthmus keeps its own state.")
    quarantine: QuarantineSettings = Field(
        default_factory=QuarantineSettings, description="How long rejected records are kept."
    )
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings, description="How `isthmus scheduler` runs."
    )
    policy: Policy = Field(
        default_factory=Policy, description="The guardrail rules in force and their parameters."
    )
    secrets: dict[Identifier, str] = Field(
        default_factory=dict,
        description="Secrets the project file's URLs use as ${secret:NAME}: NAME -> env:VAR or "
        "file:PATH.",
    )
    functions: list[str] = Field(
        default_factory=list,
        description="Python modules declaring custom mapping functions, loaded with the "
        "project: paths relative to the project folder, inside it. Using a custom function "
        "needs an exception for the guardrail custom-function-requires-exception.",
        examples=[["functions/scoring.py"]],
    )

    @field_validator("secrets")
    @classmethod
    def _references_only(cls, value: dict[str, str]) -> dict[str, str]:
        return secret_bindings_only(value)


# --- core model ---------------------------------------------------------------------------

FieldTypeName = Literal[
    "string", "integer", "float", "decimal", "boolean", "timestamp", "date", "json"
]


class CoreField(Model):
    type: FieldTypeName = Field(description="The field's type.")
    description: str = Field("", description="What the field means.")
    required: bool = Field(False, description="Rows without a value are rejected.")
    pii: bool = Field(False, description="Personal data: masked wherever isthmus shows it.")
    enum: list[str | int] | None = Field(None, description="The only values allowed.")
    pattern: str | None = Field(None, description="A regular expression every value matches.")
    min: float | None = Field(None, description="Smallest allowed value (numbers).")
    max: float | None = Field(None, description="Largest allowed value (numbers).")
    max_length: int | None = Field(None, ge=1, description="Longest allowed text, in characters.")
    references: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$",
        description="entity.field this value must exist in, within the same tenant.",
        examples=["account.account_id"],
    )
    on_missing: Literal["reject", "allow"] = Field(
        "reject", description="What to do with a row whose reference does not exist."
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        # Rows are checked by Polars, whose regular expressions have no look-around or
        # backreferences: compile with it, so a pattern that validates also runs.
        if value is not None:
            try:
                pl.Series([""], dtype=pl.String).str.contains(value)
            except pl.exceptions.ComputeError as exc:
                first = str(exc).strip().splitlines()[0]
                raise ValueError(f"not a regular expression isthmus can run: {first}") from exc
        return value

    @property
    def data_type(self) -> DataType:
        return parse_type(self.type)

    @property
    def referenced(self) -> tuple[str, str] | None:
        if self.references is None:
            return None
        entity, field = self.references.split(".", 1)
        return entity, field


class Entity(Model):
    entity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)] = Field(
        description="The entity's name; also its table's name."
    )
    description: str = Field("", description="What one row of this entity is.")
    tenant_key: Identifier = Field(description="The field holding the tenant of each row.")
    primary_key: list[Identifier] = Field(
        min_length=1, description="Fields identifying a row; must include the tenant key."
    )
    fields: dict[Identifier, CoreField] = Field(min_length=1, description="The entity's fields.")

    def field_type(self, name: str) -> DataType | None:
        if name == self.tenant_key and name not in self.fields:
            return parse_type("string")
        spec = self.fields.get(name)
        return spec.data_type if spec else None

    @property
    def column_names(self) -> list[str]:
        names = list(self.fields)
        return names if self.tenant_key in names else [self.tenant_key, *names]


# --- templates ----------------------------------------------------------------------------


class ConnectorRef(Model):
    connector: str = Field(description="The registered connector's name.", examples=["file"])
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The connector's options; each connector documents its own.",
    )


class Stream(BaseModel):
    """A collection read from the external system; connector-specific keys sit beside these."""

    model_config = ConfigDict(extra="allow", frozen=True)

    description: str = Field("", description="What the stream holds.")
    primary_key: str | None = Field(
        None,
        description="The source field identifying a record; quarantined records are listed by it.",
    )
    cursor: str | None = Field(None, description="The source field that orders changes.")
    fields: dict[str, Any] = Field(
        alias="schema", description="Declared source fields and their types."
    )

    @field_validator("fields")
    @classmethod
    def _types_parse(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, spec in value.items():
            try:
                parse_type(spec)
            except ValueError as exc:
                raise ValueError(f"field {name!r}: {exc}") from exc
        return value

    @property
    def schema_types(self) -> dict[str, DataType]:
        return {name: parse_type(spec) for name, spec in self.fields.items()}

    @property
    def connector_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Mapping(Model):
    stream: Identifier = Field(description="The stream this mapping reads.")
    entity: str = Field(description="The core entity this mapping writes.")
    read: ReadMode = Field(
        "full",
        description="full: read everything each run; incremental: "
        "only what changed since the last checkpoint.",
    )
    write: WriteModeName = Field(
        "upsert", description="append, upsert (by primary key) or replace (the tenant's rows)."
    )
    fields: dict[Identifier, Expression] = Field(
        min_length=1,
        description="Core field -> mapping expression over the stream's fields.",
        examples=[{"email": "lower(trim(Email))"}],
    )
    cursor_field: Identifier | None = Field(
        None,
        description="A core field that orders versions of a row (e.g. updated_at): an upsert "
        "never replaces a row with an older version; an older record is skipped.",
    )
    deletes: Literal["none", "soft", "hard"] = Field(
        "none",
        description="On a full read, rows of the tenant the source no longer has: keep them "
        "(none), set their deleted_field (soft), or delete them (hard).",
    )
    deleted_field: Identifier = Field(
        "deleted_at", description="The timestamp field soft deletes set."
    )


class Template(Model):
    template: Name = Field(description="The template's name.")
    version: str = Field(
        description="Semantic version of this template file.",
        pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$",
        examples=["2.1.0"],
    )
    extends: str | None = Field(
        None,
        description="A parent template, name@range: this file's keys merge onto the highest "
        "matching version (null removes an inherited field mapping).",
        pattern=r"^[a-z][a-z0-9_-]*(@.+)?$",
        examples=["crm-base@^1"],
    )
    description: str = Field(
        description="What kind of external system this template integrates, and how."
    )
    owner: Owner = Field(description="Who maintains this template.")
    limitations: list[str] = Field(
        default_factory=list, description="Known limitations, shown in the generated docs."
    )
    source: ConnectorRef = Field(description="The connector reading the external system.")
    streams: dict[Identifier, Stream] = Field(min_length=1, description="Streams read.")
    mappings: dict[Identifier, Mapping] = Field(
        min_length=1, description="How streams fill core entities."
    )
    preexisting: list[str] = Field(
        default_factory=list,
        description="Core entities this template references but does not write: their rows for "
        "each tenant come from elsewhere, e.g. another integration.",
        examples=[["account"]],
    )
    sync: Sync = Field(default_factory=Sync, description="Run settings.")
    writeback: WriteBack | None = Field(
        None,
        description="Core rows sent back to the external system after the streams are read "
        "(at least once, with idempotency keys).",
    )
    overridable: list[str] = Field(
        default_factory=list,
        description="Paths an integration may override (globs).",
        examples=[["sync.schedule", "mappings.*.fields.*"]],
    )


# --- integrations -------------------------------------------------------------------------


class Connection(BaseModel):
    """How to reach one tenant's system; connector-specific keys sit beside ``secrets``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    secrets: dict[Identifier, str] = Field(
        default_factory=dict,
        description="Binds each ${secret:NAME} the template uses to env:VAR or file:PATH; "
        "never a literal value.",
        examples=[{"crm_token": "env:ACME_CRM_TOKEN"}],
    )

    @field_validator("secrets")
    @classmethod
    def _references_only(cls, value: dict[str, str]) -> dict[str, str]:
        return secret_bindings_only(value)

    @property
    def connector_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ExceptionGrant(Model):
    rule: str = Field(description="The guardrail rule this exception waives.")
    justification: str = Field(min_length=1, description="Why the business needs it.")
    approved_by: str = Field(min_length=1, description="Who approved it.")
    expires: dt.date = Field(description="The last day it is valid.")
    scope: str | None = Field(None, description="The configuration path it applies to.")


class Integration(Model):
    integration: Name = Field(description="The integration's id, unique in the project.")
    tenant: Name = Field(description="The tenant whose rows this integration writes.")
    template: str = Field(
        description="Template name and version range: name@range.",
        pattern=r"^[a-z][a-z0-9_-]*(@.+)?$",
        examples=["crm-contacts@^2"],
    )
    description: str = Field("", description="What this integration is for.")
    owner: Owner = Field(description="Who answers for this integration.")
    escalation: list[EscalationStep] = Field(
        default_factory=list, description="Who to call, and when, if it stays unhealthy."
    )
    connection: Connection = Field(
        default_factory=Connection, description="How to reach the tenant's system."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Values merged onto the template; null removes an inherited field mapping.",
    )
    exceptions: list[ExceptionGrant] = Field(
        default_factory=list, description="Approved, expiring exceptions to guardrail rules."
    )

    @property
    def template_name(self) -> str:
        return self.template.partition("@")[0]

    @property
    def template_range(self) -> str:
        return self.template.partition("@")[2] or "*"

    @field_validator("overrides")
    @classmethod
    def _overrides_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - OVERRIDABLE_SECTIONS)
        if unknown:
            raise ValueError(
                f"overrides may change {', '.join(sorted(OVERRIDABLE_SECTIONS))}; "
                f"not {', '.join(unknown)}"
            )
        return value


FILE_KINDS: dict[str, type[BaseModel]] = {
    "project": ProjectFile,
    "entity": Entity,
    "template": Template,
    "integration": Integration,
}
