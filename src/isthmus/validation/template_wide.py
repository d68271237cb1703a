"""Checks across a template's streams and mappings, beyond each mapping on its own.

- a stream's ``cursor`` must be a field of its schema (``undeclared-source-field``);
- two mappings must not write the same core field of one entity from one stream
  (``duplicate-mapping``): each record would be written twice, the second write undoing the
  first;
- references point at entities the template writes or declares pre-existing
  (:mod:`isthmus.validation.references_written`).
"""

from __future__ import annotations

import difflib

from isthmus.config.documents import Locator
from isthmus.config.models import Mapping, Template
from isthmus.config.project import Project
from isthmus.diagnostics import Diagnostic
from isthmus.validation.references_written import check_preexisting, check_references_written

DUPLICATE_MAPPING = "duplicate-mapping"
UNDECLARED_SOURCE_FIELD = "undeclared-source-field"


def template_wide_checks(
    project: Project, template: Template, locator: Locator
) -> list[Diagnostic]:
    return [
        *check_stream_cursors(template, locator),
        *check_duplicate_mappings(template, locator),
        *check_preexisting(project, template, locator),
        *check_references_written(project, template, locator),
    ]


def check_stream_cursors(template: Template, locator: Locator) -> list[Diagnostic]:
    """A stream's cursor orders its changes, so it must be one of its declared fields."""
    problems = []
    for name, stream in template.streams.items():
        cursor = stream.cursor
        if cursor is None or cursor in stream.fields:
            continue
        close = difflib.get_close_matches(cursor, [str(field) for field in stream.fields], n=1)
        problems.append(
            Diagnostic(
                UNDECLARED_SOURCE_FIELD,
                f"stream {name!r}: cursor {cursor!r} is not in its schema",
                locator.location(("streams", name, "cursor")),
                hint=f"did you mean {close[0]!r}?"
                if close
                else f"declare {cursor} under streams.{name}.schema",
            )
        )
    return problems


def check_duplicate_mappings(template: Template, locator: Locator) -> list[Diagnostic]:
    """A second mapping of one stream into one entity that writes fields the first writes."""
    earlier: dict[tuple[str, str], list[tuple[str, Mapping]]] = {}
    problems = []
    for name, mapping in template.mappings.items():
        same = earlier.setdefault((mapping.stream, mapping.entity), [])
        for first_name, first in same:
            shared = [field for field in mapping.fields if field in first.fields]
            if shared:
                problems.append(_duplicate(locator, (first_name, name), mapping, shared))
                break
        same.append((name, mapping))
    return problems


def _duplicate(
    locator: Locator,
    names: tuple[str, str],
    mapping: Mapping,
    shared: list[str],
) -> Diagnostic:
    first, second = names
    fields = ", ".join(f"{mapping.entity}.{field}" for field in shared)
    return Diagnostic(
        DUPLICATE_MAPPING,
        f"mappings {first!r} and {second!r} both write {fields} from stream "
        f"{mapping.stream!r}: each record would be written twice, the second write undoing "
        "the first",
        locator.location(("mappings", second, "fields", shared[0]), at_key=True),
        hint=f"merge {second!r} into {first!r}, or remove one of them",
    )
