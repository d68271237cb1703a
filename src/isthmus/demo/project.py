"""Write the demo project: its configuration files and each tenant's generated exports.

The exports come from the seeded generator, which reports what it spoiled; the report is
written beside each tenant's files so anyone can check a run's numbers against it. The API
tenant has no files: the mock CRM generates its records with the same generator when it
starts, from the seed and counts below, and its report is written the same way.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import io
import json
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import FoldedScalarString

from isthmus.demo.generator import (
    ALL_KINDS,
    AccountsReport,
    ContactsReport,
    Format,
    write_accounts,
    write_contacts,
)
from isthmus.demo.mockcrm import MockCredentials
from isthmus.demo.mockcrm.data import build_data
from isthmus.demo.mockcrm.server import DEFAULT_BAD_FRACTION, DEFAULT_DUP_FRACTION

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
class ApiTenant:
    """The tenant whose CRM is an API: the demo serves it with the mock CRM on ``port``."""

    tenant: str
    integration: str
    accounts: int
    contacts: int
    seed: int
    port: int
    token_file: str  # relative to the project's root; the integration binds crm_token to it

    def mock_command(self) -> str:
        """The command that serves this tenant's API again after the demo."""
        return (
            f"mock-crm --port {self.port} --seed {self.seed} --accounts {self.accounts} "
            f"--contacts {self.contacts}"
        )


API_TENANT = ApiTenant(
    "initech",
    "initech-crm",
    accounts=40,
    contacts=400,
    seed=21,
    port=8787,
    token_file="secrets/initech-crm-token",  # noqa: S106 - a path, not a password
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
    api: ApiTenant = API_TENANT

    @property
    def tenants(self) -> list[str]:
        return [*(d.tenant.tenant for d in self.data), self.api.tenant]

    @property
    def integrations(self) -> list[str]:
        return [*(d.tenant.integration for d in self.data), self.api.integration]


def create_demo_project(root: Path) -> DemoProject:
    """Write the demo project into ``root`` (created if missing) and return what it holds."""
    root.mkdir(parents=True, exist_ok=True)
    _copy_tree(resources.files("isthmus.demo") / "files", root)
    data = tuple(_write_tenant(root, tenant) for tenant in TENANTS)
    _write_api_tenant(root, API_TENANT)
    _renew_exception(root / ACME_FILE, dt.date.today() + EXCEPTION_DAYS)
    return DemoProject(root, data)


ACME_FILE = "integrations/acme/crm.yaml"
EXCEPTION_DAYS = dt.timedelta(days=180)


def _renew_exception(path: Path, expires: dt.date) -> None:
    """The demo's exception expires some months after the project is written, as a real one
    would after its approval (a date fixed in the bundled file would one day expire)."""
    text = path.read_text(encoding="utf-8")
    renewed = re.sub(
        r"(?m)^(    expires: )\d{4}-\d{2}-\d{2}$", rf"\g<1>{expires.isoformat()}", text
    )
    path.write_text(renewed, encoding="utf-8")


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


def _write_api_tenant(root: Path, tenant: ApiTenant) -> None:
    """The token the mock CRM expects, in the file the integration names, and the report of
    the records the mock will serve."""
    token = root / tenant.token_file
    token.parent.mkdir(parents=True, exist_ok=True)
    token.write_text(MockCredentials().token + "\n", encoding="utf-8")
    token.chmod(0o600)
    data = build_data(
        seed=tenant.seed,
        accounts=tenant.accounts,
        contacts=tenant.contacts,
        bad_fraction=DEFAULT_BAD_FRACTION,
        dup_fraction=DEFAULT_DUP_FRACTION,
    )
    accounts, contacts = data.report.accounts, data.report.contacts
    assert accounts is not None
    assert contacts is not None
    folder = root / "data" / tenant.tenant
    folder.mkdir(parents=True, exist_ok=True)
    report = {"accounts": _without_ids(accounts), "contacts": contacts.to_dict()}
    (folder / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _without_ids(report: AccountsReport) -> dict[str, object]:
    data = report.to_dict()
    data.pop("good_ids", None)
    return data


# --- the demo's mapping fix ------------------------------------------------------------------

TEMPLATE_FILE = "templates/crm-contacts-2.1.0.yaml"
GLOBEX_FILE = "integrations/globex/crm.yaml"
PENDING_REVIEW = "Pending Review"
"""A status Globex's CRM uses and the template's lookup does not know: the demo's
generator writes exactly this spelling into some spoiled contacts."""


@dataclass(frozen=True)
class ConfigChange:
    """What a change of one project file added: the ``+`` lines of its diff."""

    path: str  # relative to the project's root
    added: tuple[str, ...]


def fix_pending_review(root: Path, run_id: int) -> ConfigChange:
    """Override globex's status mapping so that "Pending Review" means a prospect.

    The override is the template's lookup with one more entry, appended to the integration
    file's ``overrides`` (``mappings.*.fields.*`` is overridable) with a comment saying why;
    the file's other lines and comments stay as they are.
    """
    yaml = _round_trip_yaml()
    template = yaml.load((root / TEMPLATE_FILE).read_text(encoding="utf-8"))
    expression = _with_entry(
        str(template["mappings"]["contacts"]["fields"]["status"]),
        PENDING_REVIEW.lower(),
        "prospect",
    )
    path = root / GLOBEX_FILE
    before = path.read_text(encoding="utf-8")
    document = yaml.load(before)
    overrides = document.setdefault("overrides", CommentedMap())
    mappings = overrides.setdefault("mappings", CommentedMap())
    contacts = mappings.setdefault("contacts", CommentedMap())
    fields = contacts.setdefault("fields", CommentedMap())
    fields["status"] = FoldedScalarString(expression)
    fields.yaml_set_comment_before_after_key(
        "status",
        before=f'Globex marks contacts it has not qualified yet "{PENDING_REVIEW}": they are\n'
        f"prospects. The template's lookup does not know the value, so run {run_id}\n"
        "quarantined them (rule lookup, field status); replay that run after this fix.",
        indent=8,  # overrides.mappings.contacts.fields.status: four levels of two spaces
    )
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    after = buffer.getvalue()
    path.write_text(after, encoding="utf-8")
    added = [
        line[1:]
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line.startswith("+") and not line.startswith("+++")
    ]
    return ConfigChange(GLOBEX_FILE, tuple(added))


def _round_trip_yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, flow styles and quotes are kept
    yaml.preserve_quotes = True
    yaml.width = 88
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _with_entry(expression: str, key: str, value: str) -> str:
    """``lookup(x, {...}, ...)`` with ``key: value`` added to its table. The mapping language
    is a subset of Python's expression syntax, so Python's parser reads it."""
    tree = ast.parse(expression.strip(), mode="eval")
    call = tree.body
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "lookup"
        and len(call.args) > 1
        and isinstance(call.args[1], ast.Dict)
    ):
        raise ValueError(f"not a lookup with a table: {expression!r}")
    call.args[1].keys.append(ast.Constant(key))
    call.args[1].values.append(ast.Constant(value))
    return ast.unparse(tree)
