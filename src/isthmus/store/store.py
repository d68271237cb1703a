"""The state store: runs, stream counts, quarantine, checkpoints, leases, schedules and
inbound webhook events.

Every method is one short transaction, so the scheduler, runs and the command line can share
one SQLite file (WAL mode, a busy timeout). The store never reads the clock: callers pass
times in, and every time is stored as UTC.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from isthmus.store.checkpoints import CheckpointsMixin
from isthmus.store.convert import safe_url
from isthmus.store.deliveries import DeliveriesMixin
from isthmus.store.errors import StoreUnavailableError
from isthmus.store.events import EventsMixin
from isthmus.store.leases import LeasesMixin
from isthmus.store.quarantine import QuarantineMixin
from isthmus.store.runs import RunsMixin
from isthmus.store.schedules import SchedulesMixin

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration (a test checks it is Alembic's head). A store already there is not
# migrated, and Alembic, slow to import, is not loaded: every command starts faster.
HEAD_REVISION = "0004"
_MIGRATING = threading.Lock()
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StateStore(
    RunsMixin,
    QuarantineMixin,
    CheckpointsMixin,
    LeasesMixin,
    SchedulesMixin,
    EventsMixin,
    DeliveriesMixin,
):
    """Access to the state store at ``url``; :meth:`open` migrates it to the latest schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> StateStore:
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            store = cls(engine)
            store.migrate()
        except ImportError as exc:
            raise StoreUnavailableError(
                f"cannot open the state store at {safe_url(url)}: its database driver "
                f"({exc.name}) is not installed",
                hint="install the driver (for PostgreSQL: pip install 'isthmus[postgres]') or "
                "use a sqlite:/// URL",
            ) from exc
        except (SQLAlchemyError, OSError) as exc:
            detail = getattr(exc, "orig", None) or exc
            raise StoreUnavailableError(
                f"cannot open the state store at {safe_url(url)}: {type(exc).__name__}: "
                f"{str(detail).splitlines()[0]}",
                hint="check state.database in isthmus.yaml and that the database is reachable",
            ) from exc
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration; nothing to do if it is there already.

        Alembic's command API keeps process-wide state, so migrations in one process take
        turns (the scheduler opens stores from several threads).
        """
        with _MIGRATING:
            if self.revision() == HEAD_REVISION:
                return
            from alembic import command  # noqa: PLC0415 - only when there is work to do
            from alembic.config import Config  # noqa: PLC0415

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The migration the store's schema is at; None for an empty database."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar_one_or_none()

    def close(self) -> None:
        self.engine.dispose()
