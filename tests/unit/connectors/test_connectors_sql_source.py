"""The SQL source on SQLite files: full and incremental reads in bounded batches, query
streams, declared fields, names that cannot inject SQL, passwords kept out of text, error
classes, and a wrong-typed value ending as a rejected row of a real run."""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from isthmus.config import load_project
from isthmus.config.secrets import Secret
from isthmus.connectors import SourceBatch, SourceContext, StreamRequest, resolved, source_connector
from isthmus.connectors.base import Checkpoint, NoOptions
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_batches import checkpoint_cursor, cursor_checkpoint, text_column
from isthmus.connectors.sqlsource_errors import (
    SqlSourceAuthError,
    SqlSourceConfigError,
    SqlSourceUnavailableError,
    classified_read,
)
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.errors import ErrorClass
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore
from isthmus.types import BOOLEAN, FLOAT, INTEGER, STRING, DataType
from isthmus.validation import validate_project
from support import sqlite_content

CONTACT = {"id": STRING, "email": STRING, "updated_at": STRING}


def make_database(path: Path, rows: Sequence[tuple[Any, ...]] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE contacts (id TEXT, email TEXT, updated_at TEXT, score)")
    connection.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()
    return path


def contacts(count: int) -> list[tuple[Any, ...]]:
    return [
        (f"c{i}", f"c{i}@example.com", f"2026-01-{i + 1:02d}T00:00:00", i * 1.5)
        for i in range(count)
    ]


def make_source(project: Path, url: str = "sqlite:///data/crm.db", **connection: Any) -> SqlSource:
    secrets = connection.pop("secrets", {})
    return SqlSource(
        SourceContext(
            options=NoOptions(),
            connection=SqlConnection(url=url, **connection),
            project_root=project,
            secrets=secrets,
        )
    )


def make_request(
    fields: Mapping[str, DataType] | None = None,
    *,
    batch_size: int = 100,
    checkpoint: Checkpoint | None = None,
    cursor: str | None = None,
    **stream: Any,
) -> StreamRequest:
    return StreamRequest(
        name="contacts",
        fields=dict(CONTACT if fields is None else fields),
        options=SqlStream(**(stream or {"table": "contacts"})),
        primary_key="id",
        checkpoint=checkpoint,
        batch_size=batch_size,
        cursor=cursor,
    )


def read_all(project: Path, request: StreamRequest) -> list[SourceBatch]:
    source = make_source(project)
    try:
        return [resolved(batch) for batch in source.read(request)]
    finally:
        source.close()


def records(batches: list[SourceBatch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.records.to_pylist()]


# --- reading ------------------------------------------------------------------------------


def test_a_full_read_gives_every_row_as_text_numbered_from_one(tmp_path: Path) -> None:
    make_database(tmp_path / "data/crm.db", contacts(3))
    batches = read_all(tmp_path, make_request())
    assert records(batches) == [
        {"id": "c0", "email": "c0@example.com", "updated_at": "2026-01-01T00:00:00"},
        {"id": "c1", "email": "c1@example.com", "updated_at": "2026-01-02T00:00:00"},
        {"id": "c2", "email": "c2@example.com", "updated_at": "2026-01-03T00:00:00"},
    ]
    assert [p for b in batches for p in b.positions.to_pylist()] == [1, 2, 3]
    assert batches[-1].origin == "table contacts"
    assert batches[-1].checkpoint is None  # no cursor: nothing to resume from
    assert batches[-1].observed_fields == {"id", "email", "updated_at", "score"}


def test_batches_hold_at_most_batch_size_rows_and_only_the_last_has_the_checkpoint(
    tmp_path: Path,
) -> None:
    make_database(tmp_path / "data/crm.db", contacts(10))
    batches = read_all(tmp_path, make_request(batch_size=3, cursor="updated_at"))
    assert [b.records.num_rows for b in batches] == [3, 3, 3, 1]
    assert [b.checkpoint for b in batches[:-1]] == [None, None, None]
    assert batches[-1].checkpoint == {"cursor": "2026-01-10T00:00:00"}
    assert [p for b in batches for p in b.positions.to_pylist()] == list(range(1, 11))


def test_an_empty_table_gives_one_empty_batch_keeping_the_checkpoint(tmp_path: Path) -> None:
    make_database(tmp_path / "data/crm.db")
    previous = {"cursor": "2026-01-05T00:00:00"}
    batches = read_all(tmp_path, make_request(cursor="updated_at", checkpoint=previous))
    assert [b.records.num_rows for b in batches] == [0]
    assert batches[0].records.column_names == ["id", "email", "updated_at"]
    assert batches[0].checkpoint == previous


def test_an_incremental_read_takes_rows_past_the_checkpoint_but_none_equal_to_it(
    tmp_path: Path,
) -> None:
    rows = [
        ("a", "a@x", "2026-01-01", 1),
        ("b", "b@x", "2026-01-02", 2),  # equal to the checkpoint: read last time, not again
        ("c", "c@x", "2026-01-03", 3),
        ("d", "d@x", "2026-01-03", 4),  # shares the greatest value: read with it
    ]
    make_database(tmp_path / "data/crm.db", rows)
    request = make_request(cursor="updated_at", checkpoint={"cursor": "2026-01-02"})
    batches = read_all(tmp_path, request)
    assert [r["id"] for r in records(batches)] == ["c", "d"]
    assert batches[-1].checkpoint == {"cursor": "2026-01-03"}
    again = read_all(
        tmp_path, make_request(cursor="updated_at", checkpoint={"cursor": "2026-01-03"})
    )
    assert records(again) == []
    assert again[-1].checkpoint == {"cursor": "2026-01-03"}  # nothing newer: kept


def test_the_cursor_need_not_be_a_declared_field(tmp_path: Path) -> None:
    make_database(tmp_path / "data/crm.db", contacts(3))
    request = make_request(
        {"id": STRING}, cursor="updated_at", checkpoint={"cursor": "2026-01-01T00:00:00"}
    )
    batches = read_all(tmp_path, request)
    assert records(batches) == [{"id": "c1"}, {"id": "c2"}]
    assert batches[-1].checkpoint == {"cursor": "2026-01-03T00:00:00"}


def test_a_query_stream_is_filtered_and_ordered_by_the_cursor_as_a_subquery(
    tmp_path: Path,
) -> None:
    make_database(tmp_path / "data/crm.db", contacts(5))
    query = (
        "SELECT id, upper(email) AS email, updated_at FROM contacts\n"
        "WHERE id <> 'c3' ORDER BY id DESC -- newest first, as the author likes"
    )
    request = make_request(
        query=query, cursor="updated_at", checkpoint={"cursor": "2026-01-01T00:00:00"}
    )
    batches = read_all(tmp_path, request)
    assert [(r["id"], r["email"]) for r in records(batches)] == [
        ("c1", "C1@EXAMPLE.COM"),
        ("c2", "C2@EXAMPLE.COM"),
        ("c4", "C4@EXAMPLE.COM"),
    ]
    assert batches[-1].origin == "query"
    assert batches[-1].checkpoint == {"cursor": "2026-01-05T00:00:00"}


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM contacts",
        "SELECT 1; DROP TABLE contacts",
        "WITH gone AS (DELETE FROM contacts RETURNING id) SELECT id FROM gone",
        "SELECT * INTO copy FROM contacts",
        "UPDATE contacts SET email = NULL",
    ],
)
def test_a_query_that_is_not_one_select_is_refused(query: str) -> None:
    assert SqlStream(query=" select 1 ;\n").query == "select 1"  # a final ';' is dropped
    with pytest.raises(ValidationError) as caught:
        SqlStream(query=query)
    assert "query must" in str(caught.value)


def test_a_stream_reads_a_table_or_a_query_not_both_nor_neither() -> None:
    for keys in (
        {},
        {"table": "contacts", "query": "SELECT 1"},
        {"query": "SELECT 1", "db_schema": "crm"},
    ):
        with pytest.raises(ValidationError):
            SqlStream(**keys)


def test_a_declared_field_missing_from_the_table_is_a_config_error_naming_it(
    tmp_path: Path,
) -> None:
    make_database(tmp_path / "data/crm.db", contacts(1))
    with pytest.raises(SqlSourceConfigError) as caught:
        read_all(tmp_path, make_request({"id": STRING, "phone": STRING}))
    assert caught.value.error_class is ErrorClass.CONFIG
    assert "declared field 'phone' is not a column of the table contacts" in caught.value.message
    assert "id, email, updated_at, score" in (caught.value.hint or "")


def test_a_declared_field_missing_from_the_query_is_a_config_error_naming_it(
    tmp_path: Path,
) -> None:
    make_database(tmp_path / "data/crm.db", contacts(1))
    request = make_request({"id": STRING, "email": STRING}, query="SELECT id FROM contacts")
    with pytest.raises(
        SqlSourceConfigError, match="declared field 'email' is not a column of the query"
    ):
        read_all(tmp_path, request)


@pytest.mark.parametrize(
    "name",
    [
        'contacts"; DROP TABLE contacts; --',
        "contacts; DROP TABLE contacts",
        "contacts -- ",
        "contacts /* */",
        "contacts' OR '1'='1",
        '"contacts"',
    ],
)
def test_a_table_name_with_sql_in_it_is_only_a_name_that_is_not_found(
    tmp_path: Path, name: str
) -> None:
    database = make_database(tmp_path / "data/crm.db", contacts(2))
    with pytest.raises(SqlSourceConfigError) as caught:
        read_all(tmp_path, make_request(table=name))
    assert caught.value.message == f"stream contacts: table {name!r} not found"
    assert len(sqlite_content(database)["contacts"]) == 2  # nothing was executed


def test_a_field_or_cursor_name_with_sql_in_it_is_only_a_name_that_is_missing(
    tmp_path: Path,
) -> None:
    database = make_database(tmp_path / "data/crm.db", contacts(2))
    sneaky = 'id" FROM contacts; DROP TABLE contacts; --'
    with pytest.raises(SqlSourceConfigError, match=r"declared field .* is not a column"):
        read_all(tmp_path, make_request({sneaky: STRING}))
    with pytest.raises(SqlSourceConfigError, match="is not a column"):
        read_all(
            tmp_path, make_request({"id": STRING}, cursor="updated_at); DROP TABLE contacts; --")
        )
    assert len(sqlite_content(database)["contacts"]) == 2


def test_a_column_named_like_sql_is_read_as_a_column(tmp_path: Path) -> None:
    """Quoting works both ways: odd names that do exist are read, not refused."""
    path = tmp_path / "data/crm.db"
    path.parent.mkdir(parents=True)
    odd_table, odd_column = 'my "table"; --', "select; drop"
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE "my ""table""; --" (id TEXT, "select; drop" TEXT)')
    connection.execute('INSERT INTO "my ""table""; --" VALUES (?, ?)', ("x", "y"))
    connection.commit()
    connection.close()
    batches = read_all(tmp_path, make_request({"id": STRING, odd_column: STRING}, table=odd_table))
    assert records(batches) == [{"id": "x", odd_column: "y"}]


def test_the_sqlite_file_is_read_only_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SqlSourceConfigError, match="does not exist"):
        read_all(tmp_path, make_request())
    assert not (tmp_path / "data/crm.db").exists()  # no empty database was made


def test_a_sqlite_path_with_spaces_is_read(tmp_path: Path) -> None:
    make_database(tmp_path / "data/my crm #1.db", contacts(2))
    source = make_source(tmp_path, "sqlite:///data/my crm #1.db")
    try:
        assert len(records([resolved(b) for b in source.read(make_request())])) == 2
    finally:
        source.close()


def test_a_url_naming_a_driver_that_is_not_installed_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SqlSourceConfigError, match="no database driver for mysql"):
        make_source(tmp_path, "mysql+mysqldb://app@db/crm")


# --- values -------------------------------------------------------------------------------


def test_values_become_text_the_engine_converts(tmp_path: Path) -> None:
    path = tmp_path / "data/crm.db"
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (i INTEGER, f REAL, b INTEGER, s TEXT, blob BLOB)")
    connection.execute("INSERT INTO t VALUES (7, 2.5, 1, NULL, x'00ff')")
    connection.execute("INSERT INTO t VALUES ('seven', 1e20, 0, 'x', NULL)")  # SQLite keeps it
    connection.commit()
    connection.close()
    fields = {"i": INTEGER, "f": FLOAT, "b": BOOLEAN, "s": STRING, "blob": STRING}
    batches = read_all(tmp_path, make_request(fields, table="t"))
    assert records(batches) == [
        {"i": "7", "f": "2.5", "b": "1", "s": None, "blob": "00ff"},
        {"i": "seven", "f": "1e+20", "b": "0", "s": "x", "blob": None},
    ]


def test_driver_values_of_each_kind_become_text_a_column_at_a_time() -> None:
    aware = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert text_column([True, False, None]).to_pylist() == ["true", "false", None]
    assert text_column([aware]).to_pylist() == ["2026-01-02 01:04:05.000000Z"]
    assert text_column([dt.datetime(2026, 1, 2, 3, 4, 5, 6)]).to_pylist() == [
        "2026-01-02 03:04:05.000006"
    ]
    assert text_column([dt.date(2026, 1, 2)]).to_pylist() == ["2026-01-02"]
    assert text_column([decimal.Decimal("12.50")]).to_pylist() == ["12.50"]
    assert text_column([{"a": 1}, [1, 2]]).to_pylist() == ['{"a": 1}', "[1, 2]"]
    assert text_column([2**70, 1]).to_pylist() == [str(2**70), "1"]


@pytest.mark.parametrize(
    "value",
    [
        5,
        2.5,
        "2026-01-02T03:04:05",
        dt.datetime(2026, 1, 2, 3, 4, 5, 6),
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        decimal.Decimal("10.25"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ],
)
def test_a_cursor_value_survives_the_checkpoint_as_it_was(value: Any) -> None:
    checkpoint = cursor_checkpoint(value)
    assert checkpoint is not None
    assert isinstance(checkpoint["cursor"], int | float | str)  # JSON-safe
    restored = checkpoint_cursor(checkpoint)
    assert restored == value
    assert type(restored) is type(value)


# --- connection, secrets, errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"url": "postgresql+psycopg://app:hunter2@db/crm"}, "must not hold a password"),
        ({"url": "postgresql+psycopg://app@db/crm?password=hunter2"}, "must not hold a password"),
        ({"url": "postgresql+psycopg://app@db/crm", "password": "hunter2"}, "secret reference"),
        ({"url": "not a url"}, "not a SQLAlchemy URL"),
    ],
)
def test_a_password_is_only_ever_a_secret_reference(fields: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SqlConnection(**fields)
    messages = " ".join(error["msg"] for error in caught.value.errors())  # what diagnostics show
    assert expected in messages
    assert "hunter2" not in messages


def test_the_password_goes_into_the_url_object_and_is_hidden_when_shown(tmp_path: Path) -> None:
    source = make_source(
        tmp_path,
        "postgresql+psycopg://app@127.0.0.1:1/crm",
        password="${secret:crm_db}",
        secrets={"crm_db": Secret("crm_db", "hunter2")},
    )
    try:
        assert source.engine.url.password == "hunter2"
        assert "hunter2" not in str(source.engine.url)
        assert "hunter2" not in repr(source.engine)
        assert source.shown_url == "postgresql+psycopg://app@127.0.0.1:1/crm"
    finally:
        source.close()


def test_a_password_secret_the_run_was_not_given_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SqlSourceConfigError, match="needs secret 'crm_db'"):
        make_source(tmp_path, "postgresql+psycopg://app@db/crm", password="${secret:crm_db}")


def test_a_refused_connection_is_transient_and_shows_no_password(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    source = make_source(
        tmp_path,
        "postgresql+psycopg://app@127.0.0.1:1/crm",  # nothing listens on port 1
        password="${secret:crm_db}",
        secrets={"crm_db": Secret("crm_db", "hunter2")},
    )
    try:
        with pytest.raises(SqlSourceUnavailableError) as caught:
            list(source.read(make_request()))
    finally:
        source.close()
    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert "postgresql+psycopg://app@127.0.0.1:1/crm" in caught.value.message
    assert "hunter2" not in str(caught.value)


def _driver_error(**attributes: Any) -> OperationalError:
    orig = type("DriverError", (Exception,), {})("the driver's words")
    for name, value in attributes.items():
        setattr(orig, name, value)
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"sqlstate": "28P01"}, SqlSourceAuthError),
        (
            {"sqlstate": None, "pgconn": SimpleNamespace(used_password=True, status=1)},
            SqlSourceAuthError,
        ),
        (
            {"sqlstate": None, "pgconn": SimpleNamespace(used_password=False, status=1)},
            SqlSourceUnavailableError,
        ),
        ({"sqlstate": "08006"}, SqlSourceUnavailableError),
        ({"sqlstate": "42P01"}, SqlSourceConfigError),
        ({"sqlstate": "42703"}, SqlSourceConfigError),
        ({"sqlite_errorcode": 5}, SqlSourceUnavailableError),
        ({"sqlite_errorcode": 1}, SqlSourceConfigError),
    ],
)
def test_database_errors_are_classified_by_the_drivers_codes(
    attributes: dict[str, Any], expected: type[Exception]
) -> None:
    with (
        pytest.raises(expected) as caught,
        classified_read("read stream x", url="u", secret="crm_db"),
    ):
        raise _driver_error(**attributes)
    if expected is SqlSourceAuthError:
        assert "secret crm_db" in str(caught.value)


# --- through a real run -------------------------------------------------------------------

SQL_TEMPLATE = """
template: people-db
version: 1.0.0
description: People from the customer's database.
owner: {team: core, contact: core@example.com}
source: {connector: sql}
streams:
  people:
    table: people
    primary_key: id
    cursor: updated_at
    schema: {id: string, name: string, age: integer, updated_at: timestamp}
mappings:
  people:
    stream: people
    entity: person
    read: incremental
    write: upsert
    fields: {person_id: id, name: name, age: age}
sync: {max_rejected_fraction: 0.5, batch_size: 2}
"""

SQL_INTEGRATION = """
integration: a-db
tenant: a
template: people-db@^1
owner: {team: ops, contact: ops@example.com}
connection: {url: "sqlite:///data/a/crm.db"}
"""


def sql_project(root: Path, people: Sequence[tuple[Any, ...]]) -> Path:
    (root / "templates/people-db.yaml").write_text(SQL_TEMPLATE.lstrip(), encoding="utf-8")
    (root / "integrations/a-db.yaml").write_text(SQL_INTEGRATION.lstrip(), encoding="utf-8")
    path = root / "data/a/crm.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS people (id TEXT, name TEXT, age INTEGER, updated_at TEXT)"
    )
    connection.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", people)
    connection.commit()
    connection.close()
    return root


def test_a_wrong_typed_value_is_a_rejected_row_of_the_run_not_a_failure(tiny: Path) -> None:
    sql_project(
        tiny,
        [
            ("p1", "Ann", 31, "2026-01-01T10:00:00"),
            ("p2", "Bob", "forty", "2026-01-02T10:00:00"),  # SQLite keeps text in an integer
            ("p3", "Cy", None, "2026-01-03T10:00:00"),
        ],
    )
    report = run_integration(load_project(tiny), "a-db", RunSettings())
    assert report.status is RunStatus.SUCCEEDED, report.error
    people = report.streams[0]
    assert (people.records_read, people.loaded, people.rejected) == (3, 2, 1)
    store = StateStore.open(database_urls(load_project(tiny)).state)
    try:
        entries = store.quarantine_entries(report.run_id)
        checkpoint = store.checkpoint("a-db", "people")
    finally:
        store.close()
    assert [(e.field, e.value, e.position, e.record_id) for e in entries] == [
        ("age", "forty", 2, "p2")
    ]
    assert entries[0].origin == "table people"
    assert checkpoint == {"cursor": "2026-01-03T10:00:00"}
    rows = sqlite_content(tiny / ".isthmus/core.db")["person"]
    assert [(r[1], r[2], r[3]) for r in rows] == [("p1", "Ann", 31), ("p3", "Cy", None)]


def test_a_second_run_reads_only_rows_past_the_checkpoint(tiny: Path) -> None:
    sql_project(tiny, [("p1", "Ann", 31, "2026-01-01T10:00:00")])
    run_integration(load_project(tiny), "a-db", RunSettings())
    sql_project(tiny, [("p2", "Bob", 45, "2026-01-02T10:00:00")])
    report = run_integration(load_project(tiny), "a-db", RunSettings())
    assert report.status is RunStatus.SUCCEEDED, report.error
    assert (report.streams[0].records_read, report.streams[0].inserted) == (1, 1)


def test_validation_reports_a_query_that_is_not_one_select_at_its_key(tiny: Path) -> None:
    sql_project(tiny, [])
    path = tiny / "templates/people-db.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "    table: people\n", '    query: "SELECT * FROM people; DELETE FROM people"\n'
        ),
        encoding="utf-8",
    )
    problems = [d for d in validate_project(load_project(tiny)) if d.is_error]
    assert [d.code for d in problems] == ["invalid-value"]
    assert "streams.people.query" in problems[0].message
    assert "query must be one statement" in problems[0].message


def test_the_registry_lists_the_sql_source() -> None:
    connector = source_connector("sql")
    assert connector is not None
    assert connector.connection is SqlConnection
    assert connector.stream is SqlStream
    assert connector.factory is SqlSource
