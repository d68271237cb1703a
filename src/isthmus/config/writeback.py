"""Write-back: the part of a template that sends core rows to the external system.

A template reads an external system into the core product through its ``source``; its
``writeback`` section goes the other way. Each target reads one core entity's rows of the
integration's tenant (all of them, or those changed since the last write-back), maps them
with the mapping language to the external system's fields, and sends each one with a
request. The far side has no transaction to join: delivery is at least once, made harmless
by an idempotency key derived from the record's key and content.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ExternalName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
# A run records a target as the stream "writeback:NAME", in a column of 63 characters.
TargetName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=53)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchedRequests(_Model):
    """Send several records in one request, for APIs with a batch endpoint."""

    path: str = Field(
        description="The batch endpoint, relative to the connection's base URL.",
        examples=["/contacts/batch"],
    )
    size: int = Field(100, ge=1, le=1000, description="Records per request.")
    records_key: str = Field("records", description="The body's key holding the list of records.")
    results_key: str = Field(
        "results",
        description="The response's key holding one result per record, each with the "
        "record's `index` and its `status`.",
    )


class WriteBackTarget(_Model):
    entity: str = Field(description="The core entity whose rows (of the tenant) are sent.")
    read: Literal["full", "incremental"] = Field(
        "incremental",
        description="incremental: only rows whose cursor_field moved past the last "
        "write-back; full: every row of the tenant each run.",
    )
    cursor_field: str | None = Field(
        None,
        description="The core field that orders changes (e.g. updated_at); required for an "
        "incremental write-back.",
    )
    method: Literal["POST", "PUT", "PATCH"] = Field(
        "POST", description="The HTTP method of each request."
    )
    path: str = Field(
        description="The endpoint, relative to the connection's base URL; {Name} is replaced "
        "by the mapped field Name of the record (URL-encoded).",
        examples=["/contacts", "/contacts/{Id}"],
    )
    fields: dict[ExternalName, str | bool | int | float] = Field(
        min_length=1,
        description="External field -> mapping expression over the core entity's fields.",
        examples=[{"Email": "email", "LeadScore": "lead_score"}],
    )
    batch: BatchedRequests | None = Field(
        None, description="Send records in batches to a batch endpoint instead of one by one."
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value.startswith("/") or "://" in value:
            raise ValueError("must be a path starting with '/', relative to the base URL")
        return value

    @model_validator(mode="after")
    def _cursor_for_incremental(self) -> WriteBackTarget:
        if self.read == "incremental" and self.cursor_field is None:
            raise ValueError("an incremental write-back needs cursor_field")
        return self

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.path)


class WriteBack(_Model):
    connector: str = Field(
        "rest", description="The connector that writes to the external system.", examples=["rest"]
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The connector's options (for rest: auth, timeout, retries, rate limit), "
        "checked against the connector's own model.",
    )
    targets: dict[TargetName, WriteBackTarget] = Field(
        min_length=1, description="What is sent, per target."
    )
