"""A write-back sink that keeps what it receives in memory, like a far side that honours
idempotency keys, with knobs to refuse records and to fail part-way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from isthmus.connectors.writeback import Delivery, Outgoing
from isthmus.errors import DestinationError, ErrorClass, TransientError


class SinkUnavailableError(DestinationError, TransientError):
    """The failure a :class:`MemorySink` was told to raise."""

    error_class = ErrorClass.TRANSIENT


@dataclass
class MemorySink:
    """Stores each record under its idempotency key: a record sent again with the same key is
    acknowledged and not stored twice (``replays`` counts those).

    ``refuse`` returns a reason for a body the far side should refuse (answered 422);
    ``fail_after`` raises a transient error once that many records have been received in
    total, as a service that goes down mid-run would.
    """

    refuse: Callable[[dict[str, Any]], str | None] = lambda body: None
    fail_after: int | None = None
    received: list[Outgoing] = field(default_factory=list)
    stored: dict[str, Outgoing] = field(default_factory=dict)
    replays: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, records: Sequence[Outgoing]) -> list[Delivery]:
        outcomes = []
        with self._lock:
            for record in records:
                if self.fail_after is not None and len(self.received) >= self.fail_after:
                    self.fail_after = None  # fails once, as an outage that passes
                    raise SinkUnavailableError(
                        f"the external system is unavailable after {len(self.received)} records"
                    )
                self.received.append(record)
                reason = self.refuse(record.body)
                if reason is not None:
                    outcomes.append(Delivery(record.index, False, 422, detail=reason))
                elif record.idempotency_key in self.stored:
                    self.replays += 1
                    outcomes.append(
                        Delivery(record.index, True, 201, remote_id=record.path, replayed=True)
                    )
                else:
                    self.stored[record.idempotency_key] = record
                    outcomes.append(Delivery(record.index, True, 201, remote_id=record.path))
        return outcomes

    def close(self) -> None:
        """Nothing to release."""

    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.stored.values()]
