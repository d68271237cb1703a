"""Faults the mock CRM can inject, all counted, none random, so a test knows exactly what
happens to each request.

Every request but the admin ones is counted, in arrival order. Per request, in this order: a
pending slow fault delays the answer; then a pending 429, or every Nth request's 429, answers
instead; else a pending error burst answers with ``error_status``. The malformed page and the
repeated records change what a list endpoint returns; a lost write reply stores the write and
answers 503, as a reply lost on its way back would look to the client.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Literal

RetryAfterFormat = Literal["seconds", "http_date"]


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. The defaults: nothing."""

    rate_limit_every: int = 0  # every Nth counted request answers 429 (0: never)
    rate_limit_next: int = 0  # the next K counted requests answer 429
    retry_after_s: int = 1  # the wait a 429 asks for
    retry_after_format: RetryAfterFormat = "seconds"  # Retry-After as seconds or HTTP date
    error_next: int = 0  # the next K counted requests answer error_status
    error_status: int = 503  # 500, 502, 503 or 504
    slow_next: int = 0  # the next K counted requests are answered slow_s late
    slow_s: float = 0.5
    malformed_page: int = 0  # this page (1-based) of malformed_resource is not JSON (0: none)
    malformed_resource: str = "contacts"
    repeat_last: bool = False  # each page starts with the previous page's last record
    lost_write_replies: int = 0  # the next K writes are stored, then answered 503 (reply lost)

    def __post_init__(self) -> None:
        counts = (
            "rate_limit_every",
            "rate_limit_next",
            "error_next",
            "slow_next",
            "lost_write_replies",
        )
        for name in (*counts, "retry_after_s", "malformed_page"):
            if getattr(self, name) < 0:
                raise ValueError(f"fault {name} must be 0 or more")
        if self.slow_s < 0:
            raise ValueError("fault slow_s must be 0 or more")
        if not 500 <= self.error_status <= 599:
            raise ValueError("fault error_status must be a 5xx status")
        if self.retry_after_format not in ("seconds", "http_date"):
            raise ValueError("fault retry_after_format must be seconds or http_date")

    def changed(self, changes: dict[str, Any]) -> Faults:
        """These faults with ``changes`` (field -> value, text converted to the field's type)."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {', '.join(fields)}")
        typed = {name: _typed(name, value, getattr(self, name)) for name, value in changes.items()}
        return dataclasses.replace(self, **typed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_fault(text: str) -> tuple[str, str]:
    """``name=value`` as given on the command line."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"a fault is name=value, e.g. error_next=3, not {text!r}")
    return name.strip(), value.strip()


def _typed(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"fault {name} is true or false, not {value!r}")
    try:
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"fault {name} is a number, not {value!r}") from None
    return str(value)


@dataclass(frozen=True)
class Decision:
    """What the faults do to one request."""

    delay_s: float = 0.0
    status: int | None = None  # answer this instead of the real response


class FaultState:
    """The faults in force and their counters; thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self.counted = 0
            self._rate_limit_next = faults.rate_limit_next
            self._error_next = faults.error_next
            self._slow_next = faults.slow_next
            self._lost_write_replies = faults.lost_write_replies

    def lose_write_reply(self) -> bool:
        """Whether the reply to a write just stored is to be lost (answered 503)."""
        with self._lock:
            if self._lost_write_replies > 0:
                self._lost_write_replies -= 1
                return True
            return False

    def draw(self) -> Decision:
        """Count one request and say what happens to it."""
        with self._lock:
            faults = self.faults
            self.counted += 1
            delay = 0.0
            if self._slow_next > 0:
                self._slow_next -= 1
                delay = faults.slow_s
            every = faults.rate_limit_every
            if self._rate_limit_next > 0:
                self._rate_limit_next -= 1
                return Decision(delay, 429)
            if every and self.counted % every == 0:
                return Decision(delay, 429)
            if self._error_next > 0:
                self._error_next -= 1
                return Decision(delay, faults.error_status)
            return Decision(delay, None)
