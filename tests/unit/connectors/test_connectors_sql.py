"""The SQL destination on SQLite (a file in tmp_path); the behaviours themselves live in
``support_destinations`` and run on PostgreSQL too (tests/integration)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

import support_destinations as behaviours
from isthmus.connectors import SqlDestination, WriteMode
from isthmus.connectors.base import DeletePolicy


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'core.db'}"


def test_prepare_creates_tables_with_every_column_type(url: str) -> None:
    behaviours.prepare_creates_tables_with_every_column_type(url)


def test_prepare_without_create_refuses_a_missing_table_naming_it(url: str) -> None:
    behaviours.prepare_without_create_refuses_a_missing_table_naming_it(url)


def test_prepare_refuses_a_live_table_missing_a_column_naming_it(url: str) -> None:
    behaviours.prepare_refuses_a_live_table_missing_a_column_naming_it(url)


def test_prepare_refuses_a_live_column_of_another_type_naming_it(url: str) -> None:
    behaviours.prepare_refuses_a_live_column_of_another_type_naming_it(url)


def test_upsert_inserts_then_updates_with_counts(url: str) -> None:
    behaviours.upsert_inserts_then_updates_with_counts(url)


def test_upsert_of_a_key_only_table_counts_existing_rows_as_updated(url: str) -> None:
    behaviours.upsert_of_a_key_only_table_counts_existing_rows_as_updated(url)


def test_upsert_leaves_another_tenants_row_with_the_same_id_alone(url: str) -> None:
    behaviours.upsert_leaves_another_tenants_row_with_the_same_id_alone(url)


def test_values_round_trip_exactly(url: str) -> None:
    behaviours.values_round_trip_exactly(url)


def test_append_inserts_new_rows_and_counts_them(url: str) -> None:
    behaviours.append_inserts_new_rows_and_counts_them(url)


def test_append_of_an_existing_key_raises_destination_error_with_hint(url: str) -> None:
    behaviours.append_of_an_existing_key_raises_destination_error_with_hint(url)


def test_replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(url: str) -> None:
    behaviours.replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(url)


def test_existing_returns_only_values_present_for_the_tenant(url: str) -> None:
    behaviours.existing_returns_only_values_present_for_the_tenant(url)


def test_rollback_leaves_the_table_exactly_as_before(url: str) -> None:
    behaviours.rollback_leaves_the_table_exactly_as_before(url)


def test_commit_makes_rows_visible_to_a_new_connection(url: str) -> None:
    behaviours.commit_makes_rows_visible_to_a_new_connection(url)


def test_transactions_in_sequence_work_and_leave_no_staging_tables(url: str) -> None:
    behaviours.transactions_in_sequence_work_and_leave_no_staging_tables(url)


def test_a_failed_write_rolled_back_leaves_the_destination_usable(url: str) -> None:
    behaviours.a_failed_write_rolled_back_leaves_the_destination_usable(url)


def test_reserved_and_quoted_names_are_quoted_and_do_not_inject(url: str) -> None:
    behaviours.reserved_and_quoted_names_are_quoted_and_do_not_inject(url)


def test_table_named_as_long_as_the_core_model_allows_works(url: str) -> None:
    behaviours.table_named_as_long_as_the_core_model_allows_works(url)


def test_reference_lookup_on_ordinary_long_names_works(url: str) -> None:
    behaviours.reference_lookup_on_ordinary_long_names_works(url)


def test_sqlite_keeps_times_as_iso_8601_utc_text_whichever_way_they_were_written(
    tmp_path: Path,
) -> None:
    # Batches are ingested as Arrow and soft deletes are statements with parameters: both
    # must write the same text, or comparing and sorting the column in SQL would go wrong.
    url = f"sqlite:///{tmp_path / 'core.db'}"
    moment = dt.datetime(2024, 2, 29, 23, 59, 59, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    destination = behaviours.prepared(url)
    try:
        behaviours.write_committed(
            destination,
            [
                behaviours.row("acme", "1", at=moment, day=dt.date(2024, 2, 29), ok=True),
                behaviours.row("acme", "2"),
            ],
        )
        transaction = destination.begin()
        transaction.mark_seen(
            behaviours.THING, "acme", pa.table({"tenant_id": ["acme"], "id": ["1"]})
        )
        policy = DeletePolicy("soft", "at", dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC))
        transaction.finish(behaviours.THING, WriteMode.UPSERT, "acme", policy)
        transaction.commit()
    finally:
        destination.close()
    with sqlite3.connect(tmp_path / "core.db") as connection:
        stored = connection.execute("SELECT id, at, day, ok FROM thing ORDER BY id").fetchall()
    assert stored == [
        ("1", "2024-02-29T21:59:59.000005", "2024-02-29", 1),
        ("2", "2024-03-01T12:00:00.000000", None, None),
    ]


def test_sqlite_destination_creates_the_database_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested/deeper/core.db'}"
    destination = SqlDestination(url)
    try:
        destination.prepare([behaviours.THING], create=True)
    finally:
        destination.close()
    assert (tmp_path / "nested/deeper/core.db").is_file()


def test_sql_destination_supports_every_write_mode() -> None:
    assert SqlDestination.write_modes == frozenset(WriteMode)
