"""Static checks across a template: references to entities nothing writes, mappings that write
the same fields twice, a stream cursor outside the schema, a field mapped twice in YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.demo import create_demo_project
from isthmus.diagnostics import Diagnostic, Severity
from isthmus.validation import validate_project
from support_diagnostics import position_of

TEMPLATE = "templates/crm-contacts-2.1.0.yaml"
CUSTOMER = "core/customer.yaml"
ACCOUNTS_MAPPING = """  accounts:
    stream: accounts
    entity: account
    read: full
    write: upsert
    fields:
      account_id: Id
      name: trim(Name)
      industry: Industry
      created_at: parse_timestamp(CreatedDate)
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo_project(tmp_path_factory.mktemp("template") / "demo").root


@pytest.fixture
def root(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "demo"))


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{relative} should hold {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def diagnose(root: Path) -> list[Diagnostic]:
    return [d for d in validate_project(load_project(root)) if d.severity is not Severity.INFO]


def at(root: Path, relative: str, needle: str, offset: int = 0) -> str:
    line, column = position_of((root / relative).read_text(encoding="utf-8"), needle, offset)
    return f"{relative}:{line}:{column}"


def summary(root: Path) -> list[tuple[str, str]]:
    found = []
    for d in diagnose(root):
        assert d.location is not None
        file = d.location.file.relative_to(root).as_posix()
        found.append((d.code, f"{file}:{d.location.line}:{d.location.column}"))
    return found


def only(root: Path, code: str, where: str) -> Diagnostic:
    found = diagnose(root)
    assert summary(root) == [(code, where)], "\n".join(map(str, found))
    assert found[0].severity is Severity.ERROR
    return found[0]


# --- references to entities no mapping writes --------------------------------------------------


def test_a_reference_to_an_entity_the_template_never_writes_is_an_error_at_the_field(
    root: Path,
) -> None:
    edit(root, TEMPLATE, ACCOUNTS_MAPPING, "")

    found = only(root, "reference-target-unwritten", at(root, TEMPLATE, "Account.Id"))

    assert found.message == (
        "customer.account_id references account.account_id, but no mapping of template "
        "crm-contacts writes account: unless its rows come from elsewhere, every row that "
        "sets account_id would be quarantined"
    )
    assert found.hint == (
        "add a mapping that writes account, or, if another integration writes it for each "
        "tenant, declare it: preexisting: [account]"
    )


def test_an_entity_declared_preexisting_may_be_referenced_without_a_mapping(root: Path) -> None:
    edit(root, TEMPLATE, ACCOUNTS_MAPPING, "")
    edit(root, TEMPLATE, "\nsync:\n", "\npreexisting: [account]\nsync:\n")

    assert diagnose(root) == []


def test_a_reference_that_allows_missing_targets_needs_no_mapping(root: Path) -> None:
    edit(root, TEMPLATE, ACCOUNTS_MAPPING, "")
    edit(
        root,
        CUSTOMER,
        "    references: account.account_id\n",
        "    references: account.account_id\n    on_missing: allow\n",
    )

    assert diagnose(root) == []


def test_a_preexisting_entry_naming_no_entity_is_unknown_entity(root: Path) -> None:
    edit(root, TEMPLATE, "\nsync:\n", "\npreexisting: [acount]\nsync:\n")

    found = only(root, "unknown-entity", at(root, TEMPLATE, "acount"))

    assert (
        found.message == "preexisting names entity 'acount', which the core model does not declare"
    )
    assert found.hint == "did you mean 'account'?"


def test_a_mapping_of_an_unknown_entity_is_not_also_an_unwritten_reference(root: Path) -> None:
    edit(
        root,
        TEMPLATE,
        "stream: accounts\n    entity: account\n",
        "stream: accounts\n    entity: acount\n",
    )

    # Which entity that mapping meant to write is a guess: only its own error is reported.
    only(root, "unknown-entity", at(root, TEMPLATE, "acount"))


def test_the_demo_templates_write_every_entity_they_reference(root: Path) -> None:
    assert diagnose(root) == []


# --- duplicate mappings --------------------------------------------------------------------


def copy_contacts_mapping(root: Path, name: str, entity_and_fields: str | None = None) -> None:
    """Append a second mapping of the contacts stream: a copy of ``contacts``, or one with
    other entity and fields."""
    text = (root / TEMPLATE).read_text(encoding="utf-8")
    start = text.index("  contacts:\n    stream: contacts\n")
    end = text.index("sync:\n")
    copy = text[start:end].replace("  contacts:\n", f"  {name}:\n", 1)
    if entity_and_fields is not None:
        copy = f"  {name}:\n    stream: contacts\n{entity_and_fields}"
    (root / TEMPLATE).write_text(text[:end] + copy + text[end:], encoding="utf-8")


def test_a_second_mapping_writing_the_same_fields_from_the_same_stream_is_an_error(
    root: Path,
) -> None:
    copy_contacts_mapping(root, "contacts_again")

    second = "contacts_again:\n    stream: contacts\n    entity: customer\n    read: full\n"
    second += "    write: upsert\n    fields:\n      customer_id"
    key = len(second) - len("customer_id")
    found = only(root, "duplicate-mapping", at(root, TEMPLATE, second, key))

    assert found.message.startswith(
        "mappings 'contacts' and 'contacts_again' both write customer.customer_id, "
        "customer.full_name, customer.email,"
    )
    assert found.message.endswith(
        "customer.updated_at from stream 'contacts': each record would be written twice, the "
        "second write undoing the first"
    )
    assert found.hint == "merge 'contacts_again' into 'contacts', or remove one of them"


def test_mappings_of_one_stream_into_different_entities_are_not_duplicates(root: Path) -> None:
    copy_contacts_mapping(
        root,
        "contact_accounts",
        "    entity: account\n    fields:\n      account_id: Account.Id\n"
        "      name: Account.Name\n      created_at: parse_timestamp(CreatedDate)\n",
    )

    # The account's key comes from a nested field a record may lack: a warning, no duplicate.
    assert [code for code, _ in summary(root)] == ["key-may-be-null"]


# --- stream cursors ------------------------------------------------------------------------


def test_a_stream_cursor_outside_the_schema_is_an_error_at_the_cursor(root: Path) -> None:
    edit(root, TEMPLATE, "cursor: LastModifiedDate", "cursor: LastModified")

    found = only(root, "undeclared-source-field", at(root, TEMPLATE, "LastModified\n"))

    assert found.message == "stream 'contacts': cursor 'LastModified' is not in its schema"
    assert found.hint == "did you mean 'LastModifiedDate'?"


def test_a_stream_cursor_like_no_field_hints_to_declare_it(root: Path) -> None:
    edit(root, TEMPLATE, "cursor: LastModifiedDate", "cursor: Zzz")

    found = only(root, "undeclared-source-field", at(root, TEMPLATE, "Zzz"))

    assert found.hint == "declare Zzz under streams.contacts.schema"


# --- a field mapped twice in one fields block ----------------------------------------------

ACME = "integrations/acme/crm.yaml"


def test_a_field_overridden_twice_in_one_block_is_a_duplicate_key_at_the_second(
    root: Path,
) -> None:
    edit(
        root,
        ACME,
        'overrides:\n  sync: {schedule: "*/10 * * * *"}\n',
        'overrides:\n  sync: {schedule: "*/10 * * * *"}\n'
        "  mappings:\n    contacts:\n      fields:\n        phone: Phone\n"
        "        phone: trim(Phone)\n",
    )

    found = only(root, "duplicate-key", at(root, ACME, "phone: trim"))

    assert found.message == (
        'a key appears twice in the same mapping: found duplicate key "phone" with value '
        '"trim(Phone)" (original value: "Phone")'
    )


def test_a_field_mapped_twice_in_a_template_is_reported_at_the_second_key(root: Path) -> None:
    edit(root, TEMPLATE, "      phone: Phone\n", "      phone: Phone\n      phone: trim(Phone)\n")

    where = at(root, TEMPLATE, "phone: trim")
    assert [w for code, w in summary(root) if code == "duplicate-key"] == [where]
