"""Checkpoints in the state store: the copy people read and resets go through."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select

from isthmus.store.convert import aware, utc
from isthmus.store.models import checkpoints


class CheckpointsMixin:
    engine: Engine

    def checkpoint(self, integration: str, mapping: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            token = connection.execute(
                select(checkpoints.c.token).where(
                    and_(checkpoints.c.integration == integration, checkpoints.c.mapping == mapping)
                )
            ).scalar()
        return None if token is None else dict(json.loads(token))

    def checkpoints_of(
        self, integration: str
    ) -> dict[str, tuple[dict[str, Any], int, dt.datetime]]:
        """Mapping -> (token, run id, when), for one integration."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(checkpoints)
                .where(checkpoints.c.integration == integration)
                .order_by(checkpoints.c.mapping)
            ).all()
        return {r.mapping: (dict(json.loads(r.token)), r.run_id, aware(r.updated_at)) for r in rows}

    def save_checkpoints(
        self, integration: str, tokens: dict[str, dict[str, Any]], *, run_id: int, at: dt.datetime
    ) -> None:
        with self.engine.begin() as connection:
            for mapping, token in tokens.items():
                key = and_(
                    checkpoints.c.integration == integration, checkpoints.c.mapping == mapping
                )
                connection.execute(delete(checkpoints).where(key))
                connection.execute(
                    insert(checkpoints).values(
                        integration=integration,
                        mapping=mapping,
                        token=json.dumps(token, sort_keys=True),
                        run_id=run_id,
                        updated_at=utc(at),
                    )
                )

    def delete_checkpoints(self, integration: str, mapping: str | None = None) -> int:
        condition = checkpoints.c.integration == integration
        if mapping is not None:
            condition = and_(condition, checkpoints.c.mapping == mapping)
        with self.engine.begin() as connection:
            return int(connection.execute(delete(checkpoints).where(condition)).rowcount)
