"""The file source beyond JSON Lines and CSV basics: Parquet, fsspec roots (file:// and an
in-memory file system), read order, incremental modes, confinement messages and CSV encodings."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from isthmus.config import load_project
from isthmus.connectors import SourceBatch, SourceContext, StreamRequest, resolved
from isthmus.connectors.base import Checkpoint
from isthmus.connectors.csvfiles import CsvOptions
from isthmus.connectors.errors import SourceFileError, UnsafePathError
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore
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
    incremental: str = "changed",
    batch_size: int = 100,
    checkpoint: Checkpoint | None = None,
) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=dict(ID_NAME if fields is None else fields),
        options=FileStream(path=path, incremental=incremental),  # type: ignore[arg-type]
        primary_key="id",
        checkpoint=checkpoint,
        batch_size=batch_size,
    )


def read_all(
    project: Path,
    path: str,
    fields: Mapping[str, DataType] | None = None,
    *,
    root: str = "data",
    options: Mapping[str, Any] | None = None,
    **request: Any,
) -> list[SourceBatch]:
    """Every batch of one stream, read by a new source."""
    source = make_source(project, root=root, **dict(options or {}))
    return [resolved(item) for item in source.read(make_request(path, fields, **request))]


def put(project: Path, name: str, content: bytes | str) -> Path:
    path = project / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def put_parquet(project: Path, name: str, table: pa.Table, **options: Any) -> Path:
    path = project / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
    return path


def records(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.records.to_pylist()]


def origins(batches: list[SourceBatch]) -> list[str]:
    """Each file read, once, in the order read."""
    return list(dict.fromkeys(b.origin for b in batches))


def set_mtime(path: Path, seconds: int) -> None:
    os.utime(path, ns=(seconds * 1_000_000_000, seconds * 1_000_000_000))


def message(error: pytest.ExceptionInfo[Any]) -> str:
    return str(error.value.message)


# --- Parquet -------------------------------------------------------------------------------


def test_parquet_is_read_in_batches_of_at_most_batch_size_with_row_numbers(tmp_path: Path) -> None:
    table = pa.table({"id": [str(i) for i in range(1, 8)], "name": [f"n{i}" for i in range(1, 8)]})
    path = put_parquet(tmp_path, "c.parquet", table, row_group_size=3)
    batches = read_all(tmp_path, "c.parquet", batch_size=2)
    assert all(0 < b.records.num_rows <= 2 for b in batches)
    assert records(batches) == [{"id": str(i), "name": f"n{i}"} for i in range(1, 8)]
    assert [p for b in batches for p in b.positions.to_pylist()] == list(range(1, 8))
    assert [b.checkpoint is not None for b in batches] == [False] * (len(batches) - 1) + [True]
    assert sum(b.bytes_read for b in batches) == path.stat().st_size
    assert {b.observed_fields for b in batches} == {frozenset({"id", "name"})}


def test_parquet_typed_values_arrive_as_text_like_json_lines_gives_them(tmp_path: Path) -> None:
    instant = dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "score": [2.5, None],
            "active": [True, False],
            "seen": pa.array([instant, None], pa.timestamp("us", tz="Europe/Berlin")),
            "local": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("ms")),
            "account": [{"Id": 7, "Name": "Acme"}, None],
            "tags": [[1, 2], []],
            "extra": [{"a": 1}, None],
            "codes": [[1, 2], None],
            "unused": ["x", "y"],
        }
    )
    put_parquet(tmp_path, "c.parquet", table)
    fields = dict.fromkeys(("id", "score", "active", "seen", "local", "extra", "codes"), STRING)
    fields |= {"account": ACCOUNT, "tags": list_of(STRING)}
    assert records(read_all(tmp_path, "c.parquet", fields)) == [
        {
            "id": "1",
            "score": "2.5",
            "active": "true",
            "seen": "2024-01-02T03:04:05.123456Z",
            "local": "2024-01-02T03:04:05.000000",
            "extra": '{"a":1}',
            "codes": "[1,2]",
            "account": {"Id": "7", "Name": "Acme"},
            "tags": ["1", "2"],
        },
        {
            "id": "2",
            "score": None,
            "active": "false",
            "seen": None,
            "local": None,
            "extra": None,
            "codes": None,
            "account": None,
            "tags": [],
        },
    ]


def test_parquet_missing_declared_columns_are_an_error_naming_the_file_and_the_columns(
    tmp_path: Path,
) -> None:
    put_parquet(tmp_path, "exports/c.parquet", pa.table({"id": ["1"], "account": [{"Id": "A"}]}))
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "exports/c.parquet", {"id": STRING, "account": ACCOUNT, "email": STRING})
    assert message(caught) == (
        "exports/c.parquet has no column 'account.Name', 'email' (its columns: id, account)"
    )


def test_parquet_column_of_another_shape_than_declared_is_an_error(tmp_path: Path) -> None:
    put_parquet(tmp_path, "c.parquet", pa.table({"id": ["1"], "account": [3]}))
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.parquet", {"id": STRING, "account": ACCOUNT})
    assert (
        message(caught)
        == "c.parquet: column 'account' holds Int64, but the stream declares an object"
    )


def test_a_file_named_parquet_that_is_not_parquet_is_an_error_naming_it(tmp_path: Path) -> None:
    put(tmp_path, "c.parquet", "id,name\n1,Ann\n")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.parquet")
    assert message(caught) == (
        "c.parquet is not readable as Parquet: Parquet magic bytes not found in footer. "
        "Either the file is corrupted or this is not a parquet file."
    )


def test_parquet_format_option_reads_a_file_with_another_extension(tmp_path: Path) -> None:
    put_parquet(tmp_path, "c.bin", pa.table({"id": ["1"], "name": ["Ann"]}))
    batches = read_all(tmp_path, "c.bin", options={"format": "parquet"})
    assert records(batches) == [{"id": "1", "name": "Ann"}]


def test_unknown_extension_hint_names_parquet_too(tmp_path: Path) -> None:
    put(tmp_path, "c.txt", "id\n1\n")
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.txt")
    assert message(caught) == "cannot tell the format of c.txt from its extension"
    assert caught.value.hint == "name it .jsonl, .csv or .parquet, or set source.options.format"


def test_a_parquet_value_that_does_not_convert_is_a_row_level_rejection_in_a_run(
    tiny: Path,
) -> None:
    template = tiny / "templates/people.yaml"
    text = template.read_text(encoding="utf-8")
    for old, new in [
        ("path: people.jsonl", "path: people.parquet"),
        ("age: string", "age: integer"),
        ("age: to_int(age)", "age: age"),
    ]:
        assert old in text
        text = text.replace(old, new)
    template.write_text(text, encoding="utf-8")
    people = {
        "id": ["p1", "p2", "p3"],
        "name": ["Ann", "Bob", "Cy"],
        "age": ["31", "abc", "45"],
        "team": ["t1", "t2", None],
    }
    pq.write_table(pa.table(people), tiny / "data/a/people.parquet")
    report = run_integration(load_project(tiny), "a-people", RunSettings())
    assert report.status is RunStatus.SUCCEEDED
    people_stream = report.streams[1]
    assert (people_stream.records_read, people_stream.loaded, people_stream.rejected) == (3, 2, 1)
    store = StateStore.open(database_urls(load_project(tiny)).state)
    entries = store.quarantine_entries(report.run_id)
    store.close()
    assert [(e.rule, e.field, e.value, e.position, e.record_id) for e in entries] == [
        ("type", "age", "abc", 2, "p2")
    ]


# --- roots: file:// and other fsspec file systems ------------------------------------------


def test_a_file_url_root_inside_the_project_is_read(tmp_path: Path) -> None:
    put(tmp_path, "c.jsonl", '{"id": "1", "name": "Ann"}\n')
    root = (tmp_path / "data").resolve().as_uri()
    assert records(read_all(tmp_path, "c.jsonl", root=root)) == [{"id": "1", "name": "Ann"}]


def test_a_file_url_root_outside_the_project_is_refused_with_a_hint(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    put(tmp_path, "c.jsonl", "{}\n")
    root = (tmp_path / "data").resolve().as_uri()
    with pytest.raises(UnsafePathError) as caught:
        make_source(project, root=root)
    assert message(caught) == (
        f"connection root {root!r} is outside the project folder {project.resolve()}"
    )
    assert caught.value.hint == (
        "isthmus reads local files only inside the project folder: put them there and write "
        "the root relative to it (e.g. data/acme)"
    )


def test_a_file_url_root_that_is_not_absolute_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError) as caught:
        make_source(tmp_path, root="file://data")
    assert message(caught) == "connection root 'file://data' is not an absolute file:// URL"


def test_an_unknown_protocol_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError) as caught:
        FileConnection(root="nosuch://bucket/acme")
    assert caught.value.errors()[0]["msg"] == (
        "Value error, connection root 'nosuch://bucket/acme' uses nosuch://, a file system "
        "fsspec does not know; use a folder of the project, a file:// URL, or s3://, gcs://, "
        "... with their package installed"
    )


def test_a_protocol_whose_package_is_missing_is_an_error_naming_the_package() -> None:
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here")
    with pytest.raises(ValidationError) as caught:
        FileConnection(root="s3://exports/acme")
    assert caught.value.errors()[0]["msg"] == (
        "Value error, connection root 's3://exports/acme' needs the Python package s3fs; "
        "install it with: pip install s3fs"
    )


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A folder of fsspec's in-memory file system, standing in for an object store."""
    base = f"/isthmus-{uuid.uuid4().hex[:8]}"
    yield f"memory://{base}"
    memory = fsspec.filesystem("memory")
    if memory.exists(base):
        memory.rm(base, recursive=True)


def test_a_root_on_another_fsspec_file_system_reads_its_files_in_name_order(
    tmp_path: Path, memory_root: str
) -> None:
    memory = fsspec.filesystem("memory")
    base = memory_root.removeprefix("memory://")
    for name, content in [("b.jsonl", '{"id": "b"}\n'), ("a.csv", "id\na\n"), ("x.txt", "")]:
        memory.pipe(f"{base}/exports/{name}", content.encode())
    batches = read_all(tmp_path, "exports/*.*[lv]", {"id": STRING}, root=memory_root)
    assert [(b.origin, r["id"]) for b in batches for r in b.records.to_pylist()] == [
        ("exports/a.csv", "a"),
        ("exports/b.jsonl", "b"),
    ]
    checkpoint = batches[-1].checkpoint
    assert checkpoint is not None
    assert set(checkpoint["files"]) == {"exports/a.csv", "exports/b.jsonl"}


@pytest.mark.parametrize(
    ("path", "problem"),
    [("../c.jsonl", "leads outside"), ("/c.jsonl", "is absolute; it must be relative to")],
)
def test_a_path_leaving_a_root_on_another_file_system_is_refused(
    tmp_path: Path, memory_root: str, path: str, problem: str
) -> None:
    base = memory_root.removeprefix("memory://")
    with pytest.raises(UnsafePathError) as caught:
        read_all(tmp_path, path, root=memory_root)
    assert message(caught) == f"stream contacts path {path!r} {problem} {base}"


# --- confinement to the root ---------------------------------------------------------------


def test_a_path_climbing_out_of_the_root_is_refused_naming_the_path_and_root(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret.jsonl").write_text('{"id": "s"}\n', encoding="utf-8")
    put(tmp_path, "c.jsonl", "{}\n")
    with pytest.raises(UnsafePathError) as caught:
        read_all(tmp_path, "exports/../../secret.jsonl")
    root = (tmp_path / "data").resolve()
    assert message(caught) == (
        f"stream contacts path 'exports/../../secret.jsonl' leads outside {root}"
    )
    assert caught.value.hint == (
        f"keep stream contacts path inside {root}; '..' may not climb out of it"
    )


def test_an_absolute_path_is_refused_naming_the_path_and_root(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s"}\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    with pytest.raises(UnsafePathError) as caught:
        read_all(tmp_path, str(secret))
    root = (tmp_path / "data").resolve()
    assert message(caught) == (
        f"stream contacts path {str(secret)!r} is absolute; it must be relative to {root}"
    )


def test_a_symlink_leading_out_of_the_root_is_refused_naming_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s"}\n', encoding="utf-8")
    (tmp_path / "data/exports").mkdir(parents=True)
    (tmp_path / "data/exports/c.jsonl").symlink_to(secret)
    with pytest.raises(UnsafePathError) as caught:
        read_all(tmp_path, "exports/*.jsonl")
    root = (tmp_path / "data").resolve()
    assert message(caught) == f"file 'exports/c.jsonl' leads outside {root}"


# --- read order and incremental modes ------------------------------------------------------


def test_wildcards_skip_dot_names_and_a_double_star_descends_into_folders(tmp_path: Path) -> None:
    for name in ("a.jsonl", ".a.jsonl", "sub/b.jsonl", ".tmp/c.jsonl", "sub/deeper/d.jsonl"):
        put(tmp_path, f"exports/{name}", '{"id": "x"}\n')
    one_level = read_all(tmp_path, "exports/*.jsonl", {"id": STRING})
    assert origins(one_level) == ["exports/a.jsonl"]
    every_level = read_all(tmp_path, "exports/**/*.jsonl", {"id": STRING})
    assert origins(every_level) == [
        "exports/a.jsonl",
        "exports/sub/b.jsonl",
        "exports/sub/deeper/d.jsonl",
    ]
    spelled = read_all(tmp_path, "exports/.a.jsonl", {"id": STRING})
    assert origins(spelled) == ["exports/.a.jsonl"]


def three_files(project: Path) -> dict[str, Path]:
    """c oldest, then a and b modified in the same second."""
    paths = {name: put(project, f"{name}.jsonl", f'{{"id": "{name}"}}\n') for name in "abc"}
    set_mtime(paths["c"], 1_700_000_000)
    set_mtime(paths["b"], 1_700_000_100)
    set_mtime(paths["a"], 1_700_000_100)
    return paths


@pytest.mark.parametrize("incremental", ["changed", "name"])
def test_files_are_read_in_name_order_whatever_their_mtime(
    tmp_path: Path, incremental: str
) -> None:
    three_files(tmp_path)
    batches = read_all(tmp_path, "*.jsonl", {"id": STRING}, incremental=incremental)
    assert origins(batches) == ["a.jsonl", "b.jsonl", "c.jsonl"]


def test_with_mtime_files_are_read_oldest_first_and_ties_by_name(tmp_path: Path) -> None:
    three_files(tmp_path)
    batches = read_all(tmp_path, "*.jsonl", {"id": STRING}, incremental="mtime")
    assert origins(batches) == ["c.jsonl", "a.jsonl", "b.jsonl"]


def test_with_name_a_file_read_before_is_skipped_even_when_changed(tmp_path: Path) -> None:
    paths = three_files(tmp_path)
    checkpoint = read_all(tmp_path, "*.jsonl", {"id": STRING}, incremental="name")[-1].checkpoint
    paths["a"].write_text('{"id": "a2"}\n{"id": "a3"}\n', encoding="utf-8")
    set_mtime(paths["a"], 1_800_000_000)
    put(tmp_path, "d.jsonl", '{"id": "d"}\n')
    batches = read_all(
        tmp_path, "*.jsonl", {"id": STRING}, incremental="name", checkpoint=checkpoint
    )
    assert records(batches) == [{"id": "d"}]
    final = batches[-1].checkpoint
    assert final is not None
    assert sorted(final["files"]) == ["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"]


def test_with_mtime_a_file_whose_mtime_changed_is_read_again_and_one_resized_is_not(
    tmp_path: Path,
) -> None:
    paths = three_files(tmp_path)
    checkpoint = read_all(tmp_path, "*.jsonl", {"id": STRING}, incremental="mtime")[-1].checkpoint
    set_mtime(paths["c"], 1_800_000_000)  # touched: read again
    paths["b"].write_text('{"id": "b2"}\n{"id": "b3"}\n', encoding="utf-8")
    set_mtime(paths["b"], 1_700_000_100)  # rewritten, but with the recorded mtime
    batches = read_all(
        tmp_path, "*.jsonl", {"id": STRING}, incremental="mtime", checkpoint=checkpoint
    )
    assert records(batches) == [{"id": "c"}]
    final = batches[-1].checkpoint
    assert final is not None
    assert final["files"]["c.jsonl"] == {
        "size": paths["c"].stat().st_size,
        "mtime_ns": 1_800_000_000 * 1_000_000_000,
    }


def test_the_checkpoint_holds_only_names_sizes_and_mtimes(tmp_path: Path) -> None:
    paths = three_files(tmp_path)
    checkpoint = read_all(tmp_path, "*.jsonl", {"id": STRING}, incremental="mtime")[-1].checkpoint
    assert checkpoint == {
        "files": {
            f"{name}.jsonl": {"size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
            for name, path in paths.items()
        }
    }


def test_an_unknown_incremental_mode_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        FileStream(path="c.jsonl", incremental="size")  # type: ignore[arg-type]
    assert caught.value.errors()[0]["msg"] == "Input should be 'changed', 'name' or 'mtime'"


# --- CSV encodings -------------------------------------------------------------------------


def test_csv_utf8_is_read_as_utf8(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,name\n1,Zoë 東京\n".encode())
    assert records(read_all(tmp_path, "c.csv")) == [{"id": "1", "name": "Zoë 東京"}]


def test_csv_utf8_with_a_bom_has_it_stripped_from_the_first_column_name(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", b"\xef\xbb\xbfid,name\n1,Ann\n")
    assert records(read_all(tmp_path, "c.csv")) == [{"id": "1", "name": "Ann"}]


def test_csv_utf8_sig_encoding_strips_the_bom(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", b"\xef\xbb\xbfid,name\n1,Ann\n")
    batches = read_all(tmp_path, "c.csv", options={"csv": CsvOptions(encoding="utf-8-sig")})
    assert records(batches) == [{"id": "1", "name": "Ann"}]


def test_csv_latin1_encoding_reads_accented_names(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", "id,name\n1,Zoë Müller\n".encode("latin-1"))
    batches = read_all(tmp_path, "c.csv", options={"csv": CsvOptions(encoding="latin-1")})
    assert records(batches) == [{"id": "1", "name": "Zoë Müller"}]


def test_csv_latin1_read_as_utf8_is_an_error_naming_the_file_and_the_setting(
    tmp_path: Path,
) -> None:
    put(tmp_path, "c.csv", "id,name\n1,José\n".encode("latin-1"))
    with pytest.raises(SourceFileError) as caught:
        read_all(tmp_path, "c.csv")
    assert message(caught) == "c.csv is not valid utf-8 text (byte 13 of a chunk)"
    assert caught.value.hint == "set source.options.csv.encoding to the file's encoding"
