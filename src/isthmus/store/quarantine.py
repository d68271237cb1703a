"""Quarantined records in the state store: added by runs, listed, replayed, purged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, select, true, update

from isthmus.store.convert import quarantine_entry, quarantine_values, utc
from isthmus.store.models import QuarantineEntry, QuarantineStatus, ReasonGroup, quarantine


@dataclass(frozen=True)
class QuarantineFilter:
    """Which quarantined records to select; unset fields select everything."""

    integration: str | None = None
    run_id: int | None = None
    rule: str | None = None
    field: str | None = None
    status: QuarantineStatus | None = QuarantineStatus.OPEN
    older_than: dt.datetime | None = None
    mappings: tuple[str, ...] | None = None
    after_id: int | None = None  # a keyset page: only records after this id

    def where(self) -> ColumnElement[bool]:
        q = quarantine.c
        conditions: list[ColumnElement[bool]] = [true()]
        if self.integration is not None:
            conditions.append(q.integration == self.integration)
        if self.run_id is not None:
            conditions.append(q.run_id == self.run_id)
        if self.rule is not None:
            conditions.append(q.rule == self.rule)
        if self.field is not None:
            conditions.append(q.field == self.field)
        if self.status is not None:
            conditions.append(q.status == self.status.value)
        if self.older_than is not None:
            conditions.append(q.created_at < utc(self.older_than))
        if self.mappings is not None:
            conditions.append(q.mapping.in_(self.mappings))
        if self.after_id is not None:
            conditions.append(q.id > self.after_id)
        return and_(*conditions)


class QuarantineMixin:
    engine: Engine

    def add_quarantine(self, entries: Iterable[QuarantineEntry]) -> int:
        values = [quarantine_values(e) for e in entries]
        if values:
            with self.engine.begin() as connection:
                connection.execute(insert(quarantine), values)
        return len(values)

    def quarantine_groups(self, run_id: int, *, examples: int = 3) -> list[ReasonGroup]:
        """What one run rejected, grouped by rule and field, largest group first."""
        q = quarantine.c
        with self.engine.connect() as connection:
            counts = connection.execute(
                select(q.rule, q.field, func.count().label("n"))
                .where(q.run_id == run_id)
                .group_by(q.rule, q.field)
                .order_by(func.count().desc(), q.rule, q.field)
            ).all()
            groups = []
            for rule, field_name, count in counts:
                same_field = q.field.is_(None) if field_name is None else q.field == field_name
                rows = connection.execute(
                    select(quarantine)
                    .where(and_(q.run_id == run_id, q.rule == rule, same_field))
                    .order_by(q.id)
                    .limit(examples)
                ).all()
                groups.append(
                    ReasonGroup(
                        rule, field_name, int(count), tuple(quarantine_entry(r) for r in rows)
                    )
                )
            return groups

    def quarantine_entries(self, run_id: int) -> list[QuarantineEntry]:
        """Everything one run rejected, whatever happened to it since."""
        return self.find_quarantine(QuarantineFilter(run_id=run_id, status=None))

    def find_quarantine(
        self, selection: QuarantineFilter, *, limit: int | None = None
    ) -> list[QuarantineEntry]:
        query = select(quarantine).where(selection.where()).order_by(quarantine.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [quarantine_entry(r) for r in connection.execute(query).all()]

    def count_quarantine(self, selection: QuarantineFilter) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(quarantine).where(selection.where())
                ).scalar_one()
            )

    def close_quarantine(
        self, ids: Sequence[int], *, status: QuarantineStatus, run_id: int
    ) -> None:
        """Mark replayed records resolved (loaded) or superseded (rejected again)."""
        if not ids:
            return
        with self.engine.begin() as connection:
            for start in range(0, len(ids), 500):
                connection.execute(
                    update(quarantine)
                    .where(quarantine.c.id.in_(ids[start : start + 500]))
                    .values(status=status.value, resolved_run_id=run_id)
                )

    def purge_quarantine(self, selection: QuarantineFilter) -> int:
        """Delete the selected records for good; how many were deleted."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(quarantine).where(selection.where()))
            return int(result.rowcount)
