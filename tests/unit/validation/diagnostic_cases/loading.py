"""Diagnostic codes of loading files: YAML, the keys of each file kind, duplicate names."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

from support_diagnostics import Case, replace_in, write_file

ACME = "integrations/acme/crm.yaml"
CUSTOMER = "core/customer.yaml"
TEMPLATE = "templates/crm-contacts-2.1.0.yaml"


def _copy(root: Path, source: str, target: str) -> None:
    shutil.copyfile(root / source, root / target)


def _not_utf8(root: Path) -> None:
    (root / "core/legacy.yaml").write_bytes(b"entity: legacy\ndescription: caf\xe9\n")


def _unreadable(root: Path) -> None:
    # Reading /proc/self/mem from its start fails with an I/O error, for any user (root too).
    (root / "core/unreadable.yaml").symlink_to("/proc/self/mem")


CASES = [
    Case(
        "yaml-syntax",
        partial(replace_in, relative=ACME, old="tenant: acme", new="tenant: [acme"),
        ACME,
        # The parser notices the unclosed list where the next key begins.
        "template: crm-contacts",
        offset=len("template"),
    ),
    Case("yaml-syntax", _not_utf8, "core/legacy.yaml", "", name="not-utf8"),
    Case(
        "duplicate-key",
        partial(
            replace_in, relative=ACME, old="tenant: acme\n", new="tenant: acme\ntenant: acme2\n"
        ),
        ACME,
        "tenant: acme2",
    ),
    Case("file-unreadable", _unreadable, "core/unreadable.yaml", ""),
    Case(
        "unknown-key",
        partial(replace_in, relative=ACME, old="description:", new="descripton:"),
        ACME,
        "descripton:",
    ),
    Case(
        "missing-key",
        partial(
            replace_in,
            relative=ACME,
            old="owner: {team: onboarding, contact: onboarding@example.com}",
            new="owner: {team: onboarding}",
        ),
        ACME,
        "owner:",
    ),
    Case(
        "missing-key",
        partial(write_file, relative="core/note.yaml", text="description: no entity key\n"),
        "core/note.yaml",
        "description",
        name="file-kind",
    ),
    Case(
        "invalid-value",
        partial(replace_in, relative=CUSTOMER, old="min: 0, max: 100", new="min: low, max: 100"),
        CUSTOMER,
        "low",
    ),
    Case(
        "invalid-value",
        partial(write_file, relative="core/list.yaml", text="- entity: listed\n"),
        "core/list.yaml",
        "- entity",
        name="not-a-mapping",
    ),
    Case(
        "duplicate-entity",
        partial(_copy, source=CUSTOMER, target="core/customer2.yaml"),
        "core/customer2.yaml",
        "entity: customer",
        offset=len("entity: "),
    ),
    Case(
        "duplicate-template",
        # The copy sorts after the original ("crm-contacts-c" after "crm-contacts-2").
        partial(_copy, source=TEMPLATE, target="templates/crm-contacts-copy.yaml"),
        "templates/crm-contacts-copy.yaml",
        "version: 2.1.0",
        offset=len("version: "),
    ),
    Case(
        "duplicate-integration",
        partial(_copy, source=ACME, target="integrations/acme/crm2.yaml"),
        "integrations/acme/crm2.yaml",
        "integration: acme-crm",
        offset=len("integration: "),
    ),
]
