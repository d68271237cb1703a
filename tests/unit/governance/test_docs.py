"""The generated documentation catalog: pages, content, escaping, links and determinism."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from isthmus.config.project import Project, load_project
from isthmus.demo import create_demo_project
from isthmus.errors import IsthmusError
from isthmus.governance import CatalogOutputError, CatalogReport, write_catalog
from isthmus.mapping import FUNCTIONS
from isthmus.mapping.custom import isolated_custom_functions

PROJECT = """\
project: docs-test
description: "Catalog test <script>alert('project')</script>"
core: {database: "sqlite:///.isthmus/core.db"}
state: {database: "sqlite:///.isthmus/state.db"}
"""

ACCOUNT = """\
entity: account
description: A company that buys from us.
tenant_key: tenant_id
primary_key: [tenant_id, account_id]
fields:
  account_id: {type: string, required: true}
  name: {type: string, max_length: 200, description: The company's legal name.}
"""

CUSTOMER = """\
entity: customer
description: "A person <script>alert('xss')</script> who buys."
tenant_key: tenant_id
primary_key: [tenant_id, customer_id]
fields:
  customer_id: {type: string, required: true}
  email: {type: string, required: true, pattern: '^[^@]+@[^@]+$', pii: true}
  account_id: {type: string, references: account.account_id}
  lead_score: {type: float, min: 0, max: 100}
  status: {type: string, enum: [active, inactive, unknown]}
  region: {type: string}
"""

TEMPLATE = """\
template: crm-contacts
version: 2.1.0
description: Contacts from a REST CRM.
owner: {team: integrations-core, contact: integrations@example.com}
limitations:
  - Deleted contacts are not detected.
  - Custom fields beyond ten are ignored.
source:
  connector: rest
  options:
    auth: {type: bearer, token: "${secret:crm_token}"}
streams:
  contacts:
    description: Every contact of the CRM.
    path: /contacts
    primary_key: Id
    cursor: LastModifiedDate
    schema:
      Id: string
      Email: string
      Status: string
      LastModifiedDate: string
      Account: {Id: string, Name: string}
mappings:
  contacts:
    stream: contacts
    entity: customer
    read: incremental
    write: upsert
    fields:
      customer_id: Id
      email: lower(trim(Email))
      account_id: Account.Id
      status: "lookup(Status, {'open': 'active'}, default='unknown')"
sync: {schedule: "*/30 * * * *", max_rejected_fraction: 0.05}
overridable: [sync.schedule, "mappings.*.fields"]
"""

ACME = """\
integration: acme-crm
tenant: acme
template: crm-contacts@^2
owner: {team: onboarding, contact: ops@example.com}
escalation:
  - {after: 1h, team: integrations-core, contact: oncall@example.com}
  - {after: 1d, team: platform-leads, contact: leads@example.com}
connection:
  base_url: https://crm.acme.example/api
  secrets: {crm_token: "env:ACME_CRM_TOKEN"}
overrides:
  sync: {schedule: "*/5 * * * *"}
  mappings: {contacts: {fields: {region: Region__c}}}
exceptions:
  - rule: schedule-min-interval
    justification: contract requires 5-minute freshness
    approved_by: vp-eng@example.com
    expires: 2027-03-01
"""

GLOBEX = """\
integration: globex-crm
tenant: globex
template: crm-contacts@^9
owner: {team: onboarding, contact: ops@example.com}
"""


def write_project(root: Path) -> Project:
    files = {
        "isthmus.yaml": PROJECT,
        "core/account.yaml": ACCOUNT,
        "core/customer.yaml": CUSTOMER,
        "templates/crm-contacts-2.1.yaml": TEMPLATE,
        "integrations/acme/crm.yaml": ACME,
        "integrations/globex/crm.yaml": GLOBEX,
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    project = load_project(root)
    assert project.diagnostics == []
    return project


BLOCKS = frozenset({"p", "li", "ul", "ol", "dt", "dd", "h1", "h2", "h3", "h4", "br", "section"})


class Page(HTMLParser):
    """A page's visible text, its links and its table rows (each row a list of cell texts)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.hrefs: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value for name, value in attrs if name == "href" and value)
        if tag in BLOCKS:
            self.chunks.append(" ")
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.chunks.append(" ")
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def row(self, first_cell: str) -> list[str]:
        matches = [row for row in self.rows if row and row[0] == first_cell]
        assert len(matches) == 1, f"expected one row starting {first_cell!r}, got {matches}"
        return matches[0]


@pytest.fixture
def catalog(tmp_path: Path) -> tuple[Path, CatalogReport]:
    project = write_project(tmp_path / "project")
    out = tmp_path / "site"
    return out, write_catalog(project, out)


def page(out: Path, name: str) -> Page:
    return Page((out / name).read_text(encoding="utf-8"))


def test_every_page_is_written_and_reported(catalog: tuple[Path, CatalogReport]) -> None:
    """The index, the function reference, one page per template version, integration and
    entity, and the stylesheet."""
    out, report = catalog
    expected = [
        "index.html",
        "functions.html",
        "templates/crm-contacts-2.1.0.html",
        "integrations/acme-crm.html",
        "integrations/globex-crm.html",
        "entities/account.html",
        "entities/customer.html",
    ]
    assert report.pages == [out / name for name in expected]
    assert all(path.is_file() for path in report.pages)
    assert report.stylesheet == out / "style.css"
    assert "font" in report.stylesheet.read_text(encoding="utf-8")
    assert report.unresolved == ["globex-crm"]


def test_index_lists_templates_integrations_and_entities(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """The index names the project and tabulates every object with its owner and health."""
    out, _ = catalog
    index = page(out, "index.html")
    assert "docs-test" in index.text
    assert index.row("crm-contacts") == [
        "crm-contacts",
        "2.1.0",
        "integrations-core (integrations@example.com)",
        "Contacts from a REST CRM.",
    ]
    assert index.row("acme-crm") == [
        "acme-crm",
        "acme",
        "crm-contacts@^2",
        "2.1.0",
        "onboarding (ops@example.com)",
        "resolves",
    ]
    assert index.row("globex-crm")[3:] == ["—", "onboarding (ops@example.com)", "does not resolve"]
    assert index.row("account")[:3] == ["account", "tenant_id, account_id", "tenant_id"]
    assert "entities/customer.html" in index.hrefs


def test_template_page_shows_owner_limitations_source_and_streams(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """Owner, known limitations, the secret reference as written and the nested schema."""
    out, _ = catalog
    template = page(out, "templates/crm-contacts-2.1.0.html")
    assert "Team integrations-core Contact integrations@example.com" in template.text
    assert "Known limitations Deleted contacts are not detected." in template.text
    assert "Custom fields beyond ten are ignored." in template.text
    assert template.row("auth.token") == ["auth.token", "${secret:crm_token}"]
    assert template.row("path") == ["path", "/contacts"]
    assert "Primary key Id Cursor LastModifiedDate" in template.text
    assert "Account: object Id: string Name: string" in template.text
    assert "Overridable paths sync.schedule mappings.*.fields" in template.text
    assert "read: incremental · write: upsert" in template.text
    assert template.row("schedule") == ["schedule", "*/30 * * * *"]
    assert template.row("max_rejected_fraction") == ["max_rejected_fraction", "0.05"]


def test_template_page_has_a_field_mapping_table(catalog: tuple[Path, CatalogReport]) -> None:
    """Each core field: expression, core type, constraints (with its reference) and PII."""
    out, _ = catalog
    template = page(out, "templates/crm-contacts-2.1.0.html")
    assert template.row("Core field") == [
        "Core field",
        "Expression",
        "Core type",
        "Constraints",
        "PII",
    ]
    assert template.row("email") == [
        "email",
        "lower(trim(Email))",
        "string",
        "required; pattern: ^[^@]+@[^@]+$",
        "PII",
    ]
    assert template.row("account_id") == [
        "account_id",
        "Account.Id",
        "string",
        "references account.account_id",
        "—",
    ]
    assert template.row("status")[3] == "one of: active, inactive, unknown"
    assert "../entities/account.html" in template.hrefs


def test_template_without_limitations_says_none_documented(tmp_path: Path) -> None:
    """A template that documents no limitation says so instead of showing an empty list."""
    root = tmp_path / "project"
    write_project(root)
    text = TEMPLATE.replace("  - Deleted contacts are not detected.\n", "").replace(
        "  - Custom fields beyond ten are ignored.\n", ""
    )
    (root / "templates/crm-contacts-2.1.yaml").write_text(
        text.replace("limitations:\n", "limitations: []\n"), encoding="utf-8"
    )
    write_catalog(load_project(root), tmp_path / "site")
    template = page(tmp_path / "site", "templates/crm-contacts-2.1.0.html")
    assert "Known limitations None documented." in template.text


def test_integration_page_shows_ownership_escalation_and_exceptions(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """Tenant, resolved version, escalation steps in order, and each exception's approval."""
    out, _ = catalog
    acme = page(out, "integrations/acme-crm.html")
    assert "Tenant acme Template crm-contacts@^2 Resolved version 2.1.0" in acme.text
    assert "../templates/crm-contacts-2.1.0.html" in acme.hrefs
    assert acme.row("1") == ["1", "1h", "integrations-core", "oncall@example.com"]
    assert acme.row("2") == ["2", "1d", "platform-leads", "leads@example.com"]
    assert acme.row("schedule-min-interval") == [
        "schedule-min-interval",
        "contract requires 5-minute freshness",
        "vp-eng@example.com",
        "2027-03-01",
        "—",
    ]


def test_integration_page_shows_connection_with_secret_references_only(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """Connection keys are shown; a secret binding shows only where it is read from."""
    out, _ = catalog
    acme = page(out, "integrations/acme-crm.html")
    assert acme.row("base_url") == ["base_url", "https://crm.acme.example/api"]
    assert acme.row("crm_token") == ["crm_token", "env:ACME_CRM_TOKEN"]


def test_integration_page_marks_what_its_overrides_change(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """Overrides are listed by path, and effective rows from an override are marked."""
    out, _ = catalog
    acme = page(out, "integrations/acme-crm.html")
    assert acme.row("mappings.contacts.fields.region") == [
        "mappings.contacts.fields.region",
        "Region__c",
    ]
    assert acme.row("sync.schedule") == ["sync.schedule", "*/5 * * * *"]
    assert acme.row("region") == ["region", "Region__c", "string", "—", "—", "override"]
    assert acme.row("customer_id")[-1] == "template"
    assert acme.row("schedule") == ["schedule", "*/5 * * * *", "override"]
    assert acme.row("timezone") == ["timezone", "UTC", "template"]


def test_unresolvable_integration_page_explains_why(catalog: tuple[Path, CatalogReport]) -> None:
    """An integration whose template version does not exist gets a page saying why."""
    out, _ = catalog
    globex = page(out, "integrations/globex-crm.html")
    assert "This integration does not resolve" in globex.text
    assert "no version of template 'crm-contacts' matches ^9" in globex.text
    assert "integrations/globex/crm.yaml:3:11" in globex.text
    assert "hint: versions present: 2.1.0" in globex.text
    assert "Effective mappings" not in globex.text


def test_an_override_the_template_rejects_is_explained_at_the_override(tmp_path: Path) -> None:
    """A resolution failure caused by an override points at the integration's own line."""
    root = tmp_path / "project"
    write_project(root)
    broken = GLOBEX.replace("globex-crm", "initech-crm").replace("^9", "^2")
    broken += "overrides:\n  sync: {batch_size: 0}\n"
    (root / "integrations" / "initech.yaml").write_text(broken, encoding="utf-8")
    report = write_catalog(load_project(root), tmp_path / "site")
    assert report.unresolved == ["globex-crm", "initech-crm"]
    initech = page(tmp_path / "site", "integrations/initech-crm.html")
    assert "This integration does not resolve" in initech.text
    assert "sync.batch_size: Input should be greater than or equal to 1" in initech.text
    assert "at integrations/initech.yaml:6:22" in initech.text


def test_a_field_mapping_removed_by_an_override_is_listed(tmp_path: Path) -> None:
    """A null override removes an inherited field mapping; the page says which one."""
    root = tmp_path / "project"
    write_project(root)
    trimmed = ACME.replace("{region: Region__c}", "{region: Region__c, status: null}")
    (root / "integrations" / "acme" / "crm.yaml").write_text(trimmed, encoding="utf-8")
    write_catalog(load_project(root), tmp_path / "site")
    acme = page(tmp_path / "site", "integrations/acme-crm.html")
    assert "Removed by override: status" in acme.text
    assert acme.row("mappings.contacts.fields.status")[1] == "null (removes the inherited value)"
    assert not [
        row
        for row in acme.rows
        if row[:2] == ["status", "lookup(Status, {'open': 'active'}, default='unknown')"]
    ]


def test_entity_page_shows_fields_keys_and_writers(catalog: tuple[Path, CatalogReport]) -> None:
    """Fields with type, constraints and PII; keys; who writes it; who references it."""
    out, _ = catalog
    customer = page(out, "entities/customer.html")
    assert "Tenant key tenant_id Primary key tenant_id, customer_id" in customer.text
    assert customer.row("tenant_id")[:3] == ["tenant_id", "string", "tenant key"]
    assert customer.row("email")[:4] == [
        "email",
        "string",
        "required; pattern: ^[^@]+@[^@]+$",
        "PII",
    ]
    assert customer.row("lead_score")[2] == "min: 0; max: 100"
    assert customer.row("account_id")[2] == "references account.account_id"
    assert customer.row("acme-crm") == ["acme-crm", "acme", "contacts", "upsert"]
    account = page(out, "entities/account.html")
    assert account.row("name") == [
        "name",
        "string",
        "max length: 200",
        "—",
        "The company's legal name.",
    ]
    assert "customer.account_id" in account.text
    assert "No integration writes this entity." in account.text


def test_configuration_text_is_escaped(catalog: tuple[Path, CatalogReport]) -> None:
    """A description holding <script> is shown as text, never as markup."""
    out, _ = catalog
    for name in ("index.html", "entities/customer.html"):
        html = (out / name).read_text(encoding="utf-8")
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
    assert (
        "A person <script>alert('xss')</script> who buys."
        in page(out, "entities/customer.html").text
    )


def test_every_link_is_relative_and_points_at_a_written_file(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """The folder works opened from disk: links are relative and none is broken."""
    _, report = catalog
    for path in report.pages:
        parsed = Page(path.read_text(encoding="utf-8"))
        assert any(href.endswith("index.html") for href in parsed.hrefs), path
        for href in parsed.hrefs:
            assert not href.startswith(("/", "http:", "https:")), (path, href)
            assert (path.parent / href).resolve().is_file(), (path, href)


def test_output_is_byte_identical_across_generations(tmp_path: Path) -> None:
    """Two generations of the same project are the same bytes, file for file."""
    project = write_project(tmp_path / "project")
    first = write_catalog(project, tmp_path / "one")
    second = write_catalog(load_project(tmp_path / "project"), tmp_path / "two")
    write_catalog(project, tmp_path / "one")
    files_one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    files_two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    assert files_one == files_two
    assert len(first.pages) == len(second.pages) == 7
    for relative in files_one:
        if (tmp_path / "one" / relative).is_file():
            one = (tmp_path / "one" / relative).read_bytes()
            assert one == (tmp_path / "two" / relative).read_bytes(), relative


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    """The catalog needs a folder: a file in its place is a user-facing error with a hint."""
    project = write_project(tmp_path / "project")
    target = tmp_path / "site"
    target.write_text("not a folder", encoding="utf-8")
    with pytest.raises(CatalogOutputError) as caught:
        write_catalog(project, target)
    assert isinstance(caught.value, IsthmusError)
    assert caught.value.message == (
        f"cannot write the documentation catalog to {target}: it is a file, not a folder"
    )
    assert caught.value.hint is not None
    assert "--out" in caught.value.hint
    assert caught.value.folder == target
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_an_output_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    """A folder that cannot be created becomes the package error, not an OSError."""
    project = write_project(tmp_path / "project")
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    with pytest.raises(CatalogOutputError, match="cannot write the documentation catalog to"):
        write_catalog(project, tmp_path / "blocker" / "site")


def test_the_project_folder_itself_is_refused(tmp_path: Path) -> None:
    """Pages never land among the project's own templates/ and integrations/ files."""
    project = write_project(tmp_path / "project")
    with pytest.raises(CatalogOutputError, match="it is the project folder"):
        write_catalog(project, tmp_path / "project")
    assert not (tmp_path / "project" / "index.html").exists()


def test_files_that_did_not_load_are_listed_on_the_index(tmp_path: Path) -> None:
    """A broken file does not stop the catalog; the index says what is missing and where."""
    root = tmp_path / "project"
    write_project(root)
    (root / "core" / "broken.yaml").write_text("entity: broken\nfields: [", encoding="utf-8")
    report = write_catalog(load_project(root), tmp_path / "site")
    index = page(tmp_path / "site", "index.html")
    assert "Configuration problems" in index.text
    assert "core/broken.yaml:2:" in index.text
    assert len(report.pages) == 7


def test_a_template_with_write_back_documents_its_targets_and_delivery_promise(
    tmp_path: Path,
) -> None:
    create_demo_project(tmp_path / "demo")
    write_catalog(load_project(tmp_path / "demo"), tmp_path / "site")
    page = (tmp_path / "site/templates/crm-api-1.0.0.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="writeback">') : page.index('<section id="sync">')]
    assert "<h2>Write-back</h2>" in section
    assert "At least once, not transactional" in section
    heading = '<h3>Target <code>contact_status</code>: entity <a href="../entities/customer.html">'
    assert heading in section
    for key, value in [
        ("method", "PATCH"),
        ("path", "/contacts/{Id}"),
        ("cursor_field", "updated_at"),
        ("Status", "upper(status)"),
        ("auth.token", "${secret:crm_token}"),
    ]:
        assert f"<td><code>{key}</code></td><td><code>{value}</code></td>" in section, key
    plain = (tmp_path / "site/templates/crm-contacts-2.1.0.html").read_text(encoding="utf-8")
    assert 'id="writeback"' not in plain


def test_the_function_reference_lists_the_registry_with_signatures(
    catalog: tuple[Path, CatalogReport],
) -> None:
    """Every registered function, with the signature the type checker binds calls against."""
    out, _ = catalog
    reference = page(out, "functions.html")
    names = [row[0] for row in reference.rows[1:]]
    assert names == sorted(FUNCTIONS)
    assert reference.row("to_float") == [
        "to_float",
        FUNCTIONS["to_float"].signature,
        FUNCTIONS["to_float"].doc,
        "yes",
        "built in",
    ]
    assert reference.row("lower")[3:] == ["no", "built in"]
    index = page(out, "index.html")
    assert f"Field mappings may call {len(FUNCTIONS)} functions" in index.text
    assert "functions.html" in index.hrefs


def test_a_custom_function_is_marked_as_the_projects_own(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_project(root)
    (root / "scoring.py").write_text(
        "import polars as pl\n"
        "from isthmus.mapping.custom import custom_function\n\n\n"
        '@custom_function(name="score_band", params={"score": "float"}, returns="string")\n'
        "def score_band(score: pl.Series) -> pl.Series:\n"
        '    """hot or cold."""\n'
        "    return score.cast(pl.String)\n",
        encoding="utf-8",
    )
    settings = root / "isthmus.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "functions: [scoring.py]\n", encoding="utf-8"
    )
    with isolated_custom_functions():
        write_catalog(load_project(root), tmp_path / "site")
    reference = page(tmp_path / "site", "functions.html")
    assert reference.row("score_band")[2:] == ["hot or cold.", "no", "custom"]
    assert "1 of them the project's own" in page(tmp_path / "site", "index.html").text
