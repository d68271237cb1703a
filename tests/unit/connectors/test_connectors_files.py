"""The file source driven directly: batching, line numbers, text values, malformed records,
CSV specifics, format detection, globs, path confinement and checkpoints."""

from __future__ import annotations

import gc
import io
import json
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from isthmus.connectors import (
    PendingBatch,
    SourceBatch,
    SourceContext,
    StreamRequest,
    resolved,
    source_connector,
)
from isthmus.connectors.base import Checkpoint
from isthmus.connectors.csvfiles import CsvOptions
from isthmus.connectors.errors import SourceFileError, UnsafePathError
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.connectors.jsonlines import BOM, MIN_READ_BYTES, line_blocks
from isthmus.errors import TerminalError
from isthmus.types import STRING, DataType, list_of, struct_of

ID_NAME = {"id": STRING, "name": STRING}
ACCOUNT = struct_of({"Id": STRING, "Name": STRING})


def make_source(project: Path, *, root: str = "data", **options: Any) -> FileSource:
    return FileSource(
        SourceContext(
            options=FileOptions(**options),
            connection=FileConnection(root=root),
            project_root=project,
        )
    )


def make_request(
    path: str,
    fields: Mapping[str, DataType] | None = None,
    *,
    batch_size: int = 100,
    checkpoint: Checkpoint | None = None,
) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=dict(ID_NAME if fields is None else fields),
        options=FileStream(path=path),
        primary_key="id",
        checkpoint=checkpoint,
        batch_size=batch_size,
    )


def read_all(
    project: Path,
    path: str,
    fields: Mapping[str, DataType] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    batch_size: int = 100,
    checkpoint: Checkpoint | None = None,
) -> list[SourceBatch]:
    """Every batch of one stream, read by a new source."""
    source = make_source(project, **dict(options or {}))
    request = make_request(path, fields, batch_size=batch_size, checkpoint=checkpoint)
    return [resolved(item) for item in source.read(request)]


def put(project: Path, name: str, content: bytes | str) -> Path:
    path = project / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def records(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.records.to_pylist()]


def positions(batches: list[SourceBatch]) -> list[int]:
    return [p for batch in batches for p in batch.positions.to_pylist()]


def malformed(batches: list[SourceBatch]) -> list[tuple[int, str, str]]:
    return [(m.position, m.raw, m.reason) for batch in batches for m in batch.malformed]


def jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# --- JSON Lines: batching and line numbers -------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 100])
def test_jsonl_batches_never_exceed_batch_size_and_hold_every_record_in_order(
    tmp_path: Path, batch_size: int
) -> None:
    put(tmp_path, "c.jsonl", jsonl(*({"id": str(i), "name": f"n{i}"} for i in range(1, 8))))
    batches = read_all(tmp_path, "c.jsonl", batch_size=batch_size)
    assert all(b.records.num_rows + len(b.malformed) <= batch_size for b in batches)
    assert all(len(b.positions) == b.records.num_rows for b in batches)
    assert records(batches) == [{"id": str(i), "name": f"n{i}"} for i in range(1, 8)]
    assert positions(batches) == list(range(1, 8))
    assert {b.origin for b in batches} == {"c.jsonl"}


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_jsonl_batches_with_malformed_lines_never_exceed_batch_size_and_lose_no_line(
    tmp_path: Path, batch_size: int
) -> None:
    put(tmp_path, "c.jsonl", '{"id": "1"}\nnot json\n{"id": "3"}\n[3]\n{"id": "5"}\n')
    batches = read_all(tmp_path, "c.jsonl", batch_size=batch_size)
    assert all(b.records.num_rows + len(b.malformed) <= batch_size for b in batches)
    assert positions(batches) == [1, 3, 5]
    assert [m[0] for m in malformed(batches)] == [2, 4]


def test_jsonl_line_numbers_count_blank_lines_crlf_a_bom_and_a_last_line_without_newline(
    tmp_path: Path,
) -> None:
    content = (
        b'\xef\xbb\xbf{"id": "a", "name": "first"}\r\n'
        b"\r\n"
        b'{"id": "b", "name": "second"}\r\n'
        b"   \n"
        b"\n"
        b'{"id": "c", "name": "third"}\n'
        b'{"id": "d", "name": "no newline"}'
    )
    put(tmp_path, "c.jsonl", content)
    for batch_size in (1, 2, 3, 100):
        batches = read_all(tmp_path, "c.jsonl", batch_size=batch_size)
        assert malformed(batches) == []
        assert [r["id"] for r in records(batches)] == ["a", "b", "c", "d"]
        assert records(batches)[0]["name"] == "first"  # the BOM is not part of the first key
        assert positions(batches) == [1, 3, 6, 7]


def test_jsonl_bytes_read_add_up_to_the_file_size(tmp_path: Path) -> None:
    path = put(tmp_path, "c.jsonl", jsonl(*({"id": str(i)} for i in range(10))) + "\n")
    batches = read_all(tmp_path, "c.jsonl", batch_size=3)
    assert sum(b.bytes_read for b in batches) == path.stat().st_size


# --- JSON Lines: every scalar as text -------------------------------------------------------


def test_jsonl_every_scalar_arrives_as_text_numbers_booleans_and_nested_objects(
    tmp_path: Path,
) -> None:
    line = {
        "int": 42,
        "big": 12345678901234567890,
        "float": 2.5,
        "bool": True,
        "false": False,
        "null": None,
        "object": {"a": 1, "b": [1, 2]},
        "array": [1, "x"],
        "text": "Zoë 東京",
        "nested": {"n": 7, "flag": False, "deep": {"x": 1}},
        "items": [1, 2.5, True, "s"],
    }
    put(tmp_path, "c.jsonl", json.dumps(line) + "\n")
    fields = {name: STRING for name in line if name not in ("nested", "items")}
    fields["nested"] = struct_of({"n": STRING, "flag": STRING, "deep": STRING})
    fields["items"] = list_of(STRING)
    fields["absent"] = STRING
    (row,) = records(read_all(tmp_path, "c.jsonl", fields))
    assert row["int"] == "42"
    assert row["big"] == "12345678901234567890"
    assert row["float"] == "2.5"
    assert (row["bool"], row["false"]) == ("true", "false")
    assert row["null"] is None
    assert row["absent"] is None
    assert json.loads(row["object"]) == {"a": 1, "b": [1, 2]}
    assert json.loads(row["array"]) == [1, "x"]
    assert row["text"] == "Zoë 東京"
    assert row["nested"]["n"] == "7"
    assert row["nested"]["flag"] == "false"
    assert json.loads(row["nested"]["deep"]) == {"x": 1}
    assert row["items"] == ["1", "2.5", "true", "s"]


def test_jsonl_declared_scalar_fields_have_text_arrow_types(tmp_path: Path) -> None:
    put(tmp_path, "c.jsonl", '{"id": 1, "account": {"Id": 2, "Name": "x"}}\n')
    (batch,) = read_all(tmp_path, "c.jsonl", {"id": STRING, "account": ACCOUNT})
    text_types = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    id_type = batch.records.schema.field("id").type
    assert any(check(id_type) for check in text_types)
    account_type = batch.records.schema.field("account").type
    assert pa.types.is_struct(account_type)
    for child in (account_type.field(i) for i in range(account_type.num_fields)):
        assert any(check(child.type) for check in text_types)


# --- JSON Lines: malformed records ----------------------------------------------------------

NESTED = {"id": STRING, "account": ACCOUNT, "tags": list_of(STRING)}


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        pytest.param(b'{"id": "2", "account": ', "not valid JSON", id="truncated-json"),
        pytest.param(b"{id: 2}", "not valid JSON", id="unquoted-key"),
        pytest.param(b'{"id": "2"}}', "not valid JSON", id="trailing-garbage"),
        pytest.param(b"[1, 2, 3]", "a JSON list, not an object", id="array"),
        pytest.param(b"42", "a JSON int, not an object", id="number"),
        pytest.param(b'"just text"', "a JSON str, not an object", id="string"),
        pytest.param(b"true", "a JSON bool, not an object", id="boolean"),
        pytest.param(
            b'{"id": "2", "account": "acme"}',
            "field 'account' should be an object, found str",
            id="scalar-for-object",
        ),
        pytest.param(
            b'{"id": "2", "account": [1]}',
            "field 'account' should be an object, found list",
            id="list-for-object",
        ),
        pytest.param(
            b'{"id": "2", "tags": "a,b"}',
            "field 'tags' should be a list, found str",
            id="scalar-for-list",
        ),
        pytest.param(b'{"id": "caf\xe9"}', "not UTF-8 text", id="invalid-utf8"),
    ],
)
def test_jsonl_malformed_line_becomes_a_malformed_record_while_the_rest_of_the_batch_arrives(
    tmp_path: Path, bad_line: bytes, reason: str
) -> None:
    good_before = b'{"id": "1", "account": {"Id": "A1", "Name": "Acme"}, "tags": ["x"]}\n'
    good_after = b'{"id": "3", "account": null, "tags": []}\n'
    put(tmp_path, "c.jsonl", good_before + bad_line + b"\n" + good_after)
    (batch,) = read_all(tmp_path, "c.jsonl", NESTED)
    assert batch.records.to_pylist() == [
        {"id": "1", "account": {"Id": "A1", "Name": "Acme"}, "tags": ["x"]},
        {"id": "3", "account": None, "tags": []},
    ]
    assert batch.positions.to_pylist() == [1, 3]
    (bad,) = batch.malformed
    assert (bad.origin, bad.position) == ("c.jsonl", 2)
    assert reason in bad.reason
    assert bad.raw == bad_line.decode("utf-8", errors="replace")


def test_jsonl_several_malformed_lines_in_one_batch_are_each_reported_in_line_order(
    tmp_path: Path,
) -> None:
    lines = [
        '{"id": "1"}',
        "{broken",
        '{"id": "3"}',
        "",
        "[]",
        '{"id": "6"}',
        "7",
        '{"id": "8"}',
    ]
    put(tmp_path, "c.jsonl", "\n".join(lines) + "\n")
    (batch,) = read_all(tmp_path, "c.jsonl", {"id": STRING})
    assert batch.records.to_pylist() == [{"id": "1"}, {"id": "3"}, {"id": "6"}, {"id": "8"}]
    assert batch.positions.to_pylist() == [1, 3, 6, 8]
    assert [(m.position, m.raw) for m in batch.malformed] == [(2, "{broken"), (5, "[]"), (7, "7")]
    assert "not valid JSON" in batch.malformed[0].reason
    assert "list, not an object" in batch.malformed[1].reason
    assert "int, not an object" in batch.malformed[2].reason


def test_jsonl_malformed_line_keeps_its_line_number_in_a_later_batch(tmp_path: Path) -> None:
    put(tmp_path, "c.jsonl", jsonl(*({"id": str(i)} for i in range(1, 6))) + "oops\n")
    batches = read_all(tmp_path, "c.jsonl", {"id": STRING}, batch_size=4)
    assert [len(b.malformed) for b in batches] == [0, 1]
    assert malformed(batches)[0][:2] == (6, "oops")


def test_jsonl_empty_file_yields_one_empty_batch_with_the_declared_fields(tmp_path: Path) -> None:
    put(tmp_path, "c.jsonl", b"")
    (batch,) = read_all(tmp_path, "c.jsonl", NESTED)
    assert batch.records.num_rows == 0
    assert batch.records.column_names == ["id", "account", "tags"]
    assert batch.checkpoint is not None


# --- CSV -----------------------------------------------------------------------------------


def test_csv_empty_file_is_an_error_because_a_header_is_required(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", b"")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.csv")
    assert caught.value.message == "c.csv is empty: a CSV file starts with a header row"
    assert caught.value.hint is not None
    assert "header" in caught.value.hint


def test_csv_header_only_file_yields_no_records(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,name\n")
    batches = read_all(tmp_path, "c.csv")
    assert records(batches) == []
    assert malformed(batches) == []


def test_csv_dotted_headers_fill_nested_fields(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "Account.Name,id,Account.Id,extra\nAcme,1,A1,ignored\n")
    (row,) = records(read_all(tmp_path, "c.csv", {"id": STRING, "Account": ACCOUNT}))
    assert row == {"id": "1", "Account": {"Id": "A1", "Name": "Acme"}}


def test_csv_empty_fields_become_null_and_values_stay_text(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", 'id,name,Account.Id,Account.Name\n1,,,\n2,"",0,false\n')
    rows = records(read_all(tmp_path, "c.csv", {"id": STRING, "name": STRING, "Account": ACCOUNT}))
    assert rows == [
        {"id": "1", "name": None, "Account": {"Id": None, "Name": None}},
        {"id": "2", "name": None, "Account": {"Id": "0", "Name": "false"}},
    ]


def test_csv_rows_with_too_few_or_too_many_fields_are_malformed_with_line_and_reason(
    tmp_path: Path,
) -> None:
    put(tmp_path, "c.csv", "id,name\n1,Ann\n2\n3,Cy,extra\n4,Dee\n")
    (batch,) = read_all(tmp_path, "c.csv")
    assert batch.records.to_pylist() == [{"id": "1", "name": "Ann"}, {"id": "4", "name": "Dee"}]
    assert batch.positions.to_pylist() == [2, 5]
    assert [(m.origin, m.position, m.raw, m.reason) for m in batch.malformed] == [
        ("c.csv", 3, "2", "expected 2 fields as in the header, found 1"),
        ("c.csv", 4, "3,Cy,extra", "expected 2 fields as in the header, found 3"),
    ]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_csv_batches_never_exceed_batch_size_and_keep_line_numbers(
    tmp_path: Path, batch_size: int
) -> None:
    content = b'\xef\xbb\xbfid,name\r\n1,Ann\r\n\r\n2,"B, b"\r\nshort\r\n3,"say ""hi"""\r\n4,Dee'
    put(tmp_path, "c.csv", content)
    batches = read_all(tmp_path, "c.csv", batch_size=batch_size)
    assert all(b.records.num_rows + len(b.malformed) <= batch_size for b in batches)
    assert records(batches) == [
        {"id": "1", "name": "Ann"},
        {"id": "2", "name": "B, b"},
        {"id": "3", "name": 'say "hi"'},
        {"id": "4", "name": "Dee"},
    ]
    assert positions(batches) == [2, 4, 6, 7]
    assert [(m[0], m[1]) for m in malformed(batches)] == [(5, "short")]


def test_csv_missing_declared_column_is_an_error_naming_the_column_and_the_file(
    tmp_path: Path,
) -> None:
    put(tmp_path, "exports/c.csv", "id,Account.Id\n1,A1\n")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "exports/c.csv", {"id": STRING, "Account": ACCOUNT, "email": STRING})
    message = caught.value.message
    assert message.startswith("exports/c.csv has no column ")
    assert "'Account.Name'" in message
    assert "'email'" in message
    assert "id, Account.Id" in message  # the header it found
    assert isinstance(caught.value, TerminalError)


def test_csv_list_field_is_refused(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,tags\n1,a\n")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.csv", {"id": STRING, "tags": list_of(STRING)})
    assert caught.value.message == "c.csv: field 'tags' is a list, which CSV cannot hold"


def test_csv_non_utf8_file_read_as_utf8_gives_a_clear_error(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,name\n1,José\n".encode("latin-1"))
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.csv")
    assert caught.value.message.startswith("c.csv is not valid utf-8 text")
    assert caught.value.hint is not None
    assert "encoding" in caught.value.hint


def test_csv_latin1_encoding_option_reads_a_latin1_file(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,name\n1,José Müller\n".encode("latin-1"))
    batches = read_all(tmp_path, "c.csv", options={"csv": CsvOptions(encoding="latin-1")})
    assert records(batches) == [{"id": "1", "name": "José Müller"}]


def test_csv_semicolon_delimiter_option_splits_on_semicolons_only(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id;name\n1;Smith, Ann\n")
    batches = read_all(tmp_path, "c.csv", options={"csv": CsvOptions(delimiter=";")})
    assert records(batches) == [{"id": "1", "name": "Smith, Ann"}]


def test_csv_options_refuse_an_unknown_encoding_and_a_long_delimiter() -> None:
    with pytest.raises(ValidationError, match="unknown encoding 'klingon'"):
        CsvOptions(encoding="klingon")
    with pytest.raises(ValidationError):
        CsvOptions(delimiter=";;")


def test_csv_record_with_a_multiline_field_is_numbered_by_the_line_it_starts_on(
    tmp_path: Path,
) -> None:
    put(tmp_path, "c.csv", 'id,name\n1,"two\nlines"\n2,Bob\n')
    batches = read_all(tmp_path, "c.csv")
    assert records(batches)[0] == {"id": "1", "name": "two\nlines"}
    assert positions(batches) == [2, 4]


def test_csv_quote_left_open_is_an_error_not_a_field_swallowing_the_rest_of_the_file(
    tmp_path: Path,
) -> None:
    put(tmp_path, "c.csv", 'id,name\n1,"Ann\n2,Bob\n3,Cy\n')
    with pytest.raises(SourceFileError):
        read_all(tmp_path, "c.csv")


# --- format detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("c.jsonl", '{"id": "1", "name": "Ann"}\n'),
        ("c.ndjson", '{"id": "1", "name": "Ann"}\n'),
        ("c.JSONL", '{"id": "1", "name": "Ann"}\n'),
        ("c.csv", "id,name\n1,Ann\n"),
        ("c.CSV", "id,name\n1,Ann\n"),
    ],
)
def test_format_is_detected_from_the_extension(tmp_path: Path, name: str, content: str) -> None:
    put(tmp_path, name, content)
    assert records(read_all(tmp_path, name)) == [{"id": "1", "name": "Ann"}]


def test_unknown_extension_is_an_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    put(tmp_path, "c.txt", "id,name\n1,Ann\n")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.txt")
    assert caught.value.message == "cannot tell the format of c.txt from its extension"
    assert caught.value.hint is not None
    assert "format" in caught.value.hint


@pytest.mark.parametrize(
    ("file_format", "content"),
    [("csv", "id,name\n1,Ann\n"), ("jsonl", '{"id": "1", "name": "Ann"}\n')],
)
def test_explicit_format_overrides_the_extension(
    tmp_path: Path, file_format: str, content: str
) -> None:
    put(tmp_path, "c.txt", content)
    batches = read_all(tmp_path, "c.txt", options={"format": file_format})
    assert records(batches) == [{"id": "1", "name": "Ann"}]


# --- globs and missing files ---------------------------------------------------------------


def test_glob_reads_every_matching_file_in_name_order(tmp_path: Path) -> None:
    put(tmp_path, "exports/b.jsonl", jsonl({"id": "b1"}, {"id": "b2"}))
    put(tmp_path, "exports/a.jsonl", jsonl({"id": "a1"}))
    put(tmp_path, "exports/c.jsonl", jsonl({"id": "c1"}))
    put(tmp_path, "exports/notes.csv", "id\nignored\n")
    (tmp_path / "data/exports/d.jsonl").mkdir()  # a folder that matches is not a file
    batches = read_all(tmp_path, "exports/*.jsonl", {"id": STRING}, batch_size=1)
    assert [(b.origin, r["id"]) for b in batches for r in b.records.to_pylist()] == [
        ("exports/a.jsonl", "a1"),
        ("exports/b.jsonl", "b1"),
        ("exports/b.jsonl", "b2"),
        ("exports/c.jsonl", "c1"),
    ]
    assert positions(batches) == [1, 1, 2, 1]  # line numbers restart in every file


def test_no_matching_file_is_an_error_naming_the_path_and_the_root(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "exports/*.csv")
    message = caught.value.message
    assert "stream contacts" in message
    assert "'exports/*.csv'" in message
    assert str((tmp_path / "data").resolve()) in message
    assert caught.value.hint is not None


def test_missing_single_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(SourceFileError, match=r"no file matches 'contacts\.jsonl'"):
        make_source(tmp_path).size_hint(make_request("contacts.jsonl"))


# --- path confinement ----------------------------------------------------------------------


def test_root_climbing_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    put(tmp_path, "c.jsonl", "{}\n")  # tmp_path/data exists, next to the project
    project.mkdir()
    with pytest.raises(UnsafePathError, match=r"connection root '\.\./data' leads outside"):
        make_source(project, root="../data")


def test_absolute_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="is absolute"):
        make_source(tmp_path, root=str(tmp_path / "data"))


@pytest.mark.parametrize("path", ["../secret.jsonl", "sub/../../secret.jsonl", "../*.jsonl"])
def test_stream_path_climbing_out_of_the_root_is_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "secret.jsonl").write_text('{"id": "s"}\n', encoding="utf-8")
    put(tmp_path, "c.jsonl", "{}\n")
    with pytest.raises(UnsafePathError) as caught:
        read_all(tmp_path, path)
    assert f"stream contacts path {path!r} leads outside" in caught.value.message


def test_absolute_stream_path_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s"}\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    with pytest.raises(UnsafePathError, match="is absolute; it must be relative to"):
        read_all(tmp_path, str(secret))


def test_symlinked_file_pointing_outside_the_root_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s"}\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/c.jsonl").symlink_to(secret)
    with pytest.raises(UnsafePathError):
        read_all(tmp_path, "c.jsonl")
    with pytest.raises(UnsafePathError):
        read_all(tmp_path, "*.jsonl")


def test_symlinked_folder_pointing_outside_the_root_is_refused_through_a_glob(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.jsonl").write_text('{"id": "s"}\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/exports").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        read_all(tmp_path, "exports/*.jsonl")


def test_symlinked_root_pointing_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    put(tmp_path, "c.jsonl", "{}\n")
    (project / "data").symlink_to(tmp_path / "data", target_is_directory=True)
    with pytest.raises(UnsafePathError):
        make_source(project, root="data")


def test_symlink_staying_inside_the_root_is_read(tmp_path: Path) -> None:
    put(tmp_path, "real/c.jsonl", '{"id": "1", "name": "Ann"}\n')
    (tmp_path / "data/c.jsonl").symlink_to(tmp_path / "data/real/c.jsonl")
    assert records(read_all(tmp_path, "c.jsonl")) == [{"id": "1", "name": "Ann"}]


# --- checkpoints ---------------------------------------------------------------------------


def fingerprint(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def test_only_the_last_batch_of_each_file_carries_the_checkpoint_of_the_files_read(
    tmp_path: Path,
) -> None:
    a = put(tmp_path, "a.jsonl", jsonl(*({"id": f"a{i}"} for i in range(5))))
    b = put(tmp_path, "b.jsonl", jsonl({"id": "b0"}))
    batches = read_all(tmp_path, "*.jsonl", {"id": STRING}, batch_size=2)
    assert [(bt.origin, bt.checkpoint) for bt in batches] == [
        ("a.jsonl", None),
        ("a.jsonl", None),
        ("a.jsonl", {"files": {"a.jsonl": fingerprint(a)}}),
        ("b.jsonl", {"files": {"a.jsonl": fingerprint(a), "b.jsonl": fingerprint(b)}}),
    ]


def test_csv_last_batch_carries_the_checkpoint(tmp_path: Path) -> None:
    path = put(tmp_path, "c.csv", "id,name\n1,a\n2,b\n3,c\n")
    batches = read_all(tmp_path, "c.csv", batch_size=2)
    assert [b.checkpoint for b in batches] == [None, {"files": {"c.csv": fingerprint(path)}}]


def test_incremental_read_with_the_checkpoint_reads_nothing(tmp_path: Path) -> None:
    put(tmp_path, "a.jsonl", jsonl({"id": "1"}))
    put(tmp_path, "b.csv", "id\n2\n")
    first = read_all(tmp_path, "*.*", {"id": STRING})
    checkpoint = first[-1].checkpoint
    assert checkpoint is not None
    assert set(checkpoint["files"]) == {"a.jsonl", "b.csv"}
    source = make_source(tmp_path)
    again = make_request("*.*", {"id": STRING}, checkpoint=checkpoint)
    assert list(source.read(again)) == []
    assert source.size_hint(again) == 0


def test_a_changed_file_is_read_again_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    a = put(tmp_path, "a.jsonl", jsonl({"id": "a1"}))
    b = put(tmp_path, "b.jsonl", jsonl({"id": "b1"}))
    checkpoint = read_all(tmp_path, "*.jsonl", {"id": STRING})[-1].checkpoint
    b.write_text(jsonl({"id": "b1"}, {"id": "b2"}), encoding="utf-8")
    batches = read_all(tmp_path, "*.jsonl", {"id": STRING}, checkpoint=checkpoint)
    assert records(batches) == [{"id": "b1"}, {"id": "b2"}]
    assert batches[-1].checkpoint == {
        "files": {"a.jsonl": fingerprint(a), "b.jsonl": fingerprint(b)}
    }


def test_a_file_rewritten_with_the_same_size_but_a_new_mtime_is_read_again(
    tmp_path: Path,
) -> None:
    path = put(tmp_path, "a.jsonl", jsonl({"id": "a1"}))
    checkpoint = read_all(tmp_path, "a.jsonl", {"id": STRING})[-1].checkpoint
    path.write_text(jsonl({"id": "a2"}), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    batches = read_all(tmp_path, "a.jsonl", {"id": STRING}, checkpoint=checkpoint)
    assert records(batches) == [{"id": "a2"}]


def test_a_new_file_is_read_and_the_checkpoint_keeps_the_files_read_before(
    tmp_path: Path,
) -> None:
    a = put(tmp_path, "a.jsonl", jsonl({"id": "a1"}))
    checkpoint = read_all(tmp_path, "*.jsonl", {"id": STRING})[-1].checkpoint
    b = put(tmp_path, "b.jsonl", jsonl({"id": "b1"}))
    batches = read_all(tmp_path, "*.jsonl", {"id": STRING}, checkpoint=checkpoint)
    assert records(batches) == [{"id": "b1"}]
    assert batches[-1].checkpoint == {
        "files": {"a.jsonl": fingerprint(a), "b.jsonl": fingerprint(b)}
    }


def test_size_hint_is_the_bytes_of_the_files_still_to_read(tmp_path: Path) -> None:
    a = put(tmp_path, "a.jsonl", jsonl({"id": "a1"}))
    b = put(tmp_path, "b.csv", "id\nb1\nb2\n")
    source = make_source(tmp_path)
    request = make_request("*.*", {"id": STRING})
    assert source.size_hint(request) == a.stat().st_size + b.stat().st_size
    half_done = make_request(
        "*.*", {"id": STRING}, checkpoint={"files": {"a.jsonl": fingerprint(a)}}
    )
    assert source.size_hint(half_done) == b.stat().st_size


# --- the registry entry --------------------------------------------------------------------


def test_registry_builds_the_file_source_from_its_options_models(tmp_path: Path) -> None:
    connector = source_connector("file")
    assert connector is not None
    assert (connector.options, connector.connection, connector.stream) == (
        FileOptions,
        FileConnection,
        FileStream,
    )
    put(tmp_path, "c.jsonl", '{"id": "1", "name": "Ann"}\n')
    source = connector.factory(
        SourceContext(
            options=connector.options(),
            connection=connector.connection(root="data"),
            project_root=tmp_path,
        )
    )
    batches = [resolved(b) for b in source.read(make_request("c.jsonl"))]
    assert records(batches) == [{"id": "1", "name": "Ann"}]
    source.close()
    assert source_connector("ftp") is None


def test_file_options_models_refuse_unknown_formats_and_keys() -> None:
    with pytest.raises(ValidationError):
        FileOptions(format="xml")
    with pytest.raises(ValidationError):
        FileConnection(root="data", folder="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FileStream(path="c.csv", pattern="*")  # type: ignore[call-arg]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
            st.integers(1, 3).map(lambda n: b"x" * (n * MIN_READ_BYTES + 17)),  # longer than a read
        ),
        max_size=60,
    ),
    last_newline=st.booleans(),
    batch_size=st.sampled_from([1, 2, 7, 64, 65, 1000]),
)
def test_line_blocks_cut_the_file_at_newlines_into_at_most_batch_size_lines(
    lines: list[bytes], last_newline: bool, batch_size: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    blocks = list(line_blocks(io.BytesIO(data), batch_size))
    assert b"".join(block for block, _ in blocks) == data.removeprefix(BOM)
    data = data.removeprefix(BOM)
    for index, (block, count) in enumerate(blocks):
        assert 0 < count <= batch_size
        assert count == block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        if index < len(blocks) - 1:
            assert block.endswith(b"\n")
    expected_lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert sum(count for _, count in blocks) == expected_lines


def test_while_a_block_is_parsed_the_reader_holds_only_it_and_what_follows_it() -> None:
    """Blocks are parsed on another thread while the reader waits at its yield: any other
    buffer it still held (the one the file was read into) would be a block's worth of memory
    more."""
    data = b"".join(b'{"id": "%06d"}\n' % n for n in range(20_000))
    blocks = line_blocks(io.BytesIO(data), 1000)
    for block, _ in blocks:
        frame = blocks.gi_frame
        assert frame is not None
        pending = len(frame.f_locals["pending"])
        held = _bytes_reachable_from([v for v in frame.f_locals.values() if v is not block])
        assert [n for n in held if n > len(BOM)] == ([pending] if pending > len(BOM) else [])


def _bytes_reachable_from(root: object) -> list[int]:
    """Lengths of the byte strings and buffers that ``root`` holds, directly or through
    anything else."""
    seen: set[int] = set()
    found: list[int] = []
    pending = [root]
    while pending:
        value = pending.pop()
        if id(value) in seen or isinstance(value, type | types.ModuleType):
            continue
        seen.add(id(value))
        if isinstance(value, bytes | bytearray):
            found.append(len(value))
        pending.extend(gc.get_referents(value))
    return found


def test_a_pending_batch_lets_go_of_its_block_once_parsed_and_parses_only_once(
    tmp_path: Path,
) -> None:
    """Mapping a parsed batch takes a while: the raw block it came from must not live on
    through it (for 50,000 lines that is 17 MB more memory per batch in work)."""
    lines = "".join(f'{{"id": "{n}", "name": "n{n}"}}\n' for n in range(500))
    block_size = put(tmp_path, "c.jsonl", lines).stat().st_size
    pending = next(iter(make_source(tmp_path).read(make_request("c.jsonl", batch_size=500))))
    assert isinstance(pending, PendingBatch)
    assert block_size in _bytes_reachable_from(pending)

    parsed = pending.parse()

    assert parsed.records.num_rows == 500
    assert [n for n in _bytes_reachable_from(pending) if n > 100] == []
    with pytest.raises(RuntimeError, match="parses only once"):
        pending.parse()
