"""Decimal and json columns in the SQL destination on PostgreSQL (NUMERIC(38, 9), JSONB)
and MariaDB (DECIMAL(38, 9), JSON): the behaviours of support_decimal_json, on a fresh
database per test. Locally they skip when a server is unreachable; under CI=true they fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

import support_decimal_json as behaviours
from isthmus.connectors import SourceContext, StreamRequest, WriteMode, resolved
from isthmus.connectors.base import NoOptions
from isthmus.connectors.sqlsource import SqlSource
from isthmus.connectors.sqlsource_options import SqlConnection, SqlStream
from isthmus.types import DECIMAL, JSON, STRING
from support_destinations import prepared

BEHAVIOURS: list[Callable[[str], None]] = [
    behaviours.decimals_and_json_round_trip_exactly,
    behaviours.upsert_and_replace_carry_decimals_and_json,
    behaviours.the_created_table_passes_the_live_check,
    behaviours.a_float_column_where_the_model_declares_decimal_is_refused_naming_it,
    behaviours.a_text_column_where_the_model_declares_json_is_refused_naming_it,
    behaviours.rows_read_for_write_back_keep_decimals_and_json_text,
    behaviours.a_decimal_key_upserts_looks_up_and_checks_references,
]


@pytest.mark.postgres
@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.__name__)
def test_on_postgres(postgres_url: str, behaviour: Callable[[str], None]) -> None:
    behaviour(postgres_url)


@pytest.mark.mariadb
@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda b: b.__name__)
def test_on_mariadb(mariadb_url: str, behaviour: Callable[[str], None]) -> None:
    behaviour(mariadb_url)


@pytest.mark.parametrize(
    ("fixture", "amount", "details"),
    [
        ("postgres_url", "NUMERIC(38, 9)", "JSONB"),
        ("mariadb_url", "DECIMAL(38, 9)", "LONGTEXT"),  # MariaDB's JSON is LONGTEXT
    ],
)
def test_the_columns_have_the_exact_types(
    request: pytest.FixtureRequest, fixture: str, amount: str, details: str
) -> None:
    url = request.getfixturevalue(fixture)
    behaviours.the_created_table_passes_the_live_check(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            columns = {c["name"]: c["type"] for c in inspect(connection).get_columns("ledger")}
    finally:
        engine.dispose()
    assert str(columns["amount"]).replace(",", ", ").replace(",  ", ", ") == amount
    assert str(columns["details"]).startswith(details)


@pytest.mark.postgres
def test_a_postgres_source_gives_jsonb_and_numeric_columns_as_exact_text(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE ledger (id TEXT, amount NUMERIC(38, 9), details JSONB, doc JSON)"
            )
            connection.exec_driver_sql(
                "INSERT INTO ledger VALUES "
                "('1', 12345678901234567890.123456789, '\"text\"', '{\"b\": 1,  \"a\": [true]}'), "
                "('2', -0.000000001, '{\"n\": 12345678901234567890.123456789}', 'null'), "
                "('3', NULL, NULL, NULL)"
            )
    finally:
        engine.dispose()
    source = SqlSource(
        SourceContext(
            options=NoOptions(),
            connection=SqlConnection(url=postgres_url),
            project_root=tmp_path,
            secrets={},
        )
    )
    request = StreamRequest(
        name="ledger",
        fields={"id": STRING, "amount": DECIMAL, "details": JSON, "doc": JSON},
        options=SqlStream(table="ledger"),
        primary_key="id",
        checkpoint=None,
        batch_size=100,
    )
    try:
        found = [r for b in source.read(request) for r in resolved(b).records.to_pylist()]
    finally:
        source.close()

    assert sorted(found, key=lambda r: r["id"]) == [
        {
            "id": "1",
            "amount": "12345678901234567890.123456789",
            "details": '"text"',
            "doc": '{"b": 1,  "a": [true]}',  # json keeps its text as written
        },
        {
            "id": "2",
            "amount": "-0.000000001",
            "details": '{"n": 12345678901234567890.123456789}',  # jsonb numbers are exact
            "doc": "null",
        },
        {"id": "3", "amount": None, "details": None, "doc": None},
    ]


@pytest.mark.mariadb
def test_mariadb_without_load_data_inserts_decimals_and_json_exactly(mariadb_url: str) -> None:
    """The multi-row INSERTs a server refusing LOCAL INFILE gets carry the same values."""
    destination = prepared(mariadb_url, behaviours.LEDGER)
    try:
        transaction = destination.begin()
        transaction.driver.load_data = False  # type: ignore[attr-defined]
        rows = behaviours.ledger_rows(behaviours.VALUES)
        transaction.write(behaviours.LEDGER, rows, WriteMode.UPSERT, "acme")
        transaction.commit()
    finally:
        destination.close()
    assert behaviours.stored(mariadb_url) == behaviours.expected(behaviours.VALUES)
