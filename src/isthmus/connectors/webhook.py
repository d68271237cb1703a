"""The webhook source: events an external system pushed to ``isthmus serve``, read in order.

The HTTP endpoint (``POST /hooks/{tenant}/{integration}/{stream}``, see ``isthmus.web``)
checks each delivery's signature and stores its body in the state store; a run reads the
stream's events stored after its checkpoint (``{"after": <sequence id>}``), in sequence
order, in batches of at most ``batch_size``.

**One delivery is one record**: its body is one JSON object. (The endpoint refuses anything
else, arrays included: a sender with several records sends several deliveries, each with
its own event id, so every record has its own place in the quarantine and its own retry.)
Records are parsed like JSON Lines, every scalar as text; a body that does not fit the
stream's declared fields becomes a malformed record with a reason, never an error. A
record's position is its event's sequence id, its origin ``webhook events``.

The checkpoint commits with the data it covers, so a run that fails reads the same events
again: delivery into the core is at least once, which upserts make harmless. A mapping that
reads ``full`` (or ``isthmus run --full``) reads every stored event again; templates read
webhook streams ``incremental``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from isthmus.connectors.base import (
    EventLog,
    MalformedRecord,
    PendingBatch,
    SourceBatch,
    SourceContext,
    StoredEvent,
    StreamRequest,
)
from isthmus.connectors.errors import EventLogMissingError
from isthmus.connectors.jsonlines import DRIFT_SAMPLE, head, observed_fields, parse_jsonl_bytes
from isthmus.connectors.jsontext import JsonPath, json_paths

ORIGIN = "webhook events"
MIB = 1024 * 1024
# A whole reference, nothing around it: the secret is never written in the template.
SECRET_REFERENCE_ONLY = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}")


class WebhookOptions(BaseModel):
    """Template-level options of the webhook source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signing_secret: str = Field(
        description="The secret senders sign deliveries with (Standard Webhooks, HMAC-SHA256), "
        "as a secret reference the integration binds; a whsec_ value is base64-decoded.",
        examples=["${secret:hook_secret}"],
    )
    max_body_bytes: int = Field(
        MIB,
        ge=1,
        le=64 * MIB,
        description="The largest body accepted, in bytes; a larger delivery is refused (413).",
    )
    tolerance_s: int = Field(
        300,
        ge=1,
        le=86_400,
        description="How far, in seconds, a delivery's webhook-timestamp may be from the "
        "server's clock; an older one is refused as a replay, a later one as forged.",
    )

    @field_validator("signing_secret")
    @classmethod
    def _reference_only(cls, value: str) -> str:
        # Never echo the value: it may be a secret pasted in by mistake.
        if SECRET_REFERENCE_ONLY.fullmatch(value) is None:
            raise ValueError(
                "must be a secret reference such as ${secret:hook_secret}, bound by the "
                "integration to env:VARIABLE or file:PATH, never the secret itself"
            )
        return value

    @property
    def secret_name(self) -> str:
        """The NAME of the ``${secret:NAME}`` reference."""
        found = SECRET_REFERENCE_ONLY.fullmatch(self.signing_secret)
        assert found is not None
        return found.group(1)


class WebhookSource:
    """Reads a stream's stored webhook events after the checkpoint."""

    def __init__(self, context: SourceContext) -> None:
        assert isinstance(context.options, WebhookOptions)
        if context.events is None or not context.integration:
            raise EventLogMissingError(
                "the webhook source reads events from the state store, and was given none",
                hint="run the integration with `isthmus run`, which passes the state store",
            )
        self.events: EventLog = context.events
        self.integration = context.integration

    def size_hint(self, request: StreamRequest) -> int | None:
        return None

    def read(self, request: StreamRequest) -> Iterator[SourceBatch | PendingBatch]:
        """Events after the checkpoint up to the newest one stored when the read starts (so
        a run ends while deliveries keep coming), each batch with the checkpoint after it."""
        after = _after(request.checkpoint)
        newest = self.events.last_event_seq(self.integration, request.name)
        dtype = pl.Struct({name: t.to_text_polars() for name, t in request.fields.items()})
        while after < newest:
            events = [
                e
                for e in self.events.events_after(
                    self.integration, request.name, after, request.batch_size
                )
                if e.seq <= newest
            ]
            if not events:
                return
            after = events[-1].seq
            shape = (dtype, json_paths(request.fields))
            yield PendingBatch(partial(_parse, tuple(events), shape, {"after": after}))

    def close(self) -> None:
        """The state store belongs to the run; nothing to release."""


def _after(checkpoint: Mapping[str, object] | None) -> int:
    after = (checkpoint or {}).get("after", 0)
    return after if isinstance(after, int) and not isinstance(after, bool) else 0


def _parse(
    events: Sequence[StoredEvent],
    shape: tuple[pl.Struct, tuple[JsonPath, ...]],
    checkpoint: dict[str, int],
) -> SourceBatch:
    # Newlines in valid JSON are whitespace (inside strings they must be escaped), so
    # flattening them makes each body one line of JSON Lines.
    lines = [e.body.encode("utf-8").replace(b"\r", b" ").replace(b"\n", b" ") for e in events]
    block = b"\n".join(lines) + b"\n"
    frame, lines_kept, malformed = parse_jsonl_bytes(block, len(events), 1, ORIGIN, *shape)
    seqs = [e.seq for e in events]
    positions = pa.array(seqs, pa.int64()).take(pc.subtract(lines_kept, 1))
    return SourceBatch(
        records=frame.to_arrow(compat_level=pl.CompatLevel.newest()),
        positions=positions,
        origin=ORIGIN,
        checkpoint=checkpoint,
        malformed=tuple(_of_event(m, events[m.position - 1]) for m in malformed),
        bytes_read=len(block),
        observed_fields=observed_fields(head(block, DRIFT_SAMPLE)),
    )


def _of_event(record: MalformedRecord, event: StoredEvent) -> MalformedRecord:
    """A malformed record placed at its event's sequence id, its reason naming the event."""
    reason = f"{record.reason} (webhook event {event.event_id})"
    return replace(record, position=event.seq, reason=reason)


__all__ = ["WebhookOptions", "WebhookSource"]
