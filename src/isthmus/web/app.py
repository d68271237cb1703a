"""The HTTP app `isthmus serve` runs: for now, the webhook endpoint.

``create_app`` reads the project once to open its state store (which it closes when the app
shuts down); each delivery then reads the project as it is (see ``targets.ProjectFiles``).
The clock and the environment the secrets are read from are injected, so tests control
time and never wait. There is no interactive API documentation: the one endpoint is for
machines, and each delivery must be signed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from isthmus.errors import ProjectError
from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.preparation import database_urls
from isthmus.store import StateStore
from isthmus.web.hooks import Hooks, router
from isthmus.web.targets import ProjectFiles


def create_app(
    project_root: Path,
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The app serving the project at ``project_root``; raises ProjectError (or
    ProjectNotFoundError) when the project file does not load, StoreUnavailableError when
    the state store cannot be opened."""
    files = ProjectFiles(project_root)
    project = files.current()
    if project.settings is None:
        raise ProjectError(
            f"{project_root / 'isthmus.yaml'} does not load, so there is no state store to "
            "keep webhook events in",
            hint="run `isthmus validate` to see what is wrong with it",
        )
    store = StateStore.open(database_urls(project).state)
    hooks = Hooks(
        files=files,
        store=store,
        now=(clock or SystemClock()).now,
        environ=os.environ if environ is None else environ,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="isthmus",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.hooks = hooks
    app.include_router(router)
    return app
