"""The SQL source against the real PostgreSQL: typed columns as text, timestamp cursors
through the checkpoint and back, query streams, quoting of names, a read-only transaction,
and a run that loads a customer's table into the core model; and one read of MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from isthmus.config import load_project
from isthmus.connectors import SourceBatch, SourceContext, StreamRequest, resolved
from isthmus.connectors.base import Checkpoint, NoOptions
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_errors import SqlSourceConfigError, SqlSourceError
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, TIMESTAMP, DataType, struct_of
from isthmus.validation import validate_project

FIELDS = {
    "Id": INTEGER,
    "email": STRING,
    "score": FLOAT,
    "active": BOOLEAN,
    "updated_at": TIMESTAMP,
}
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def crm(postgres_url: str) -> str:
    """A database with crm."Contacts": 7 rows an hour apart, the last two sharing a time."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA crm"))
        connection.execute(
            sa.text(
                'CREATE TABLE crm."Contacts" ("Id" integer PRIMARY KEY, email text, '
                "score numeric(6, 2), active boolean, updated_at timestamptz, extra jsonb, "
                "age text)"
            )
        )
        for i in range(7):
            at = START + dt.timedelta(hours=min(i, 5))
            connection.execute(
                sa.text(
                    'INSERT INTO crm."Contacts" VALUES '
                    "(:i, :email, :score, :active, :at, CAST(:extra AS jsonb), :age)"
                ),
                {
                    "i": i,
                    "email": f"c{i}@example.com",
                    "score": i + 0.25,
                    "active": i % 2 == 0,
                    "at": at,
                    "extra": f'{{"tier": {i}, "tags": ["a", "b"]}}',
                    "age": "forty" if i == 3 else str(20 + i),  # text, as some CRMs keep it
                },
            )
    engine.dispose()
    return postgres_url


def read_all(url: str, request: StreamRequest) -> list[SourceBatch]:
    source = SqlSource(
        SourceContext(
            options=NoOptions(), connection=SqlConnection(url=url), project_root=Path(".")
        )
    )
    try:
        return [resolved(batch) for batch in source.read(request)]
    finally:
        source.close()


def make_request(
    fields: Mapping[str, DataType] = FIELDS,
    *,
    checkpoint: Checkpoint | None = None,
    cursor: str | None = "updated_at",
    batch_size: int = 3,
    **stream: Any,
) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=dict(fields),
        options=SqlStream(**(stream or {"table": "Contacts", "db_schema": "crm"})),
        primary_key="Id",
        checkpoint=checkpoint,
        batch_size=batch_size,
        cursor=cursor,
    )


def rows(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.records.to_pylist()]


@pytest.mark.postgres
def test_a_table_in_a_schema_is_read_in_batches_with_typed_values_as_text(crm: str) -> None:
    batches = read_all(crm, make_request())
    assert [b.records.num_rows for b in batches] == [3, 3, 1]
    assert rows(batches)[0] == {
        "Id": "0",
        "email": "c0@example.com",
        "score": "0.25",
        "active": "true",
        "updated_at": "2026-03-01 12:00:00.000000Z",
    }
    assert batches[-1].origin == "table crm.Contacts"
    assert batches[-1].checkpoint == {
        "cursor": "2026-03-01T17:00:00+00:00",
        "cursor_type": "timestamp",
    }


@pytest.mark.postgres
def test_a_timestamp_checkpoint_is_bound_back_as_a_timestamp(crm: str) -> None:
    first = read_all(crm, make_request(batch_size=100))
    checkpoint = first[-1].checkpoint
    assert [r["Id"] for r in rows(read_all(crm, make_request(checkpoint=checkpoint)))] == []
    earlier = {"cursor": "2026-03-01T15:00:00+00:00", "cursor_type": "timestamp"}
    batches = read_all(crm, make_request(checkpoint=earlier))
    # Strictly after 15:00: 16:00, then both rows at 17:00.
    assert [r["Id"] for r in rows(batches)] == ["4", "5", "6"]
    assert batches[-1].checkpoint == checkpoint


@pytest.mark.postgres
def test_a_query_stream_reads_json_into_declared_nested_fields(crm: str) -> None:
    fields = {"Id": INTEGER, "extra": struct_of({"tier": INTEGER})}
    query = 'SELECT "Id", extra, updated_at FROM crm."Contacts" WHERE active'
    batches = read_all(crm, make_request(fields, query=query, batch_size=100))
    assert rows(batches) == [
        {"Id": "0", "extra": {"tier": "0"}},
        {"Id": "2", "extra": {"tier": "2"}},
        {"Id": "4", "extra": {"tier": "4"}},
        {"Id": "6", "extra": {"tier": "6"}},
    ]
    assert batches[-1].origin == "query"


@pytest.mark.postgres
def test_names_are_exact_and_quoted(crm: str) -> None:
    with pytest.raises(SqlSourceConfigError, match=r"table 'crm\.contacts' not found"):
        read_all(crm, make_request(table="contacts", db_schema="crm"))  # the name is "Contacts"
    sneaky = 'Contacts"; DROP TABLE crm."Contacts"; --'
    with pytest.raises(SqlSourceConfigError, match="not found"):
        read_all(crm, make_request(table=sneaky, db_schema="crm"))
    with pytest.raises(SqlSourceConfigError, match="declared field 'id' is not a column"):
        read_all(crm, make_request({"id": INTEGER}))
    assert len(rows(read_all(crm, make_request(cursor=None)))) == 7  # the table is still there


@pytest.mark.postgres
def test_a_missing_column_in_a_query_is_a_config_error(crm: str) -> None:
    query = 'SELECT "Id", nope FROM crm."Contacts"'
    with pytest.raises(SqlSourceConfigError, match='column "nope" does not exist'):
        read_all(crm, make_request({"Id": INTEGER}, cursor=None, query=query))


@pytest.mark.postgres
def test_the_read_runs_in_a_read_only_transaction(crm: str) -> None:
    engine = sa.create_engine(crm)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SEQUENCE crm.counter"))
    engine.dispose()
    query = "SELECT nextval('crm.counter') AS n"  # passes the checks, but writes
    with pytest.raises(SqlSourceError, match="read-only transaction"):
        read_all(crm, make_request({"n": INTEGER}, cursor=None, query=query))


TEMPLATE = """
template: crm-db
version: 1.0.0
description: Contacts from the customer's CRM database.
owner: {team: core, contact: core@example.com}
source: {connector: sql}
streams:
  contacts:
    table: Contacts
    db_schema: crm
    primary_key: Id
    cursor: updated_at
    schema: {Id: string, email: string, age: integer, updated_at: timestamp}
mappings:
  people:
    stream: contacts
    entity: person
    read: incremental
    fields: {person_id: Id, name: email, age: age}
sync: {max_rejected_fraction: 0.5, batch_size: 2}
"""


@pytest.mark.postgres
def test_a_run_loads_the_table_and_rejects_values_of_the_wrong_type(tiny: Path, crm: str) -> None:
    (tiny / "templates/crm-db.yaml").write_text(TEMPLATE.lstrip(), encoding="utf-8")
    (tiny / "integrations/a-db.yaml").write_text(
        "integration: a-db\ntenant: a\ntemplate: crm-db@^1\n"
        "owner: {team: ops, contact: ops@example.com}\n"
        # The password is a reference the connection binds (the server trusts any password).
        f'connection: {{url: "{crm}", password: "${{secret:crm_db}}", '
        "secrets: {crm_db: env:CRM_DB_PASSWORD}}\n",
        encoding="utf-8",
    )
    found = validate_project(load_project(tiny))
    assert [d.code for d in found if d.code in ("unbound-secret", "unused-secret")] == []
    settings = RunSettings(environ={"CRM_DB_PASSWORD": "s3cret-db-pw"})
    report = run_integration(load_project(tiny), "a-db", settings)
    assert report.status is RunStatus.SUCCEEDED, report.error
    contacts = report.streams[0]
    assert (contacts.records_read, contacts.loaded, contacts.rejected) == (7, 6, 1)
    store = StateStore.open(database_urls(load_project(tiny)).state)
    try:
        entries = store.quarantine_entries(report.run_id)
        checkpoint = store.checkpoint("a-db", "people")
    finally:
        store.close()
    assert [(e.field, e.value, e.record_id) for e in entries] == [("age", "forty", "3")]
    assert checkpoint == {"cursor": "2026-03-01T17:00:00+00:00", "cursor_type": "timestamp"}
    again = run_integration(load_project(tiny), "a-db", settings)
    assert again.streams[0].records_read == 0


@pytest.mark.mariadb
def test_a_mariadb_table_is_read_in_batches_and_incrementally(mariadb_url: str) -> None:
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE `Contacts` (`Id` int PRIMARY KEY, email text, updated_at datetime(6))"
            )
        )
        for i in range(5):
            connection.execute(
                sa.text("INSERT INTO `Contacts` VALUES (:i, :email, :at)"),
                {
                    "i": i,
                    "email": f"c{i}@example.com",
                    "at": START.replace(tzinfo=None) + dt.timedelta(hours=i),
                },
            )
    engine.dispose()
    fields = {"Id": INTEGER, "email": STRING, "updated_at": TIMESTAMP}
    batches = read_all(mariadb_url, make_request(fields, table="Contacts", batch_size=2))
    assert [b.records.num_rows for b in batches] == [2, 2, 1]
    assert rows(batches)[0] == {
        "Id": "0",
        "email": "c0@example.com",
        "updated_at": "2026-03-01 12:00:00.000000",
    }
    checkpoint = {"cursor": "2026-03-01T14:00:00", "cursor_type": "timestamp"}
    assert batches[-1].checkpoint == {"cursor": "2026-03-01T16:00:00", "cursor_type": "timestamp"}
    later = read_all(mariadb_url, make_request(fields, table="Contacts", checkpoint=checkpoint))
    assert [r["Id"] for r in rows(later)] == ["3", "4"]
    with pytest.raises(SqlSourceConfigError, match="table 'nope; DROP TABLE Contacts' not found"):
        read_all(mariadb_url, make_request(fields, table="nope; DROP TABLE Contacts"))
