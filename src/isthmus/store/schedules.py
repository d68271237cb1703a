"""Schedule state per integration: paused or not, when it runs next, how often it failed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, select, update

from isthmus.store.convert import schedule_state, utc
from isthmus.store.models import ScheduleState, schedules


class SchedulesMixin:
    engine: Engine

    def schedule_state(self, integration: str) -> ScheduleState:
        """The integration's state; a never-seen integration is unpaused with no history."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(schedules).where(schedules.c.integration == integration)
            ).first()
        if row is None:
            return ScheduleState(integration, False, None, None, None, None, 0)
        return schedule_state(row)

    def schedule_states(self) -> dict[str, ScheduleState]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(schedules)).all()
        return {r.integration: schedule_state(r) for r in rows}

    def _upsert_schedule(self, integration: str, **values: object) -> None:
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(schedules).where(schedules.c.integration == integration).values(**values)
            ).rowcount
            if not changed:
                defaults: dict[str, object] = {"paused": False, "consecutive_failures": 0}
                connection.execute(
                    insert(schedules).values(integration=integration, **{**defaults, **values})
                )

    def set_paused(
        self, integration: str, *, paused: bool, reason: str | None, at: dt.datetime
    ) -> None:
        self._upsert_schedule(
            integration,
            paused=paused,
            paused_reason=reason if paused else None,
            paused_at=utc(at) if paused else None,
            **({} if paused else {"consecutive_failures": 0}),
        )

    def set_next_run(self, integration: str, at: dt.datetime | None) -> None:
        self._upsert_schedule(integration, next_run_at=utc(at) if at else None)

    def record_outcome(self, integration: str, *, run_id: int | None, failed: bool) -> int:
        """Count consecutive failed runs (a success resets it); the count after this run.

        ``run_id`` is None for an attempt that failed before a run was recorded (it did not
        validate): the last recorded run stays the one named.
        """
        count = self.schedule_state(integration).consecutive_failures + 1 if failed else 0
        values: dict[str, object] = {"consecutive_failures": count}
        if run_id is not None:
            values["last_run_id"] = run_id
        self._upsert_schedule(integration, **values)
        return count
