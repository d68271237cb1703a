"""Mask personal data before anything is shown.

The state store keeps quarantined records as they arrived, so they can be replayed after a
fix. Everything that shows them — the CLI, logs, pages — goes through :class:`PiiPolicy`,
which hides core fields marked ``pii`` and the source fields that feed them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from isthmus.store.models import QuarantineEntry

MASK = "***"


def mask_value(value: str | None) -> str | None:
    """Keep just enough shape to recognise a value: its first character (and an email's
    domain's first character)."""
    if value is None or value == "":
        return value
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}{MASK}@{domain[:1]}{MASK}"
    return f"{value[:1]}{MASK}"


@dataclass(frozen=True)
class PiiPolicy:
    """Which fields to mask, per (integration, mapping); unknown mappings mask everything."""

    core_fields: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    source_fields: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def masks_value(self, entry: QuarantineEntry) -> bool:
        key = (entry.integration, entry.mapping)
        if key not in self.core_fields:
            return True
        return entry.field in self.core_fields[key] or entry.field in self.source_fields[key]

    def shown_value(self, entry: QuarantineEntry) -> str | None:
        return mask_value(entry.value) if self.masks_value(entry) else entry.value

    def shown_record(self, entry: QuarantineEntry) -> str:
        key = (entry.integration, entry.mapping)
        if key not in self.source_fields or entry.rule == "malformed":
            # Without a known shape (or for text that did not parse) nothing can be kept.
            return MASK if key not in self.source_fields else _mask_text(entry.record)
        try:
            record = json.loads(entry.record)
        except json.JSONDecodeError:
            return MASK
        if not isinstance(record, dict):
            return MASK
        for name in self.source_fields[key]:
            top = name.split(".", 1)[0]
            if top in record and record[top] is not None:
                record[top] = _mask_any(record[top])
        return json.dumps(record, ensure_ascii=False)


def _mask_any(value: object) -> object:
    if isinstance(value, dict):
        return {k: _mask_any(v) for k, v in value.items()}
    return mask_value(str(value)) if value is not None else None


def _mask_text(text: str) -> str:
    """A malformed line cannot be parsed, so only its length is shown."""
    return f"<{len(text)} characters, masked: the line could hold personal data>"
