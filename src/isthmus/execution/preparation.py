"""What a run needs before it starts: how to run, where the databases are, the integration
validated, and its secrets. Dry runs, plans, replays and the scheduler use these too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from isthmus.config.project import Project
from isthmus.config.secrets import Secret, read_secret, used_secret_names
from isthmus.connectors.base import Destination, Source
from isthmus.connectors.writeback import RecordSink
from isthmus.diagnostics import has_errors
from isthmus.errors import NotFoundError, ValidationFailedError
from isthmus.execution.clock import Clock, SystemClock
from isthmus.execution.guard import DEFAULT_LEASE_TTL
from isthmus.execution.models import RunObserver, SilentObserver
from isthmus.validation import check_for_run
from isthmus.validation.models import CompiledIntegration


@dataclass
class RunSettings:
    """How to run: who asked, what to read, and the seams tests and embedders replace."""

    trigger: str = "manual"
    clock: Clock = field(default_factory=SystemClock)
    observer: RunObserver = field(default_factory=SilentObserver)
    environ: Mapping[str, str] | None = None
    destination: Destination | None = None
    source: Source | None = None  # read every stream from this source instead
    sink: RecordSink | None = None  # send every write-back target to this sink instead
    batch_size: int | None = None
    full: bool = False  # read everything once, whatever the checkpoints say
    should_stop: Callable[[], str | None] | None = None  # polled at batch boundaries
    lease_ttl: dt.timedelta = DEFAULT_LEASE_TTL
    rng: random.Random | None = None  # retry jitter


@dataclass(frozen=True)
class DatabaseUrls:
    core: str
    state: str


def database_urls(project: Project) -> DatabaseUrls:
    """The project's database URLs, with relative SQLite paths made absolute."""
    assert project.settings is not None
    settings = project.settings.model
    return DatabaseUrls(
        _absolute(settings.core.database, project), _absolute(settings.state.database, project)
    )


def _absolute(url: str, project: Project) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.removeprefix(prefix).startswith("/"):
        return prefix + str((project.root / url.removeprefix(prefix)).resolve())
    return url


def validated(project: Project, name: str, *, today: dt.date | None = None) -> CompiledIntegration:
    if name not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        load_errors = [d for d in project.diagnostics if d.is_error]
        if load_errors:
            raise ValidationFailedError(
                f"integration {name!r} is not among the integrations that loaded, and the "
                "project has files that did not load",
                load_errors,
                hint="fix the errors below, then run again (`isthmus validate` lists them)",
            )
        raise NotFoundError(
            f"no integration named {name!r} in {project.root}",
            hint=f"integrations in this project: {known}",
        )
    compiled, problems = check_for_run(project, name, today=today)
    if compiled is None or has_errors(problems):
        raise ValidationFailedError(
            f"integration {name!r} does not validate; nothing was run",
            [p for p in problems if p.is_error],
            hint="fix the errors below and run again",
        )
    return compiled


def run_secrets(
    project: Project, compiled: CompiledIntegration, environ: Mapping[str, str] | None
) -> dict[str, Secret]:
    """The values of the secrets the integration uses, read from where they are bound."""
    connection = compiled.resolved.integration.connection
    used = used_secret_names(compiled.resolved.template, connection)
    bindings = connection.secrets
    return {
        name: read_secret(name, bindings[name], base=project.root, environ=environ)
        for name in sorted(used)
    }
