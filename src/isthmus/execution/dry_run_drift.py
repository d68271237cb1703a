"""Schema drift in a sample: what a source delivered against what its stream declares."""

from __future__ import annotations

from collections.abc import Mapping

from isthmus.connectors.sampling import ObservedFields
from isthmus.execution.dry_run_models import DriftSample
from isthmus.types import DataType, Kind


def declared_paths(fields: Mapping[str, DataType], at: str = "") -> list[str]:
    """Every declared field as a dotted path, objects before their fields."""
    paths: list[str] = []
    for name, data_type in fields.items():
        paths.append(f"{at}{name}")
        if data_type.kind is Kind.STRUCT:
            paths.extend(declared_paths(dict(data_type.fields), f"{at}{name}."))
    return paths


def compare(fields: Mapping[str, DataType], observed: ObservedFields) -> DriftSample:
    """Drift between the declared ``fields`` and a sample. A field inside an object already
    named (absent, or always null) is not named again."""
    if not observed.records and not observed.fields:
        return DriftSample(True, f"{observed.how}: no record to look at")
    declared = declared_paths(fields)
    known = set(declared)
    undeclared = tuple(sorted(p for p in observed.fields if p not in known))
    absent: list[str] = []
    always_null: list[str] = []
    for path in declared:
        if _under(path, absent) or _under(path, always_null):
            continue
        if path not in observed.fields:
            absent.append(path)
        elif not observed.fields[path] and observed.records:
            always_null.append(path)
    return DriftSample(True, observed.how, undeclared, tuple(absent), tuple(always_null))


def not_observed(connector: str) -> DriftSample:
    return DriftSample(
        False, f"not observed: the {connector} connector has no sampler of raw fields"
    )


def _under(path: str, named: list[str]) -> bool:
    return any(path.startswith(f"{parent}.") for parent in named)
