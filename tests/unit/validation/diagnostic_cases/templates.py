"""Diagnostic codes of templates: resolving an integration's template, template inheritance,
what a template's mappings and sync settings name."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from isthmus.diagnostics import Severity
from support_diagnostics import Also, Case, append_to, replace_in, write_file

ACME = "integrations/acme/crm.yaml"
CONTACTS = "templates/crm-contacts-2.1.0.yaml"
API = "templates/crm-api-1.0.0.yaml"
NO_DELETE_RULE = "policy:\n  delete-propagation-requires-exception: false\n"

LOOP = """\
template: loop
version: 1.0.0
extends: loop@^1
"""
CHILD = """\
template: crm-child
version: 1.0.0
extends: {parent}
description: The CRM export with a different schedule.
sync:
  schedule: "0 * * * *"
"""
BASE = """\
template: crm-base
version: 1.0.0
extends: crm-nothing@^1
"""


def _child_of(root: Path, parent: str) -> None:
    write_file(root, "templates/crm-child-1.0.0.yaml", CHILD.format(parent=parent))


def _broken_parent(root: Path) -> None:
    write_file(root, "templates/crm-base-1.0.0.yaml", BASE)
    _child_of(root, "crm-base@^1")


def _without_delete_rule(root: Path, relative: str, old: str, new: str) -> None:
    append_to(root, "isthmus.yaml", NO_DELETE_RULE)
    replace_in(root, relative, old, new)


CASES = [
    Case(
        "unknown-template",
        partial(replace_in, relative=ACME, old="crm-contacts@^2", new="crm-contact@^2"),
        ACME,
        "crm-contact@^2",
    ),
    Case(
        "unknown-template",
        partial(_child_of, parent="crm-nothing@^1"),
        "templates/crm-child-1.0.0.yaml",
        "crm-nothing@^1",
        name="parent",
    ),
    Case(
        "no-matching-template-version",
        partial(replace_in, relative=ACME, old="crm-contacts@^2", new="crm-contacts@^3"),
        ACME,
        "crm-contacts@^3",
    ),
    Case(
        "template-cycle",
        partial(write_file, relative="templates/loop-1.0.0.yaml", text=LOOP),
        "templates/loop-1.0.0.yaml",
        "extends:",
    ),
    Case(
        "template-parent",
        partial(_child_of, parent="crm-contacts@^2"),
        "templates/crm-child-1.0.0.yaml",
        "crm-contacts@^2",
        severity=Severity.INFO,
    ),
    Case(
        "broken-dependency",
        _broken_parent,
        "templates/crm-child-1.0.0.yaml",
        "crm-base@^1",
        # The error that stopped the parent from loading comes with it.
        also=(Also("unknown-template", "templates/crm-base-1.0.0.yaml", "crm-nothing@^1"),),
    ),
    Case(
        "unknown-entity",
        partial(
            replace_in,
            relative=CONTACTS,
            old="stream: accounts\n    entity: account\n",
            new="stream: accounts\n    entity: acount\n",
        ),
        CONTACTS,
        "acount",
    ),
    Case(
        "unknown-stream",
        partial(replace_in, relative=CONTACTS, old="stream: accounts\n", new="stream: acounts\n"),
        CONTACTS,
        "acounts",
    ),
    Case(
        "unknown-connector",
        partial(replace_in, relative=CONTACTS, old="connector: file", new="connector: fiel"),
        CONTACTS,
        "connector: fiel",
        offset=len("connector: "),
    ),
    Case(
        "invalid-schedule",
        partial(replace_in, relative=CONTACTS, old='"*/30 * * * *"', new='"*/30 * * *"'),
        CONTACTS,
        '"*/30 * * *"',
    ),
    Case(
        "cursor-field-unmapped",
        partial(
            replace_in,
            relative=CONTACTS,
            old="      industry: Industry\n      created_at: parse_timestamp(CreatedDate)\n",
            new="      created_at: parse_timestamp(CreatedDate)\n    cursor_field: industry\n",
        ),
        CONTACTS,
        "cursor_field: industry",
        offset=len("cursor_field: "),
    ),
    Case(
        "deletes-need-full-read",
        partial(
            _without_delete_rule,
            relative=API,
            old="read: incremental\n    write: upsert\n",
            new="read: incremental\n    write: upsert\n    deletes: hard\n",
        ),
        API,
        "deletes: hard",
        offset=len("deletes: "),
    ),
    Case(
        "deletes-with-replace",
        partial(
            _without_delete_rule,
            relative=CONTACTS,
            old="entity: account\n    read: full\n    write: upsert\n",
            new="entity: account\n    read: full\n    write: replace\n    deletes: hard\n",
        ),
        CONTACTS,
        "deletes: hard",
        offset=len("deletes: "),
    ),
    Case(
        "concurrency-needs-stream-commit",
        partial(
            replace_in,
            relative=CONTACTS,
            old="  batch_size: 5000\n",
            new="  batch_size: 5000\n  max_concurrent_streams: 2\n",
        ),
        CONTACTS,
        "max_concurrent_streams: 2",
        offset=len("max_concurrent_streams: "),
        severity=Severity.WARNING,
    ),
]
