"""Run a fixture case through the real mapping and validation: no connector, no database.

The records are parsed as the JSON sources parse what they read (every scalar as text,
nested objects as structs, a record of the wrong shape isolated as malformed), then mapped
and checked by the row plan a run uses. References are checked against the rows the case
says exist, the way a run checks them against the destination.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from isthmus.connectors.jsonlines import parse_jsonl_bytes
from isthmus.connectors.jsontext import json_paths
from isthmus.validation.fixtures_model import (
    MALFORMED,
    ActualRejection,
    Outcome,
    ResolvedCase,
)
from isthmus.validation.fixtures_values import record_value
from isthmus.validation.models import CompiledMapping, Reference
from isthmus.validation.rows import CHECK, ROW, VALUE, RowPlan, reject_missing_references

ORIGIN = "fixture"

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def run_case(case: ResolvedCase) -> Outcome:
    mapping = case.mapping
    text, positions, malformed = source_frame(mapping, case.records)
    plan = RowPlan(mapping)
    frame = plan.evaluate(text, now=case.now)
    notes: list[str] = []
    for reference in mapping.references:
        existing = case.existing.get(reference.entity)
        if existing is None:
            notes.append(_unchecked(mapping, reference))
            continue
        found = _found(frame, reference, existing, mapping)
        frame = reject_missing_references(
            frame, reference, found, plan.reference_reasons[reference.field]
        )
    good = frame.filter(pl.col(CHECK).is_null())
    rejected = frame.filter(pl.col(CHECK).is_not_null()).select(ROW, CHECK, VALUE)
    rejections = [ActualRejection(m.position, MALFORMED, None, None, m.reason) for m in malformed]
    for row, check, value in rejected.iter_rows():
        reason = plan.reasons[check]
        rejections.append(
            ActualRejection(positions[row], reason.rule, reason.field, value, reason.message)
        )
    return Outcome(
        rows=_core_rows(good, mapping, case.tenant),
        row_records=[positions[row] for row in good.get_column(ROW)],
        rejections=sorted(rejections, key=lambda r: r.record),
        notes=notes,
    )


def source_frame(
    mapping: CompiledMapping, records: list[Any]
) -> tuple[pl.DataFrame, list[int], list[Any]]:
    """The records as a source hands them over: a frame of text, each row's record number
    (from 1), and the records it could not read."""
    dtype = pl.Struct({name: t.to_text_polars() for name, t in mapping.source_fields.items()})
    block = "\n".join(_encode(record_value(r)) for r in records).encode("utf-8")
    frame, positions, malformed = parse_jsonl_bytes(
        block, len(records), 1, ORIGIN, dtype, json_paths(mapping.source_fields)
    )
    return frame, [int(p) for p in positions.to_pylist()], list(malformed)


def _found(
    frame: pl.DataFrame,
    reference: Reference,
    existing: list[dict[str, Any]],
    mapping: CompiledMapping,
) -> pl.Series:
    """The values the reference may take: the existing rows', and for a reference to the
    mapping's own entity, those of the rows accepted beside it (as a run allows)."""
    dtype = frame.schema[reference.field]
    values = [row[reference.target_field] for row in existing if reference.target_field in row]
    found = pl.Series(values, dtype=dtype, strict=False)
    if reference.entity == mapping.entity.entity:
        accepted = frame.filter(pl.col(CHECK).is_null()).get_column(reference.target_field)
        found = pl.concat([found, accepted.cast(dtype)])
    return found


def _core_rows(good: pl.DataFrame, mapping: CompiledMapping, tenant: str) -> list[dict[str, Any]]:
    """The accepted rows with every column of the core entity, the tenant key filled in."""
    entity = mapping.entity
    columns = [
        pl.lit(tenant, pl.String).alias(name) if name == entity.tenant_key else pl.col(name)
        for name in entity.column_names
    ]
    return good.select(columns).rows(named=True)


def _unchecked(mapping: CompiledMapping, reference: Reference) -> str:
    return (
        f"{mapping.entity.entity}.{reference.field} references "
        f"{reference.entity}.{reference.target_field}: not checked, as the case gives no "
        f"existing {reference.entity} rows"
    )
