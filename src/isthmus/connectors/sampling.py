"""What a source really delivers: the raw field names of its first records, for dry runs.

Sources read declared fields only, so a field the external system added, or one it stopped
sending, would go unseen. A **sampler** looks at the first records of a stream as the
system delivers them and reports every field it found, nested ones as dotted paths
(``Account.Id``), and whether each ever held a value. Nothing is written anywhere.

One sampler per connector kind (files, REST, SQL, webhooks); a kind without one says so,
and the dry run reports that drift was not observed for it rather than guessing.
Samples are small (a dry run's ``--sample``) and read once, off the run's path, so walking
their records in Python costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from isthmus.connectors.base import StreamRequest
from isthmus.types import DataType, Kind


@dataclass(frozen=True)
class ObservedFields:
    """The fields found in the first ``records`` records of a stream: dotted path -> whether
    any record held a value there (False: always null or empty). Only paths under declared
    objects are followed: below an undeclared field, its own name is what matters."""

    records: int
    fields: Mapping[str, bool]
    how: str  # what was looked at, for the report: "the first 1000 records of contacts.jsonl"


class FieldSampler(Protocol):
    def observe(self, request: StreamRequest, limit: int) -> ObservedFields:
        """The fields of up to ``limit`` records the stream delivers, as the source would read
        them from ``request.checkpoint``."""


class FieldWalk:
    """Collects the dotted paths of records, following declared objects only."""

    def __init__(self, declared: Mapping[str, DataType]) -> None:
        self.declared = declared
        self.found: dict[str, bool] = {}
        self.records = 0

    def record(self, record: Any) -> None:
        if isinstance(record, dict):
            self.records += 1
            self._walk(record, self.declared, "")

    def _walk(self, record: Mapping[str, Any], declared: Mapping[str, DataType], at: str) -> None:
        for name, value in record.items():
            path = f"{at}{name}"
            self.found[path] = self.found.get(path, False) or not _empty(value)
            inner = declared.get(name)
            if isinstance(value, dict) and inner is not None and inner.kind is Kind.STRUCT:
                self._walk(value, dict(inner.fields), f"{path}.")

    def paths(self, names: Iterable[str], filled: Iterable[bool]) -> None:
        """Flat columns (CSV headers, Parquet columns flattened to dotted names)."""
        for name, has_value in zip(names, filled, strict=True):
            if following_declared(name, self.declared):
                self.found[name] = self.found.get(name, False) or has_value
                parent = name.rpartition(".")[0]
                while parent:  # a nested value shows its object is there too
                    self.found[parent] = self.found.get(parent, False) or has_value
                    parent = parent.rpartition(".")[0]

    def result(self, how: str) -> ObservedFields:
        return ObservedFields(self.records, dict(self.found), how)


def following_declared(path: str, declared: Mapping[str, DataType]) -> bool:
    """Whether every object above ``path`` is a declared object (so the path is worth
    naming), e.g. ``Account.Id`` when ``Account`` is declared as an object."""
    *parents, _ = path.split(".")
    fields = declared
    for part in parents:
        inner = fields.get(part)
        if inner is None or inner.kind is not Kind.STRUCT:
            return False
        fields = dict(inner.fields)
    return True


def _empty(value: Any) -> bool:
    return value is None or value == ""
