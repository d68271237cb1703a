"""Decimal and json columns in the SQL destination on SQLite (support_decimal_json), and
how SQLite keeps them: a decimal as the text of its digits, a json value as its text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import support_decimal_json as behaviours
from isthmus.connectors import WriteMode


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'core.db'}"


def test_decimals_and_json_round_trip_exactly(url: str) -> None:
    behaviours.decimals_and_json_round_trip_exactly(url)


def test_upsert_and_replace_carry_decimals_and_json(url: str) -> None:
    behaviours.upsert_and_replace_carry_decimals_and_json(url)


def test_the_created_table_passes_the_live_check(url: str) -> None:
    behaviours.the_created_table_passes_the_live_check(url)


def test_a_float_column_where_the_model_declares_decimal_is_refused_naming_it(url: str) -> None:
    behaviours.a_float_column_where_the_model_declares_decimal_is_refused_naming_it(url)


def test_rows_read_for_write_back_keep_decimals_and_json_text(url: str) -> None:
    behaviours.rows_read_for_write_back_keep_decimals_and_json_text(url)


def test_a_decimal_key_upserts_looks_up_and_checks_references(url: str) -> None:
    behaviours.a_decimal_key_upserts_looks_up_and_checks_references(url)


def test_sqlite_keeps_a_decimal_as_the_text_of_its_digits_in_a_text_column(url: str) -> None:
    """NUMERIC affinity would store REAL and round 12345678901234567890.123456789."""
    behaviours.write(url, behaviours.ledger_rows(behaviours.VALUES), WriteMode.UPSERT)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            columns = connection.execute(text("PRAGMA table_info(ledger)")).all()
            stored = connection.execute(
                text("SELECT typeof(amount), amount, typeof(details) FROM ledger WHERE id = '1'")
            ).one()
    finally:
        engine.dispose()
    assert {c[1]: c[2] for c in columns}["amount"] == "TEXT"
    assert {c[1]: c[2] for c in columns}["details"] == "TEXT"
    assert tuple(stored) == ("text", "12345678901234567890.123456789", "text")
