"""Sources deliver a field declared json as the JSON text of the value the record holds,
and a field declared decimal as its text, in every format: JSON Lines (whole blocks and the
bisected lines around a malformed one), REST pages, webhook bodies, CSV, Parquet and SQL."""

from __future__ import annotations

import decimal
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.connectors import SourceBatch, SourceContext, StreamRequest, resolved
from isthmus.connectors.base import NoOptions
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.connectors.jsonlines import parse_jsonl_bytes
from isthmus.connectors.jsontext import json_paths
from isthmus.connectors.rest.batches import pending_batch
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.types import DECIMAL, JSON, STRING, DataType, list_of, struct_of

FIELDS: dict[str, DataType] = {"id": STRING, "amount": DECIMAL, "details": JSON}
# One value of every JSON kind, and the text each arrives as (JSON meaning kept).
KINDS: list[tuple[Any, str | None]] = [
    ({"card": {"last4": "4242"}, "tags": ["a", 1, 2.5, None]}, None),
    ([1, "two", {"three": 3}], None),
    ("plain text", '"plain text"'),
    ('{"looks": "like an object"}', '"{\\"looks\\": \\"like an object\\"}"'),
    ("", '""'),
    ('say "hi" \\ \n', '"say \\"hi\\" \\\\ \\n"'),
    (12.5, "12.5"),
    (-3, "-3"),
    (True, "true"),
    (False, "false"),
]


def lines(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def dtype(fields: Mapping[str, DataType]) -> pl.Struct:
    return pl.Struct({name: t.to_text_polars() for name, t in fields.items()})


def parse(block: bytes, count: int, fields: Mapping[str, DataType] = FIELDS) -> pl.DataFrame:
    frame, _, malformed = parse_jsonl_bytes(
        block, count, 1, "x.jsonl", dtype(fields), json_paths(fields)
    )
    assert malformed == []
    return frame


def assert_same_json(found: list[str | None], values: list[Any]) -> None:
    assert [None if f is None else json.loads(f) for f in found] == values


# --- JSON Lines ---------------------------------------------------------------------------


def test_json_paths_find_json_fields_at_any_depth_but_not_in_lists() -> None:
    fields = {
        "a": JSON,
        "b": struct_of({"c": JSON, "d": STRING, "e": struct_of({"f": JSON})}),
        "g": list_of(JSON),
        "h": STRING,
    }
    assert json_paths(fields) == (("a",), ("b", "c"), ("b", "e", "f"))


def test_every_kind_of_json_value_arrives_as_its_json_text() -> None:
    records = [{"id": str(i), "details": value} for i, (value, _) in enumerate(KINDS)]
    found = parse(lines(records), len(records))["details"].to_list()

    assert_same_json(found, [value for value, _ in KINDS])
    for text, (_, exact) in zip(found, KINDS, strict=True):
        if exact is not None:
            assert text == exact


def test_a_missing_json_field_and_a_json_null_are_both_null() -> None:
    found = parse(b'{"id": "1", "details": null}\n{"id": "2"}\n', 2)["details"].to_list()
    assert found == [None, None]


def test_a_decimal_sent_as_a_json_string_keeps_every_digit() -> None:
    block = lines(
        [
            {"id": "1", "amount": "12345678901234567890.123456789"},
            {"id": "2", "amount": "-0.000000001"},
            {"id": "3", "amount": 19.99},
        ]
    )
    found = parse(block, 3)["amount"].to_list()
    assert found == ["12345678901234567890.123456789", "-0.000000001", "19.99"]


def test_nested_json_fields_arrive_as_json_text_inside_their_object() -> None:
    fields = {"id": STRING, "meta": struct_of({"tag": JSON, "note": STRING})}
    block = lines(
        [
            {"id": "1", "meta": {"tag": "red", "note": "n"}},
            {"id": "2", "meta": {"tag": [1, 2], "note": "m"}},
            {"id": "3", "meta": None},
        ]
    )
    found = parse(block, 3, fields)["meta"].to_list()
    assert found[0] == {"tag": '"red"', "note": "n"}
    assert json.loads(found[1]["tag"]) == [1, 2]
    assert found[1]["note"] == "m"
    assert found[2] is None


def test_json_text_survives_the_bisection_around_a_malformed_line() -> None:
    block = (
        lines([{"id": "1", "details": "red"}])
        + b'{"id": "2", "details": \n'
        + lines([{"id": "3", "details": {"a": "b"}}, {"id": "4", "details": "blue"}])
    )
    frame, positions, malformed = parse_jsonl_bytes(
        block, 4, 1, "x.jsonl", dtype(FIELDS), json_paths(FIELDS)
    )
    assert frame["id"].to_list() == ["1", "3", "4"]
    assert frame["details"].to_list()[0] == '"red"'
    assert frame["details"].to_list()[2] == '"blue"'
    assert json.loads(frame["details"].to_list()[1]) == {"a": "b"}
    assert [m.position for m in malformed] == [2]
    assert list(positions.to_pylist()) == [1, 3, 4]


def test_a_json_file_source_reads_json_fields_as_json_text(tmp_path: Path) -> None:
    records = [{"id": str(i), "details": value} for i, (value, _) in enumerate(KINDS)]
    put(tmp_path, "ledger.jsonl", lines(records))
    found = file_records(tmp_path, "ledger.jsonl")
    assert_same_json([r["details"] for r in found], [value for value, _ in KINDS])
    assert found[2]["details"] == '"plain text"'


# --- REST, CSV, Parquet -------------------------------------------------------------------


def test_a_rest_page_delivers_json_fields_as_json_text() -> None:
    records = [{"id": str(i), "details": value} for i, (value, _) in enumerate(KINDS)]
    batch = resolved(pending_batch(records, 1, "GET /ledger", FIELDS, 0))
    found = batch.records.column("details").to_pylist()
    assert_same_json(found, [value for value, _ in KINDS])
    assert found[2] == '"plain text"'


def test_a_csv_cell_of_a_json_field_is_taken_as_json_text(tmp_path: Path) -> None:
    put(
        tmp_path,
        "ledger.csv",
        'id,amount,details\n1,12345678901234567890.123456789,"{""a"": [1, 2]}"\n'
        '2,-0.000000001,"""text"""\n3,,{not json\n',
    )
    found = file_records(tmp_path, "ledger.csv")
    assert [r["details"] for r in found] == ['{"a": [1, 2]}', '"text"', "{not json"]
    assert [r["amount"] for r in found] == [
        "12345678901234567890.123456789",
        "-0.000000001",
        None,
    ]


def test_parquet_objects_and_lists_of_a_json_field_arrive_as_json_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["1", "2", "3"],
            "amount": pa.array(
                [None, decimal.Decimal("1.5"), decimal.Decimal("-0.000000001")],
                pa.decimal128(38, 9),
            ),
            "details": pa.array(
                [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}],
                pa.struct([("a", pa.int64()), ("b", pa.string())]),
            ),
        }
    )
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data/ledger.parquet")
    found = file_records(tmp_path, "ledger.parquet")
    assert_same_json([r["details"] for r in found], [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}])
    assert [r["amount"] for r in found] == [None, "1.500000000", "-0.000000001"]


# --- SQL ----------------------------------------------------------------------------------


def test_a_sql_json_field_is_the_columns_text(tmp_path: Path) -> None:
    database = tmp_path / "data/ledger.db"
    database.parent.mkdir(parents=True)
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE ledger (id TEXT, amount TEXT, details TEXT)")
    connection.executemany(
        "INSERT INTO ledger VALUES (?, ?, ?)",
        [
            ("1", "12345678901234567890.123456789", '{"a": [1, 2]}'),
            ("2", "-0.000000001", '"text"'),
            ("3", None, "{not json"),
        ],
    )
    connection.commit()
    connection.close()

    found = sql_records(tmp_path, FIELDS)

    assert found == [
        {"id": "1", "amount": "12345678901234567890.123456789", "details": '{"a": [1, 2]}'},
        {"id": "2", "amount": "-0.000000001", "details": '"text"'},
        {"id": "3", "amount": None, "details": "{not json"},
    ]


def test_a_sql_json_field_beside_nested_fields_keeps_its_value(tmp_path: Path) -> None:
    """A stream with nested fields travels as JSON records: the column's JSON is parsed."""
    database = tmp_path / "data/ledger.db"
    database.parent.mkdir(parents=True)
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE ledger (id TEXT, owner TEXT, details TEXT)")
    connection.executemany(
        "INSERT INTO ledger VALUES (?, ?, ?)",
        [("1", '{"name": "Ann"}', '"text"'), ("2", '{"name": "Bo"}', '{"a": [1, 2]}')],
    )
    connection.commit()
    connection.close()
    fields = {"id": STRING, "owner": struct_of({"name": STRING}), "details": JSON}

    found = sql_records(tmp_path, fields)

    assert [r["owner"] for r in found] == [{"name": "Ann"}, {"name": "Bo"}]
    assert found[0]["details"] == '"text"'
    assert json.loads(found[1]["details"]) == {"a": [1, 2]}


# --- helpers ------------------------------------------------------------------------------


def put(project: Path, name: str, content: bytes | str) -> None:
    path = project / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def file_records(project: Path, path: str) -> list[dict[str, Any]]:
    source = FileSource(
        SourceContext(
            options=FileOptions(), connection=FileConnection(root="data"), project_root=project
        )
    )
    request = StreamRequest(
        name="ledger",
        fields=dict(FIELDS),
        options=FileStream(path=path),
        primary_key="id",
        checkpoint=None,
        batch_size=100,
    )
    return rows([resolved(item) for item in source.read(request)])


def sql_records(project: Path, fields: Mapping[str, DataType]) -> list[dict[str, Any]]:
    source = SqlSource(
        SourceContext(
            options=NoOptions(),
            connection=SqlConnection(url="sqlite:///data/ledger.db"),
            project_root=project,
            secrets={},
        )
    )
    request = StreamRequest(
        name="ledger",
        fields=dict(fields),
        options=SqlStream(table="ledger"),
        primary_key="id",
        checkpoint=None,
        batch_size=100,
    )
    try:
        return rows([resolved(batch) for batch in source.read(request)])
    finally:
        source.close()


def rows(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.records.to_pylist()]


TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]))  # valid Unicode only
# Inside objects and lists, numbers of at most 15 significant digits (see jsontext).
SHORT_FLOATS = st.decimals(min_value=-(10**9), max_value=10**9, places=6).map(float)
JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT
JSON_VALUES = (
    JSON_LEAVES
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.recursive(
        JSON_LEAVES | SHORT_FLOATS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=12,
    )
)


def as_doubles(value: Any) -> Any:
    """A JSON value with every number as a double, as JSON numbers mean them."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [as_doubles(v) for v in value]
    return {k: as_doubles(v) for k, v in value.items()}


@settings(max_examples=100, deadline=None)
@given(values=st.lists(JSON_VALUES, min_size=1, max_size=8))
def test_any_json_value_arrives_as_json_text_of_the_same_value(values: list[Any]) -> None:
    records = [{"id": str(i), "details": value} for i, value in enumerate(values)]
    found = parse(lines(records), len(records))["details"].to_list()
    parsed = [None if f is None else as_doubles(json.loads(f)) for f in found]
    assert parsed == as_doubles(values)


def test_backslashes_and_control_characters_inside_an_object_arrive_escaped() -> None:
    details = {"path": "C:\\new\\table", "tab": "a\tb", 'key "\\': ["\u0001", '\\"']}
    records = [{"id": "1", "details": details}]
    found = parse(lines(records), 1)["details"].to_list()
    assert json.loads(found[0]) == records[0]["details"]
