"""Write the demo project: its configuration files and each tenant's generated exports.

The exports come from the seeded generator, which reports what it spoiled; the report is
written beside each tenant's files so anyone can check a run's numbers against it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from isthmus.demo.generator import (
    ALL_KINDS,
    AccountsReport,
    ContactsReport,
    Format,
    write_accounts,
    write_contacts,
)

REPORT_FILE = "generator-report.json"


@dataclass(frozen=True)
class DemoTenant:
    tenant: str
    integration: str
    fmt: Format
    accounts: int
    contacts: int
    seed: int


TENANTS = (
    DemoTenant("acme", "acme-crm", "jsonl", accounts=150, contacts=2500, seed=7),
    DemoTenant("globex", "globex-crm", "csv", accounts=80, contacts=1500, seed=12),
)


@dataclass(frozen=True)
class TenantData:
    tenant: DemoTenant
    accounts: AccountsReport
    contacts: ContactsReport


@dataclass(frozen=True)
class DemoProject:
    root: Path
    data: tuple[TenantData, ...]

    @property
    def tenants(self) -> list[str]:
        return [d.tenant.tenant for d in self.data]

    @property
    def integrations(self) -> list[str]:
        return [d.tenant.integration for d in self.data]


def create_demo_project(root: Path) -> DemoProject:
    """Write the demo project into ``root`` (created if missing) and return what it holds."""
    root.mkdir(parents=True, exist_ok=True)
    _copy_tree(resources.files("isthmus.demo") / "files", root)
    return DemoProject(root, tuple(_write_tenant(root, tenant) for tenant in TENANTS))


def _copy_tree(source: resources.abc.Traversable, target: Path) -> None:
    for item in source.iterdir():
        if item.is_dir():
            (target / item.name).mkdir(exist_ok=True)
            _copy_tree(item, target / item.name)
        elif item.name.endswith((".yaml", ".yml")):
            with resources.as_file(item) as path:
                shutil.copyfile(path, target / item.name)


def _write_tenant(root: Path, tenant: DemoTenant) -> TenantData:
    folder = root / "data" / tenant.tenant
    folder.mkdir(parents=True, exist_ok=True)
    accounts = write_accounts(
        folder / f"accounts.{tenant.fmt}", count=tenant.accounts, seed=tenant.seed, fmt=tenant.fmt
    )
    contacts = write_contacts(
        folder / f"contacts.{tenant.fmt}",
        count=tenant.contacts,
        seed=tenant.seed + 1,
        fmt=tenant.fmt,
        account_ids=accounts.good_ids,
        bad_fraction=0.02,
        dup_fraction=0.01,
        kinds=ALL_KINDS,
    )
    report = {"accounts": _without_ids(accounts), "contacts": contacts.to_dict()}
    (folder / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return TenantData(tenant, accounts, contacts)


def _without_ids(report: AccountsReport) -> dict[str, object]:
    data = report.to_dict()
    data.pop("good_ids", None)
    return data
