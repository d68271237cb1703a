"""YAML documents: plain data plus the 1-based line:col of every key and value."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from isthmus.config.documents import Document, load_document
from isthmus.diagnostics import Diagnostic, Location

SHOWN = Path("templates/crm.yaml")

SAMPLE = """\
template: crm-contacts
source:
  connector: file
  options: {format: auto, delimiter: ";"}
limitations:
  - first
  - 'second'
  - {note: third, since: 2.1.0}
mappings:
  contacts:
    fields:
      email: lower(Email)
      name: "trim(Name)"
"""


def loaded(tmp_path: Path, text: str) -> Document:
    """The document of a file holding ``text``; the test fails if it has diagnostics."""
    path = tmp_path / "doc.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    document, diagnostics = load_document(path, SHOWN)
    assert diagnostics == []
    assert document is not None
    return document


def refused(tmp_path: Path, content: bytes) -> Diagnostic:
    """The one diagnostic a file holding ``content`` gets instead of a document."""
    path = tmp_path / "doc.yaml"
    path.write_bytes(content)
    document, diagnostics = load_document(path, SHOWN)
    assert document is None
    assert len(diagnostics) == 1
    return diagnostics[0]


def at(line: int, column: int) -> Location:
    return Location(SHOWN, line, column)


def test_a_document_holds_plain_dicts_lists_and_scalars(tmp_path: Path) -> None:
    document = loaded(tmp_path, SAMPLE)
    assert document.data == {
        "template": "crm-contacts",
        "source": {"connector": "file", "options": {"format": "auto", "delimiter": ";"}},
        "limitations": ["first", "second", {"note": "third", "since": "2.1.0"}],
        "mappings": {"contacts": {"fields": {"email": "lower(Email)", "name": "trim(Name)"}}},
    }
    assert type(document.data) is dict
    assert type(document.data["limitations"]) is list
    assert type(document.data["template"]) is str
    assert document.path == SHOWN


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        (("template",), at(1, 1), at(1, 11)),
        (("source", "connector"), at(3, 3), at(3, 14)),
        (("source", "options", "format"), at(4, 13), at(4, 21)),
        (("source", "options", "delimiter"), at(4, 27), at(4, 38)),
        (("mappings", "contacts", "fields", "email"), at(12, 7), at(12, 14)),
    ],
)
def test_keys_and_values_are_located_at_their_1_based_line_and_column(
    tmp_path: Path, path: tuple[str, ...], key: Location, value: Location
) -> None:
    document = loaded(tmp_path, SAMPLE)
    assert document.location(path, at_key=True) == key
    assert document.location(path) == value


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("limitations", 0), at(6, 5)),
        (("limitations", 1), at(7, 5)),
        (("limitations", 2), at(8, 5)),
        (("limitations", 2, "since"), at(8, 26)),
    ],
)
def test_list_items_and_keys_inside_them_are_located(
    tmp_path: Path, path: tuple[str | int, ...], where: Location
) -> None:
    assert loaded(tmp_path, SAMPLE).location(path) == where


def test_a_path_that_was_not_written_points_at_its_nearest_written_ancestor_key(
    tmp_path: Path,
) -> None:
    document = loaded(tmp_path, SAMPLE)
    assert document.location(("source", "options", "encoding")) == at(4, 3)
    assert document.location(("mappings", "contacts", "read")) == at(10, 3)
    assert document.location(("nothing", "here")) == at(1, 1)


def test_the_empty_path_is_the_start_of_the_file(tmp_path: Path) -> None:
    assert loaded(tmp_path, SAMPLE).location(()) == at(1, 1)


def test_expression_location_of_a_plain_scalar_is_where_the_value_starts(tmp_path: Path) -> None:
    document = loaded(tmp_path, SAMPLE)
    path = ("mappings", "contacts", "fields", "email")
    assert document.expression_location(path) == at(12, 14)


def test_expression_location_of_a_quoted_scalar_is_one_column_after_the_quote(
    tmp_path: Path,
) -> None:
    document = loaded(tmp_path, SAMPLE)
    path = ("mappings", "contacts", "fields", "name")
    assert document.location(path) == at(13, 13)
    assert document.expression_location(path) == at(13, 14)


def test_expression_location_shifts_for_single_quoted_list_items_too(tmp_path: Path) -> None:
    document = loaded(tmp_path, SAMPLE)
    assert document.expression_location(("limitations", 0)) == at(6, 5)
    assert document.expression_location(("limitations", 1)) == at(7, 6)


def test_expression_location_in_a_flow_mapping_shifts_for_a_double_quoted_value(
    tmp_path: Path,
) -> None:
    document = loaded(tmp_path, SAMPLE)
    assert document.expression_location(("source", "options", "delimiter")) == at(4, 39)


def test_expression_location_of_a_block_scalar_is_where_its_text_starts(tmp_path: Path) -> None:
    document = loaded(tmp_path, "email: >-\n  lower(Email)\n")
    assert document.data == {"email": "lower(Email)"}
    assert document.expression_location(("email",)) == at(2, 3)


@pytest.mark.parametrize("word", ["no", "on", "off", "yes", "n", "y"])
def test_yaml_1_2_keeps_the_yaml_1_1_boolean_words_as_strings(tmp_path: Path, word: str) -> None:
    document = loaded(tmp_path, f"{word}: {word}\n")
    assert document.data == {word: word}


def test_true_false_numbers_null_and_dates_become_python_values(tmp_path: Path) -> None:
    document = loaded(
        tmp_path,
        """\
        yes_flag: true
        no_flag: false
        count: 12
        hex: 0x1F
        fraction: 0.05
        nothing: null
        empty:
        expires: 2027-03-01
        """,
    )
    data = document.data
    assert data["yes_flag"] is True
    assert data["no_flag"] is False
    assert (type(data["count"]), data["count"]) == (int, 12)
    assert (type(data["hex"]), data["hex"]) == (int, 31)
    assert (type(data["fraction"]), data["fraction"]) == (float, 0.05)
    assert data["nothing"] is None
    assert data["empty"] is None
    assert data["expires"] == dt.date(2027, 3, 1)
    assert type(data["expires"]) is dt.date


def test_an_anchored_boolean_and_its_alias_stay_booleans(tmp_path: Path) -> None:
    document = loaded(tmp_path, "opt_out: &no_mail false\ndefault: *no_mail\n")
    assert document.data["opt_out"] is False
    assert document.data["default"] is False


def test_a_quoted_number_stays_a_string(tmp_path: Path) -> None:
    document = loaded(tmp_path, "version: '2.1'\nport: \"5432\"\n")
    assert document.data == {"version": "2.1", "port": "5432"}


def test_an_empty_file_is_a_document_without_data(tmp_path: Path) -> None:
    assert loaded(tmp_path, "").data is None


def test_a_file_starting_with_a_utf8_bom_loads_with_unshifted_positions(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfentity: customer\ntenant_key: tenant_id\n")
    document, diagnostics = load_document(path, SHOWN)
    assert diagnostics == []
    assert document is not None
    assert document.data == {"entity": "customer", "tenant_key": "tenant_id"}
    assert document.location(("entity",), at_key=True) == at(1, 1)
    assert document.location(("tenant_key",)) == at(2, 13)


def test_without_a_display_path_locations_name_the_file_read(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    document, _ = load_document(path)
    assert document is not None
    assert document.location(("a",)) == Location(path, 1, 4)


def test_a_syntax_error_is_a_yaml_syntax_diagnostic_at_the_offending_token(
    tmp_path: Path,
) -> None:
    diagnostic = refused(tmp_path, b"entity: customer\nfields: [a, b\nprimary_key: x\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(3, 12)
    assert diagnostic.message == "invalid YAML: expected ',' or ']', but got ':'"
    assert diagnostic.hint == (
        "check the indentation and quoting on this line and the one before it"
    )


def test_a_value_indented_under_a_scalar_is_a_syntax_error_on_its_line(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"entity: customer\n  tenant_key: tenant_id\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(2, 13)
    assert diagnostic.message == "invalid YAML: mapping values are not allowed here"


def test_a_tab_used_for_indentation_is_a_syntax_error_at_the_tab(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"fields:\n\tid: string\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(2, 1)
    assert "'\\t' that cannot start any token" in diagnostic.message


def test_an_undefined_alias_is_a_syntax_error_at_the_alias(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"a: 1\nb: *nope\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(2, 4)
    assert diagnostic.message == "invalid YAML: found undefined alias 'nope'"


def test_two_documents_in_one_file_are_refused_at_the_separator(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"a: 1\n---\nb: 2\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(2, 1)


def test_a_duplicate_key_is_a_duplicate_key_diagnostic_at_the_second_key(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"fields:\n  email: string\n  phone: string\n  email: text\n")
    assert diagnostic.code == "duplicate-key"
    assert diagnostic.location == at(4, 3)
    assert diagnostic.message == (
        'a key appears twice in the same mapping: found duplicate key "email" with value '
        '"text" (original value: "string")'
    )
    assert diagnostic.hint == "remove or rename one of the two entries"


def test_a_duplicate_top_level_key_is_reported_at_its_line(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"entity: a\nentity: b\n")
    assert (diagnostic.code, diagnostic.location) == ("duplicate-key", at(2, 1))


def test_a_non_utf8_file_is_a_diagnostic_naming_the_file_not_an_exception(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"entity: customer\ndescription: caf\xe9 clients\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location == at(1, 1)
    assert diagnostic.message == (
        f"{SHOWN} is not UTF-8 text (invalid continuation byte at byte 33)"
    )
    assert diagnostic.hint == "save the file as UTF-8"


def test_a_control_character_is_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    diagnostic = refused(tmp_path, b"entity: customer\ndescription: a\x01b\n")
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.location is not None
    assert diagnostic.location.file == SHOWN


def test_a_missing_file_is_a_file_unreadable_diagnostic(tmp_path: Path) -> None:
    document, diagnostics = load_document(tmp_path / "absent.yaml", SHOWN)
    assert document is None
    assert diagnostics == [
        Diagnostic(
            "file-unreadable",
            f"cannot read {SHOWN}: No such file or directory",
            at(1, 1),
        )
    ]


def test_a_folder_in_place_of_a_file_is_a_file_unreadable_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    document, diagnostics = load_document(tmp_path / "dir.yaml", SHOWN)
    assert document is None
    assert [d.code for d in diagnostics] == ["file-unreadable"]
    assert diagnostics[0].message == f"cannot read {SHOWN}: Is a directory"
