"""Map and validate one batch: every row either fits the core model or gets one reason.

Three vectorized passes over the batch: convert the source text to the declared types, run
the mapping expressions, check the core model's constraints. Every failure along the way is
a boolean column; a row is rejected for the first failure in that order. References, which
need the destination, are checked afterwards by :func:`check_references`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from isthmus.mapping import CompiledExpression, RowFailure
from isthmus.mapping.registry import NOW_COLUMN
from isthmus.types import TIMESTAMP, DataType, Kind
from isthmus.validation.constraints import Check, field_checks
from isthmus.validation.conversions import leaf_paths
from isthmus.validation.models import CompiledMapping, Reference

ROW = "__isthmus_row"
RECORD_ID = "__isthmus_record_id"
CHECK = "__isthmus_check"
VALUE = "__isthmus_value"


@dataclass(frozen=True)
class Reason:
    """What is said about rows rejected by one check."""

    rule: str
    field: str | None
    message: str


class RowPlan:
    """The expressions that map and validate batches of one mapping, built once per stream."""

    def __init__(self, mapping: CompiledMapping) -> None:
        self.mapping = mapping
        self.reasons: list[Reason] = []
        self._conversion_steps = step_levels(mapping.conversions.values())
        self._typed = self._typed_pass()
        self._field_steps = step_levels(mapping.fields.values())
        self._mapped = self._mapped_pass()
        self._checked = self._constraint_pass()
        self._flagged = len(self.reasons)  # reasons with a flag column; references come after
        self._verdict = self._verdict_columns()
        self._missing = [
            pl.lit(None, dtype=t.to_polars()).alias(name)
            for name, t in _entity_types(mapping).items()
            if name not in mapping.fields
        ]
        self.reference_reasons = {
            ref.field: self._reference_reason(ref) for ref in mapping.references
        }

    def _flag(self, check: Check) -> list[pl.Expr]:
        index = len(self.reasons)
        self.reasons.append(Reason(check.rule, check.field, check.message))
        return [
            check.failed.fill_null(False).alias(f"__f{index}"),
            check.value.cast(pl.String).alias(f"__v{index}"),
        ]

    def _carried(self) -> list[pl.Expr]:
        names = [f"__{kind}{i}" for i in range(len(self.reasons)) for kind in ("f", "v")]
        return [pl.col(ROW), pl.col(RECORD_ID), *(pl.col(n) for n in names)]

    def _typed_pass(self) -> list[pl.Expr]:
        mapping = self.mapping
        exprs: list[pl.Expr] = []
        for name, data_type in mapping.source_fields.items():
            exprs.append(_typed_field(name, data_type, mapping).alias(name))
            for path, _ in leaf_paths(name, data_type):
                conversion = mapping.conversions.get(path)
                for failure in expression_failures(conversion) if conversion else ():
                    exprs.extend(
                        self._flag(
                            Check(
                                "type",
                                path,
                                f"is declared {_declared(mapping, path)}; the value does "
                                "not convert",
                                failure.condition,
                                failure.value,
                            )
                        )
                    )
        key = mapping.stream.primary_key
        record_id = pl.col(key).cast(pl.String) if key else pl.lit(None, pl.String)
        return [*exprs, record_id.alias(RECORD_ID), pl.int_range(pl.len()).alias(ROW)]

    def _mapped_pass(self) -> list[pl.Expr]:
        exprs = self._carried()
        for target, compiled in self.mapping.fields.items():
            exprs.append(expression_value(compiled).alias(target))
            for failure in expression_failures(compiled):
                exprs.extend(
                    self._flag(
                        Check(
                            failure.function,
                            target,
                            failure.describe(),
                            failure.condition,
                            failure.value,
                        )
                    )
                )
        return exprs

    def _constraint_pass(self) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        entity = self.mapping.entity
        for name, spec in entity.fields.items():
            # A key field is required whether or not the core model says so: a row without
            # its key cannot be written, and must be quarantined rather than fail the load.
            required = spec.required or name in entity.primary_key
            if name in self.mapping.fields or required:
                for check in field_checks(name, spec, required=required):
                    if name in self.mapping.fields or check.rule == "required":
                        exprs.extend(self._flag(check))
        return exprs

    def _verdict_columns(self) -> list[pl.Expr]:
        """The index of the first failed check per row (or null), and the value it failed on."""
        count = self._flagged
        first = (
            pl.coalesce(
                [pl.when(pl.col(f"__f{i}")).then(pl.lit(i, pl.Int32)) for i in range(count)]
            )
            if count
            else pl.lit(None, pl.Int32)
        )
        value = (
            pl.coalesce([pl.when(pl.col(f"__f{i}")).then(pl.col(f"__v{i}")) for i in range(count)])
            if count
            else pl.lit(None, pl.String)
        )
        return [first.alias(CHECK), value.alias(VALUE)]

    def evaluate(self, text: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
        """The batch mapped, with the index of the first failed check per row (or null).

        ``now`` is the run's start time, which now_utc() gives for every row."""
        columns = [ROW, RECORD_ID, *self.mapping.entity.fields]
        # One lazy query, collected once: Polars shares common subexpressions across passes.
        frame = text.lazy()
        for level in self._conversion_steps:  # fallible calls, each computed once
            frame = frame.with_columns(level)
        frame = frame.select(self._typed).with_columns(run_context(now))
        for level in self._field_steps:
            frame = frame.with_columns(level)
        return (
            frame.select(self._mapped)
            .with_columns(self._missing)
            .with_columns(self._checked)
            .select(*columns, *self._verdict)
            # A batch is in memory and bounded already. The streaming engine (Polars's
            # default) cuts it into morsels for its own executor: about 2 ms more per batch
            # whatever its size, and slower end to end on the contacts benchmark.
            .collect(engine="in-memory")
        )

    def _reference_reason(self, reference: Reference) -> int:
        self.reasons.append(
            Reason(
                "reference",
                reference.field,
                f"does not exist in {reference.entity}.{reference.target_field} for this tenant",
            )
        )
        return len(self.reasons) - 1


def run_context(now: datetime) -> list[pl.Expr]:
    """The columns of run context that mapping functions read (registry.context_column)."""
    if now.tzinfo is None:
        raise ValueError("the run's start time must be timezone-aware")
    return [pl.lit(now.astimezone(UTC), dtype=TIMESTAMP.to_polars()).alias(NOW_COLUMN)]


def check_references(
    frame: pl.DataFrame,
    plan: RowPlan,
    existing: Callable[[Reference, pl.Series], pl.Series],
) -> pl.DataFrame:
    """``frame`` with every open row whose reference exists nowhere marked rejected;
    ``existing(reference, candidates)`` gives the candidate values that exist already."""
    for reference in plan.mapping.references:
        open_rows = frame.filter(pl.col(CHECK).is_null())
        candidates = open_rows.get_column(reference.field).drop_nulls().unique()
        if candidates.is_empty():
            continue
        found = existing(reference, candidates)
        if reference.entity == plan.mapping.entity.entity:
            # A row may reference another row of the same batch.
            found = pl.concat([found, open_rows.get_column(reference.target_field)])
        frame = reject_missing_references(
            frame, reference, found, plan.reference_reasons[reference.field]
        )
    return frame


def reject_missing_references(
    frame: pl.DataFrame, reference: Reference, found: pl.Series, reason_index: int
) -> pl.DataFrame:
    """Mark rows whose reference value is not among ``found`` (and not already rejected)."""
    column = pl.col(reference.field)
    missing = pl.col(CHECK).is_null() & column.is_not_null() & ~column.is_in(found.implode())
    return frame.with_columns(
        pl.when(missing).then(pl.lit(reason_index, pl.Int32)).otherwise(pl.col(CHECK)).alias(CHECK),
        pl.when(missing).then(column.cast(pl.String)).otherwise(pl.col(VALUE)).alias(VALUE),
    )


def expression_value(compiled: CompiledExpression) -> pl.Expr:
    return compiled.staged.expr if compiled.staged else compiled.expr


def expression_failures(compiled: CompiledExpression) -> tuple[RowFailure, ...]:
    return compiled.staged.failures if compiled.staged else compiled.failures


def step_levels(compiled: Iterable[CompiledExpression]) -> list[list[pl.Expr]]:
    """The step columns of several expressions, grouped so each group reads only earlier
    ones."""
    by_level: dict[int, list[pl.Expr]] = {}
    for expression in compiled:
        for step in expression.staged.steps if expression.staged else ():
            by_level.setdefault(step.level, []).append(step.expr.alias(step.name))
    return [by_level[level] for level in sorted(by_level)]


def _entity_types(mapping: CompiledMapping) -> dict[str, DataType]:
    return {name: spec.data_type for name, spec in mapping.entity.fields.items()}


def _typed_field(name: str, data_type: DataType, mapping: CompiledMapping) -> pl.Expr:
    conversion = mapping.conversions.get(name)
    if conversion is not None:
        return expression_value(conversion)
    if data_type.kind is Kind.STRUCT and any(
        p in mapping.conversions for p, _ in leaf_paths(name, data_type)
    ):
        return _typed_struct(name, data_type, mapping)
    return pl.col(name)


def _typed_struct(path: str, data_type: DataType, mapping: CompiledMapping) -> pl.Expr:
    """Rebuild a nested field with its converted leaves, at any depth."""
    leaves = []
    for inner, inner_type in data_type.fields:
        inner_path = f"{path}.{inner}"
        conversion = mapping.conversions.get(inner_path)
        if conversion is not None:
            leaves.append(expression_value(conversion).alias(inner))
        elif inner_type.kind is Kind.STRUCT:
            leaves.append(_typed_struct(inner_path, inner_type, mapping).alias(inner))
        else:
            leaves.append(_nested(inner_path).alias(inner))
    return pl.struct(leaves)


def _nested(path: str) -> pl.Expr:
    top, *rest = path.split(".")
    expr = pl.col(top)
    for part in rest:
        expr = expr.struct.field(part)
    return expr


def _declared(mapping: CompiledMapping, path: str) -> str:
    top, *rest = path.split(".")
    data_type = mapping.source_fields[top]
    for part in rest:
        inner = data_type.field(part)
        assert inner is not None
        data_type = inner
    return str(data_type)
