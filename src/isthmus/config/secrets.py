"""Secret references: configuration names a secret, never holds its value.

A template writes ``${secret:NAME}`` where a credential goes; each integration binds NAME to
``env:VARIABLE`` or ``file:PATH``. Values are read only when a run starts, wrapped in
:class:`Secret` so that printing, logging or storing one shows ``***`` instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from isthmus.config.errors import SecretError
from isthmus.config.models import SECRET_REFERENCE, Connection, Template


class Secret:
    """A resolved secret value. Only :meth:`reveal` gives the value."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def secret_names(value: Any) -> set[str]:
    """Every NAME a ``${secret:NAME}`` inside ``value`` (nested dicts and lists) refers to."""
    if isinstance(value, str):
        return set(SECRET_REFERENCE.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(secret_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value)) if value else set()
    return set()


def template_secret_names(template: Template) -> set[str]:
    """Every secret a template uses: in its source options, any stream's options, or its
    write-back options."""
    used = secret_names(template.source.options)
    for stream in template.streams.values():
        used |= secret_names(stream.connector_options)
    if template.writeback is not None:
        used |= secret_names(template.writeback.options)
    return used


def used_secret_names(template: Template, connection: Connection) -> set[str]:
    """Every secret a run of an integration needs: the template's, and those its connection
    refers to (a database password, for instance)."""
    return template_secret_names(template) | secret_names(connection.connector_options)


def read_secret(
    name: str, reference: str, *, base: Path, environ: Mapping[str, str] | None = None
) -> Secret:
    """Read the value a binding such as ``env:ACME_TOKEN`` or ``file:secrets/token`` points to."""
    env = os.environ if environ is None else environ
    scheme, _, target = reference.partition(":")
    if scheme == "env":
        if target not in env:
            raise SecretError(
                f"secret {name!r} is bound to environment variable {target}, which is not set",
                hint=f"export {target}=... before running, or bind {name!r} to another variable",
            )
        return Secret(name, env[target])
    if scheme == "file":
        path = Path(target) if Path(target).is_absolute() else base / target
        try:
            return Secret(name, path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise SecretError(
                f"secret {name!r} is bound to file {path}, which cannot be read ({exc.strerror})",
                hint="check the path and its permissions",
            ) from None
    # Never echo the binding: a value pasted here by mistake must not reach an error message.
    raise SecretError(
        f"secret {name!r} is bound to something that is neither env: nor file:",
        hint="bind secrets as env:VARIABLE or file:PATH",
    )


def substitute(value: Any, secrets: Mapping[str, Secret]) -> Any:
    """``value`` with each string holding a reference replaced by a :class:`Secret`."""
    if isinstance(value, str):
        names = SECRET_REFERENCE.findall(value)
        if not names:
            return value
        missing = [n for n in names if n not in secrets]
        if missing:
            raise SecretError(
                f"secret {missing[0]!r} is used but not bound",
                hint=f"bind it under connection.secrets: {missing[0]}: env:VARIABLE",
            )
        text = SECRET_REFERENCE.sub(lambda m: secrets[m.group(1)].reveal(), value)
        return Secret(names[0] if len(names) == 1 else "+".join(names), text)
    if isinstance(value, Mapping):
        return {k: substitute(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, secrets) for v in value]
    return value
