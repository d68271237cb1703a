"""Leases: one run of an integration at a time, and a dead holder's lease expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from isthmus.store.convert import aware, utc
from isthmus.store.errors import LeaseHeldError, LeaseLostError
from isthmus.store.models import RunStatus, leases, runs

ABANDONED_NOTE = "its process stopped without finishing; run {run} found it when it started"


class LeasesMixin:
    engine: Engine

    def acquire_lease(
        self, integration: str, *, run_id: int, owner: str, now: dt.datetime, ttl: dt.timedelta
    ) -> None:
        """Take the integration's lease, or raise LeaseHeldError naming the holder's run.

        An expired lease is taken over. Once the lease is ours, any other run of the
        integration still marked running is dead (a live one would hold the lease) and is
        marked abandoned.
        """
        try:
            with self.engine.begin() as connection:
                expired = connection.execute(
                    select(leases.c.run_id).where(
                        and_(leases.c.integration == integration, leases.c.expires_at < utc(now))
                    )
                ).scalar()
                if expired is not None:
                    connection.execute(delete(leases).where(leases.c.integration == integration))
                holder = connection.execute(
                    select(leases).where(leases.c.integration == integration)
                ).first()
                if holder is None:
                    connection.execute(
                        insert(leases).values(
                            integration=integration,
                            run_id=run_id,
                            owner=owner,
                            acquired_at=utc(now),
                            expires_at=utc(now + ttl),
                        )
                    )
                    # Holding the lease, no other run of this integration can be alive: one
                    # still marked running died, with its lease or before it took one.
                    connection.execute(
                        update(runs)
                        .where(
                            (runs.c.integration == integration)
                            & (runs.c.status == RunStatus.RUNNING.value)
                            & (runs.c.id != run_id)
                        )
                        .values(
                            status=RunStatus.ABANDONED.value,
                            finished_at=utc(now),
                            error="the process running it stopped without finishing",
                            error_class="internal",
                            note=ABANDONED_NOTE.format(run=run_id),
                        )
                    )
                    return
        except IntegrityError:
            # Another run inserted the lease between our read and our insert.
            with self.engine.connect() as connection:
                holder = connection.execute(
                    select(leases).where(leases.c.integration == integration)
                ).first()
            if holder is None:
                raise
        until = aware(holder.expires_at)
        raise LeaseHeldError(
            f"integration {integration!r} is already running: run {holder.run_id} "
            f"(owner {holder.owner}) holds its lease until {until:%H:%M:%S} UTC",
            holder_run_id=int(holder.run_id),
            hint=f"wait for run {holder.run_id} to finish; a lease whose owner died expires "
            "on its own",
        )

    def renew_lease(
        self, integration: str, *, run_id: int, now: dt.datetime, ttl: dt.timedelta
    ) -> None:
        """Extend the lease; raise LeaseLostError if it expired and another run took it."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(leases)
                .where(and_(leases.c.integration == integration, leases.c.run_id == run_id))
                .values(expires_at=utc(now + ttl))
            )
            if result.rowcount == 1:
                return
            holder = connection.execute(
                select(leases).where(leases.c.integration == integration)
            ).first()
        taken = f"run {holder.run_id} holds it now" if holder else "nobody holds it now"
        raise LeaseLostError(
            f"run {run_id} lost its lease on integration {integration!r} ({taken}); it must "
            "not commit",
            hint="the run was slower than its lease; it is rolled back and can be run again",
        )

    def release_lease(self, integration: str, *, run_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(leases).where(
                    and_(leases.c.integration == integration, leases.c.run_id == run_id)
                )
            )

    def lease_holder(self, integration: str) -> tuple[int, str, dt.datetime] | None:
        """(run id, owner, expiry) of the lease on an integration, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(leases).where(leases.c.integration == integration)
            ).first()
        return None if row is None else (int(row.run_id), row.owner, aware(row.expires_at))
