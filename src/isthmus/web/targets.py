"""Where a webhook delivery goes: the integration, tenant and stream its address names, the
webhook source's options and the signing key, read from the project as it is now.

The project is read again when one of its files changes, so `isthmus serve` follows
configuration changes without a restart; the signing secret is read on every delivery, so a
rotated secret file takes effect at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from isthmus.config.errors import SecretError
from isthmus.config.project import (
    CORE_DIR,
    INTEGRATIONS_DIR,
    PROJECT_FILE,
    TEMPLATES_DIR,
    Project,
    load_project,
)
from isthmus.config.resolve import ResolvedIntegration, resolve
from isthmus.config.secrets import read_secret
from isthmus.connectors.webhook import WebhookOptions
from isthmus.connectors.webhook_signing import signing_key

WEBHOOK_CONNECTOR = "webhook"


class DeliveryRefusedError(Exception):
    """A delivery is refused: ``status`` and ``detail`` go to the sender, ``reason`` (which
    may say more) only to the log."""

    def __init__(self, status: int, detail: str, reason: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason or detail


NOT_FOUND = "no webhook endpoint at this address"
NOT_READY = "this endpoint cannot verify deliveries now; try again later"


@dataclass(frozen=True)
class HookTarget:
    tenant: str
    integration: str
    stream: str
    options: WebhookOptions
    key: bytes = field(repr=False)


class ProjectFiles:
    """The project, loaded again whenever one of its YAML files changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._project: Project | None = None

    def current(self) -> Project:
        stamp = self._fingerprint()
        with self._lock:
            if self._project is None or stamp != self._stamp:
                self._project = load_project(self.root)
                self._stamp = stamp
            return self._project

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        paths = [self.root / PROJECT_FILE]
        for folder in (CORE_DIR, TEMPLATES_DIR, INTEGRATIONS_DIR):
            paths += sorted((self.root / folder).rglob("*.y*ml"))
        stamp = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            stamp.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamp)


def find_target(
    project: Project, tenant: str, integration: str, stream: str, environ: Mapping[str, str]
) -> HookTarget:
    """The delivery's target, or DeliveryRefusedError: 404 whichever part of the address is
    wrong (only the log says which), 503 when the integration cannot check signatures now."""
    loaded = project.integrations.get(integration)
    if loaded is None:
        raise DeliveryRefusedError(404, NOT_FOUND, "no such integration")
    if loaded.model.tenant != tenant:
        raise DeliveryRefusedError(404, NOT_FOUND, "the integration belongs to another tenant")
    resolved, _ = resolve(project, integration)
    if resolved is None:
        raise DeliveryRefusedError(
            404, NOT_FOUND, "the integration's template does not resolve (see isthmus validate)"
        )
    template = resolved.template
    if template.source.connector != WEBHOOK_CONNECTOR:
        raise DeliveryRefusedError(
            404, NOT_FOUND, "the integration's source is not the webhook connector"
        )
    if stream not in template.streams:
        raise DeliveryRefusedError(404, NOT_FOUND, "the integration's template has no such stream")
    try:
        options = WebhookOptions.model_validate(template.source.options)
    except ValidationError:
        raise DeliveryRefusedError(
            503, NOT_READY, "the webhook source's options do not validate (see isthmus validate)"
        ) from None
    return HookTarget(
        tenant, integration, stream, options, _key(project, resolved, options, environ)
    )


def _key(
    project: Project,
    resolved: ResolvedIntegration,
    options: WebhookOptions,
    environ: Mapping[str, str],
) -> bytes:
    """The signing key, read from the secret's binding now."""
    name = options.secret_name
    binding = resolved.integration.connection.secrets.get(name)
    if binding is None:
        raise DeliveryRefusedError(
            503, NOT_READY, f"secret {name!r} is not bound by the integration"
        )
    try:
        secret = read_secret(name, binding, base=project.root, environ=environ)
        return signing_key(secret.reveal())
    except SecretError as exc:
        raise DeliveryRefusedError(503, NOT_READY, exc.message) from None
    except ValueError as exc:
        raise DeliveryRefusedError(503, NOT_READY, f"secret {name!r}: {exc}") from None
