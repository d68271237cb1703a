"""Schema drift: source fields that appear or disappear against the declared schema."""

from __future__ import annotations

from collections.abc import Iterable

from isthmus.execution.errors import SchemaDriftError
from isthmus.logs import get_logger

log = get_logger("isthmus.run")


class DriftTracker:
    """Compares the fields each batch shows with the stream's declared fields.

    ``fail`` stops the run as soon as a field appears, or at the end of the stream when a
    declared field never showed up; ``warn`` logs it; ``ignore`` does neither. The run record
    lists the drift in every case.
    """

    def __init__(self, stream: str, declared: Iterable[str], policy: str) -> None:
        self.stream = stream
        self.declared = frozenset(declared)
        self.policy = policy
        self.seen: set[str] = set()
        self.observed = False

    def observe(self, fields: frozenset[str] | None) -> None:
        if fields is None:
            return
        self.observed = True
        new = fields - self.declared - self.seen
        self.seen |= fields
        if new and self.policy == "fail":
            raise SchemaDriftError(
                f"stream {self.stream}: the source has fields the stream does not declare: "
                f"{', '.join(sorted(new))}",
                hint="declare them in the stream's schema, or set sync.schema_drift to warn",
            )

    def finish(self) -> dict[str, list[str]] | None:
        if not self.observed:
            return None
        appeared = sorted(self.seen - self.declared)
        disappeared = sorted(self.declared - self.seen)
        if disappeared and self.policy == "fail":
            raise SchemaDriftError(
                f"stream {self.stream}: declared fields never appeared in the source: "
                f"{', '.join(disappeared)}",
                hint="check the export, or remove the fields from the stream's schema",
            )
        if not appeared and not disappeared:
            return None
        if self.policy == "warn":
            log.warning(
                "schema drift", stream=self.stream, appeared=appeared, disappeared=disappeared
            )
        return {"appeared": appeared, "disappeared": disappeared}
