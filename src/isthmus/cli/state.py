"""The project's state store, opened for one command and closed after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from isthmus.config.project import Project
from isthmus.execution import database_urls
from isthmus.store import StateStore


@contextmanager
def state_store(project: Project) -> Iterator[StateStore]:
    store = StateStore.open(database_urls(project).state)
    try:
        yield store
    finally:
        store.close()
