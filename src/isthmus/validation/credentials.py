"""A credential is a secret reference, never a value.

Wherever a template or an integration configures a connector (source and stream options,
write-back options, the integration's connection and overrides), a key named like a
credential must hold a ``${secret:NAME}`` reference. The value found is never repeated in
the diagnostic: it may be the secret itself, pasted by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from isthmus.config.documents import Document, PathKey
from isthmus.config.models import SECRET_REFERENCE
from isthmus.diagnostics import Diagnostic, Location

CODE = "credential-not-a-secret"
# A key is a credential when its last word (snake_case or camelCase) names one: access_token
# and client_secret are, token_url and secret_name are not.
CREDENTIAL_WORDS = re.compile(
    r"(?:^|_)(?:token|password|passwd|secret|api_?key|private_?key|access_?key|credentials?)$"
)
# Where connectors are configured, per kind of file (a "*" matches any key at that level).
CONFIGURED: dict[str, tuple[PathKey, ...]] = {
    "template": (("source", "options"), ("streams", "*"), ("writeback", "options")),
    "integration": (("connection",), ("overrides",)),
}
# Keys under a configured place that are not connector settings.
NOT_SETTINGS = frozenset({"schema", "secrets", "description"})


def is_credential_key(key: str) -> bool:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower().replace("-", "_")
    return bool(CREDENTIAL_WORDS.search(snake))


def credential_diagnostics(
    kind: str,
    document: Document,
    reported: Sequence[Diagnostic] = (),
) -> list[Diagnostic]:
    """One error per credential-named key of ``document`` that holds a value, unless an
    error in ``reported`` already stands at that key or one of its parents (a connector's
    own options model refuses credential values too: one error is enough)."""
    taken = {d.location for d in reported if d.is_error and d.location is not None}
    problems = []
    for place in CONFIGURED[kind]:
        for path, value in _leaves_under(document.data, place):
            key = str(path[-1])
            if not is_credential_key(key) or _is_reference(value):
                continue
            if _already_reported(document, path, taken):
                continue
            dotted = ".".join(str(p) for p in path)
            problems.append(
                Diagnostic(
                    CODE,
                    f"{dotted} is named like a credential but holds a value, not a secret "
                    "reference (the value is not shown)",
                    document.location(path),
                    hint=f"write {key}: ${{secret:NAME}} and bind NAME in the integration's "
                    "connection.secrets to env:VARIABLE or file:PATH",
                )
            )
    return problems


def _already_reported(document: Document, path: PathKey, taken: set[Location]) -> bool:
    """Whether an error stands at ``path`` or one of its parents (at the key or the value)."""
    return any(
        document.location(path[:n], at_key=at_key) in taken
        for n in range(1, len(path) + 1)
        for at_key in (False, True)
    )


def _is_reference(value: Any) -> bool:
    if value is None or value == "":
        return True  # nothing is stored there
    return isinstance(value, str) and SECRET_REFERENCE.fullmatch(value.strip()) is not None


def _leaves_under(data: Any, place: PathKey) -> Iterator[tuple[PathKey, Any]]:
    """Every scalar below the node(s) at ``place``, with its full path."""
    nodes: list[tuple[PathKey, Any]] = [((), data)]
    for step in place:
        nodes = [
            ((*path, key), child)
            for path, node in nodes
            if isinstance(node, dict)
            for key, child in node.items()
            if step in ("*", key)
        ]
    for path, node in nodes:
        yield from _scalars(path, node)


def _scalars(path: PathKey, node: Any) -> Iterator[tuple[PathKey, Any]]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key not in NOT_SETTINGS:
                yield from _scalars((*path, key), child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _scalars((*path, index), child)
    else:
        yield path, node
