"""Samplers: the raw fields of the first records a source delivers, nested ones as dotted
paths, and whether each held a value; read the way the source reads, writing nothing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from isthmus.connectors.base import NoOptions, SourceContext, StreamRequest
from isthmus.connectors.files import FileConnection, FileOptions, FileSource, FileStream
from isthmus.connectors.registry import ConnectorParts, SourceConnector
from isthmus.connectors.rest import RestConnection, RestOptions, RestStream
from isthmus.connectors.sampling import FieldWalk, following_declared
from isthmus.connectors.sampling_files import FileSampler
from isthmus.connectors.sampling_rest import sampled_rest_source
from isthmus.connectors.sampling_sources import sampled_source
from isthmus.connectors.sampling_sql import SqlSampler
from isthmus.connectors.sampling_webhook import WebhookSampler
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.testing import MemorySource
from isthmus.types import STRING, DataType, parse_type, struct_of

FIELDS: dict[str, DataType] = {
    "Id": STRING,
    "Name": STRING,
    "Account": struct_of({"Id": STRING, "Name": STRING}),
}


def request(options: Any, *, checkpoint: dict[str, Any] | None = None) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=FIELDS,
        options=options,
        primary_key="Id",
        checkpoint=checkpoint,
        batch_size=100,
    )


def test_the_walk_follows_declared_objects_only_and_tells_null_from_value() -> None:
    walk = FieldWalk(FIELDS)
    walk.record(
        {"Id": "1", "Name": None, "Account": {"Id": "a", "Region": "EU"}, "Extra": {"x": 1}}
    )
    walk.record({"Id": "2", "Name": "", "Account": None})
    walk.record(["not", "a", "record"])

    assert walk.records == 2
    assert walk.found == {
        "Id": True,
        "Name": False,
        "Account": True,
        "Account.Id": True,
        "Account.Region": True,
        "Extra": True,
    }


def test_a_flat_column_is_named_only_below_declared_objects() -> None:
    assert following_declared("Account.Id", FIELDS)
    assert following_declared("Tags", FIELDS)
    assert not following_declared("Name.First", FIELDS)
    assert not following_declared("Other.Id", FIELDS)
    walk = FieldWalk(FIELDS)
    walk.paths(["Id", "Account.Id", "Other.Id"], [True, False, True])
    assert walk.found == {"Id": True, "Account.Id": False, "Account": False}


def file_sampler(root: Path, **options: Any) -> FileSampler:
    context = SourceContext(
        options=FileOptions(**options), connection=FileConnection(root="data"), project_root=root
    )
    return FileSampler(FileSource(context))


def test_json_lines_sample_counts_malformed_lines_and_stops_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    lines = [
        '\ufeff{"Id": "1", "Account": {"Id": "a", "Region": "EU"}, "Tags": ["x"]}',
        "",
        "{broken",
        '{"Id": "2", "Name": null}',
        '{"Id": "3", "Name": "late"}',
    ]
    (tmp_path / "data/contacts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    observed = file_sampler(tmp_path).observe(request(FileStream(path="*.jsonl")), 3)

    assert observed.records == 3
    assert observed.fields == {
        "Id": True,
        "Account": True,
        "Account.Id": True,
        "Account.Region": True,
        "Tags": True,
        "Name": False,
    }
    assert observed.how == "the first 3 records of contacts.jsonl"


def test_files_read_before_are_left_out_as_the_checkpoint_says(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/a.jsonl").write_text('{"Id": "1", "Old": 1}\n', encoding="utf-8")
    (tmp_path / "data/b.jsonl").write_text('{"Id": "2", "New": 1}\n', encoding="utf-8")
    sampler = file_sampler(tmp_path)
    stream = FileStream(path="*.jsonl", incremental="name")
    checkpoint = {"files": {"a.jsonl": {"size": 1, "mtime_ns": 1}}}

    observed = sampler.observe(request(stream, checkpoint=checkpoint), 10)
    assert observed.fields == {"Id": True, "New": True}
    assert observed.how == "the first 1 records of b.jsonl"
    everything = {"files": {n: {"size": 1, "mtime_ns": 1} for n in ("a.jsonl", "b.jsonl")}}
    nothing = sampler.observe(request(stream, checkpoint=everything), 10)
    assert (nothing.records, nothing.how) == (
        0,
        "the first 0 records of no file (none is new since the checkpoint)",
    )


def test_csv_sample_names_the_header_and_the_columns_without_a_value(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    text = "Id;Name;Account.Id;Extra\n1;;a;x\n2;;b;\n3;bad row\n"
    (tmp_path / "data/contacts.txt").write_text(text, encoding="latin-1")
    sampler = file_sampler(tmp_path, format="csv", csv={"delimiter": ";", "encoding": "latin-1"})
    observed = sampler.observe(request(FileStream(path="contacts.txt")), 10)

    assert observed.records == 3
    assert observed.fields == {
        "Id": True,
        "Name": False,
        "Account.Id": True,
        "Account": True,
        "Extra": True,
    }


def test_parquet_sample_flattens_nested_columns_and_counts_nulls(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    frame = pl.DataFrame(
        {
            "Id": ["1", "2", "3"],
            "Name": [None, None, "c"],
            "Account": [{"Id": "a", "Region": None}, {"Id": None, "Region": None}, None],
        }
    )
    frame.write_parquet(tmp_path / "data/contacts.parquet")
    observed = file_sampler(tmp_path).observe(request(FileStream(path="*.parquet")), 2)

    assert observed.records == 2
    assert observed.fields == {
        "Id": True,
        "Name": False,
        "Account.Id": True,
        "Account.Region": False,
        "Account": True,
    }


PAGES = {
    "/contacts": {"data": [{"Id": "1", "Account": {"Id": "a"}}], "next_cursor": "p2"},
    "/contacts?cursor=p2": {"data": [{"Id": "2", "Fresh": True}, {"Id": "3"}]},
}


def crm(request: httpx.Request) -> httpx.Response:
    key = request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
    if request.url.path == "/broken":
        return httpx.Response(200, content=b"not json")
    return httpx.Response(200, json=PAGES[key])


def rest_context() -> SourceContext:
    return SourceContext(
        options=RestOptions.model_validate(
            {"auth": {"type": "none"}, "pagination": {"style": "cursor"}}
        ),
        connection=RestConnection(base_url="http://crm.test"),
        project_root=Path("."),
    )


def test_rest_sample_reads_the_pages_the_source_fetched_once(tmp_path: Path) -> None:
    source, sampler = sampled_rest_source(rest_context(), transport=httpx.MockTransport(crm))
    stream = RestStream.model_validate({"path": "/contacts", "record_selector": "data"})
    wanted = request(stream)
    records = sum(batch.parse().records.num_rows for batch in source.read(wanted))  # type: ignore[union-attr]
    source.close()

    assert records == 3
    assert len(sampler.pages.bodies) == 2
    observed = sampler.observe(wanted, 2)
    assert observed.records == 2
    assert observed.fields == {"Id": True, "Account": True, "Account.Id": True, "Fresh": True}
    assert observed.how == "the first 2 records of 2 page(s) of GET /contacts"


def test_a_rest_page_that_is_not_json_shows_no_fields() -> None:
    source, sampler = sampled_rest_source(rest_context(), transport=httpx.MockTransport(crm))
    source.client.get("http://crm.test/broken", {}, "a broken page")
    source.close()
    stream = RestStream.model_validate({"path": "/broken", "record_selector": "data"})
    observed = sampler.observe(request(stream), 10)
    assert (observed.records, observed.fields) == (0, {})


def test_sql_sample_reads_the_columns_of_a_table_and_of_a_query(tmp_path: Path) -> None:
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as connection:
        connection.execute('CREATE TABLE contacts ("Id" TEXT, "Name" TEXT, "Extra" TEXT)')
        connection.execute("INSERT INTO contacts VALUES ('1', NULL, 'x'), ('2', '', NULL)")
    context = SourceContext(
        options=NoOptions(),
        connection=SqlConnection(url=f"sqlite:///{database}"),
        project_root=tmp_path,
    )
    sampler = SqlSampler(SqlSource(context))
    table = sampler.observe(request(SqlStream(table="contacts")), 10)
    query = sampler.observe(request(SqlStream(query='SELECT "Id" FROM contacts')), 1)
    sampler.source.close()

    assert table.fields == {"Id": True, "Name": False, "Extra": True}
    assert table.how == "the columns of the table contacts and its first 2 rows"
    assert (query.records, query.fields) == (1, {"Id": True})
    assert query.how == "the columns of the query and its first 1 rows"


@dataclass(frozen=True)
class Event:
    seq: int
    event_id: str
    body: str


class Events:
    def __init__(self, bodies: list[str]) -> None:
        self.events = [Event(n, f"e{n}", body) for n, body in enumerate(bodies, start=1)]
        self.asked: list[tuple[str, str, int, int]] = []

    def events_after(
        self, integration: str, stream: str, after_seq: int, limit: int
    ) -> list[Event]:
        self.asked.append((integration, stream, after_seq, limit))
        return [e for e in self.events if e.seq > after_seq][:limit]

    def last_event_seq(self, integration: str, stream: str) -> int:
        return len(self.events)


def test_webhook_sample_reads_stored_payloads_after_the_checkpoint() -> None:
    events = Events(['{"Id": "1", "Old": 1}', "not json", '{"Id": "3", "Account": {"Id": "a"}}'])
    sampler = WebhookSampler(events, "acme-hooks")
    observed = sampler.observe(request(NoOptions(), checkpoint={"after": 1}), 5)

    assert events.asked == [("acme-hooks", "contacts", 1, 5)]
    assert observed.records == 2
    assert observed.fields == {"Id": True, "Account": True, "Account.Id": True}
    assert observed.how == "the payloads of 2 stored event(s) after #1"


def test_a_connector_without_a_sampler_gets_none() -> None:
    memory = MemorySource({"contacts": [{"Id": "1"}]})
    connector = SourceConnector(
        name="memory",
        description="records in memory",
        load=lambda: ConnectorParts(NoOptions, NoOptions, lambda context: memory),
    )
    context = SourceContext(options=NoOptions(), connection=NoOptions(), project_root=Path("."))
    source, sampler = sampled_source(connector, context)
    assert (source, sampler) == (memory, None)


@pytest.mark.parametrize("spec", ["list[string]", "json"])
def test_values_under_a_field_declared_as_a_list_or_json_are_not_followed(spec: str) -> None:
    walk = FieldWalk({"Tags": parse_type(spec)})
    walk.record({"Tags": {"a": 1}})
    assert walk.found == {"Tags": True}
    assert json.dumps(walk.result("x").fields) == '{"Tags": true}'
