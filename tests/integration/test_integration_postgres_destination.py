"""The SQL destination on PostgreSQL: the same behaviours as on SQLite (support_destinations),
on a fresh database per test. Locally they skip when the server is unreachable; under CI=true
they fail instead (the postgres_url fixture decides)."""

from __future__ import annotations

import pytest

import support_destinations as behaviours

pytestmark = pytest.mark.postgres


def test_prepare_creates_tables_with_every_column_type(postgres_url: str) -> None:
    behaviours.prepare_creates_tables_with_every_column_type(postgres_url)


def test_prepare_without_create_refuses_a_missing_table_naming_it(postgres_url: str) -> None:
    behaviours.prepare_without_create_refuses_a_missing_table_naming_it(postgres_url)


def test_prepare_refuses_a_live_table_missing_a_column_naming_it(postgres_url: str) -> None:
    behaviours.prepare_refuses_a_live_table_missing_a_column_naming_it(postgres_url)


def test_prepare_refuses_a_live_column_of_another_type_naming_it(postgres_url: str) -> None:
    behaviours.prepare_refuses_a_live_column_of_another_type_naming_it(postgres_url)


def test_upsert_inserts_then_updates_with_counts(postgres_url: str) -> None:
    behaviours.upsert_inserts_then_updates_with_counts(postgres_url)


def test_upsert_of_a_key_only_table_counts_existing_rows_as_updated(postgres_url: str) -> None:
    behaviours.upsert_of_a_key_only_table_counts_existing_rows_as_updated(postgres_url)


def test_upsert_leaves_another_tenants_row_with_the_same_id_alone(postgres_url: str) -> None:
    behaviours.upsert_leaves_another_tenants_row_with_the_same_id_alone(postgres_url)


def test_values_round_trip_exactly(postgres_url: str) -> None:
    behaviours.values_round_trip_exactly(postgres_url)


def test_append_inserts_new_rows_and_counts_them(postgres_url: str) -> None:
    behaviours.append_inserts_new_rows_and_counts_them(postgres_url)


def test_append_of_an_existing_key_raises_destination_error_with_hint(postgres_url: str) -> None:
    behaviours.append_of_an_existing_key_raises_destination_error_with_hint(postgres_url)


def test_replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(
    postgres_url: str,
) -> None:
    behaviours.replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(postgres_url)


def test_existing_returns_only_values_present_for_the_tenant(postgres_url: str) -> None:
    behaviours.existing_returns_only_values_present_for_the_tenant(postgres_url)


def test_rollback_leaves_the_table_exactly_as_before(postgres_url: str) -> None:
    behaviours.rollback_leaves_the_table_exactly_as_before(postgres_url)


def test_commit_makes_rows_visible_to_a_new_connection(postgres_url: str) -> None:
    behaviours.commit_makes_rows_visible_to_a_new_connection(postgres_url)


def test_transactions_in_sequence_work_and_leave_no_staging_tables(postgres_url: str) -> None:
    behaviours.transactions_in_sequence_work_and_leave_no_staging_tables(postgres_url)


def test_a_failed_write_rolled_back_leaves_the_destination_usable(postgres_url: str) -> None:
    behaviours.a_failed_write_rolled_back_leaves_the_destination_usable(postgres_url)


def test_reserved_and_quoted_names_are_quoted_and_do_not_inject(postgres_url: str) -> None:
    behaviours.reserved_and_quoted_names_are_quoted_and_do_not_inject(postgres_url)


def test_table_named_as_long_as_the_core_model_allows_works(postgres_url: str) -> None:
    behaviours.table_named_as_long_as_the_core_model_allows_works(postgres_url)


def test_reference_lookup_on_ordinary_long_names_works(postgres_url: str) -> None:
    behaviours.reference_lookup_on_ordinary_long_names_works(postgres_url)
