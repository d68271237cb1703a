"""Decimals and json values going out: a JSON body writes a decimal as an exact number and
a json value as the value itself; file write-backs do the same in JSON Lines, keep the text
in CSV and the types in Parquet."""

from __future__ import annotations

import decimal
import io
import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from isthmus.config.writeback import WriteBackTarget
from isthmus.connectors.csvfiles import CsvOptions
from isthmus.connectors.files import FileConnection
from isthmus.connectors.filesink import FileSink, FileSinkOptions
from isthmus.connectors.filewriters import open_writer
from isthmus.connectors.jsonbody import JSON_FIELD, DecimalText, JsonText, dumps
from isthmus.connectors.rest import RestConnection
from isthmus.connectors.rest.options import RestHttpOptions
from isthmus.connectors.rest.sink import RestSink
from isthmus.connectors.writeback import Outgoing, SinkContext
from isthmus.testing import FakeClock

BIG = "12345678901234567890.123456789"
COLUMNS = pa.schema(
    [
        pa.field("Id", pa.string()),
        pa.field("Amount", pa.decimal128(38, 9)),
        pa.field("Details", pa.string(), metadata=JSON_FIELD),
        pa.field("Note", pa.string()),
    ]
)
BODIES: list[dict[str, Any]] = [
    {"Id": "1", "Amount": DecimalText(BIG), "Details": JsonText('{"a": [1, "x"]}'), "Note": "{}"},
    {"Id": "2", "Amount": DecimalText("-0.000000001"), "Details": JsonText('"s"'), "Note": None},
    {"Id": "3", "Amount": None, "Details": None, "Note": 'say "hi"'},
]


# --- JSON bodies --------------------------------------------------------------------------


def test_dumps_writes_decimals_as_exact_numbers_and_embeds_json_values() -> None:
    body = {
        "amount": DecimalText(BIG),
        "tiny": DecimalText("-0.000000001"),
        "details": JsonText('{"nested": [1, 2.5, null]}'),
        "list": [JsonText("true"), DecimalText("10")],
        "plain": '{"not": "embedded"}',
        "none": None,
    }
    text = dumps(body)
    assert text == (
        '{"amount":12345678901234567890.123456789,"tiny":-0.000000001,'
        '"details":{"nested": [1, 2.5, null]},"list":[true,10],'
        '"plain":"{\\"not\\": \\"embedded\\"}","none":null}'
    )
    parsed = json.loads(text, parse_float=decimal.Decimal)
    assert parsed["amount"] == decimal.Decimal(BIG)
    assert parsed["details"] == {"nested": [1, decimal.Decimal("2.5"), None]}


def test_dumps_of_a_body_without_marked_values_is_plain_compact_json() -> None:
    body = {"a": "text", "b": [1, 2.5], "c": {"d": None}, "e": "Zoë"}
    assert dumps(body) == json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def test_marked_values_read_as_plain_text_to_any_other_json_encoder() -> None:
    body = {"amount": DecimalText("1.5"), "details": JsonText("[1]")}
    assert json.dumps(body) == '{"amount": "1.5", "details": "[1]"}'


def test_the_rest_write_back_sends_decimals_and_json_values_exactly() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"id": "r1"})

    clock = FakeClock()
    sink = RestSink(
        SinkContext(
            options=RestHttpOptions.model_validate({"auth": {"type": "none"}}),
            connection=RestConnection(base_url="http://crm.example"),
            target=WriteBackTarget.model_validate(
                {"entity": "payment", "read": "full", "path": "/payments", "fields": {"Id": "id"}}
            ),
            secrets={},
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        ),
        transport=httpx.MockTransport(answer),
    )
    try:
        delivered = sink.deliver([Outgoing(0, "/payments", BODIES[0], "key-0")])
    finally:
        sink.close()

    assert [d.delivered for d in delivered] == [True]
    assert sent[0].headers["content-type"] == "application/json"
    assert sent[0].content.decode() == (
        '{"Id":"1","Amount":12345678901234567890.123456789,"Details":{"a": [1, "x"]},"Note":"{}"}'
    )


# --- files --------------------------------------------------------------------------------


def written(file_format: str) -> bytes:
    handle = io.BytesIO()
    writer = open_writer(file_format, handle, COLUMNS, CsvOptions())  # type: ignore[arg-type]
    table = pa.Table.from_pylist(
        [
            {**b, "Amount": None if b["Amount"] is None else decimal.Decimal(b["Amount"])}
            for b in BODIES
        ],
        schema=COLUMNS,
    )
    writer.write(table)
    writer.write(table.slice(0, 1))
    writer.close()
    return handle.getvalue()


def test_json_lines_embed_json_values_and_write_decimals_as_numbers() -> None:
    lines = written("jsonl").decode().splitlines()
    assert lines == [
        '{"Id":"1","Amount":12345678901234567890.123456789,"Details":{"a": [1, "x"]},"Note":"{}"}',
        '{"Id":"2","Amount":-0.000000001,"Details":"s","Note":null}',
        '{"Id":"3","Amount":null,"Details":null,"Note":"say \\"hi\\""}',
        '{"Id":"1","Amount":12345678901234567890.123456789,"Details":{"a": [1, "x"]},"Note":"{}"}',
    ]


def test_csv_writes_decimals_and_json_values_as_their_text() -> None:
    frame = pl.read_csv(io.BytesIO(written("csv")), infer_schema=False)
    assert frame.row(0) == ("1", "12345678901234567890.123456789", '{"a": [1, "x"]}', "{}")
    assert frame.row(1) == ("2", "-0.000000001", '"s"', None)


def test_parquet_keeps_the_decimal_type_and_the_json_text() -> None:
    table = pq.read_table(io.BytesIO(written("parquet")))
    assert table.schema.field("Amount").type == pa.decimal128(38, 9)
    assert table.column("Amount").to_pylist()[:2] == [
        decimal.Decimal(BIG),
        decimal.Decimal("-0.000000001"),
    ]
    assert table.column("Details").to_pylist()[:2] == ['{"a": [1, "x"]}', '"s"']


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_the_file_write_back_takes_bodies_with_marked_decimals(
    tmp_path: Path, file_format: str
) -> None:
    sink = FileSink(
        SinkContext(
            options=FileSinkOptions.model_validate({"format": file_format}),
            connection=FileConnection(root="exports"),
            target=WriteBackTarget.model_validate(
                {"entity": "payment", "read": "full", "path": "/out.x", "fields": {"Id": "id"}}
            ),
            project_root=tmp_path,
            columns=COLUMNS,
        )
    )
    records = [Outgoing(i, "/out.x", body, f"key-{i}") for i, body in enumerate(BODIES)]
    assert all(d.delivered for d in sink.deliver(records))
    sink.finish()
    path = tmp_path / "exports/out.x"
    if file_format == "jsonl":
        first = json.loads(path.read_text().splitlines()[0], parse_float=decimal.Decimal)
        assert first["Amount"] == decimal.Decimal(BIG)
        assert first["Details"] == {"a": [1, "x"]}
    else:
        table = pq.read_table(path)
        assert table.column("Amount").to_pylist() == [
            decimal.Decimal(BIG),
            decimal.Decimal("-0.000000001"),
            None,
        ]
