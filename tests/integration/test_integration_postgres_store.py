"""The state store on PostgreSQL: the same behaviours as on SQLite (support_store), on a fresh
database per test. Locally they skip when the server is unreachable; under CI=true they fail
instead (the postgres_url fixture decides)."""

from __future__ import annotations

import datetime as dt

import pytest

import support_store as behaviours
from isthmus.errors import LeaseHeldError

pytestmark = pytest.mark.postgres

LOST_LEASE = (
    "store.py:307 renew_lease updates WHERE run_id matches and silently does nothing when another "
    "run has taken the expired lease over, so a stalled run never learns it lost the lease and "
    "goes on to commit alongside the new holder"
)


def test_open_creates_the_schema_and_a_second_open_is_a_no_op(postgres_url: str) -> None:
    behaviours.open_creates_the_schema_and_a_second_open_is_a_no_op(postgres_url)


def test_migrations_produce_exactly_the_models_tables(postgres_url: str) -> None:
    behaviours.migrations_produce_exactly_the_models_tables(postgres_url)


def test_run_round_trips_with_streams_and_aware_datetimes(postgres_url: str) -> None:
    behaviours.run_round_trips_with_streams_and_aware_datetimes(postgres_url)


def test_aware_datetimes_in_any_offset_keep_their_instant(postgres_url: str) -> None:
    behaviours.aware_datetimes_in_any_offset_keep_their_instant(postgres_url)


def test_list_runs_is_newest_first_filtered_by_integration_and_limited(postgres_url: str) -> None:
    behaviours.list_runs_is_newest_first_filtered_by_integration_and_limited(postgres_url)


def test_quarantine_entries_round_trip_in_insertion_order(postgres_url: str) -> None:
    behaviours.quarantine_entries_round_trip_in_insertion_order(postgres_url)


def test_quarantine_groups_count_order_largest_first_and_keep_at_most_n_examples(
    postgres_url: str,
) -> None:
    behaviours.quarantine_groups_count_order_largest_first_and_keep_at_most_n_examples(postgres_url)


def test_checkpoints_are_saved_read_back_and_replaced(postgres_url: str) -> None:
    behaviours.checkpoints_are_saved_read_back_and_replaced(postgres_url)


def test_lease_is_refused_while_held_naming_the_holders_run_and_owner(postgres_url: str) -> None:
    behaviours.lease_is_refused_while_held_naming_the_holders_run_and_owner(postgres_url)


def test_lease_renewal_extends_it(postgres_url: str) -> None:
    behaviours.lease_renewal_extends_it(postgres_url)


def test_released_lease_can_be_taken_and_only_its_holder_releases_it(postgres_url: str) -> None:
    behaviours.released_lease_can_be_taken_and_only_its_holder_releases_it(postgres_url)


def test_expired_lease_is_taken_over(postgres_url: str) -> None:
    behaviours.expired_lease_is_taken_over(postgres_url)


def test_renewing_a_lease_taken_over_by_another_run_is_refused(postgres_url: str) -> None:
    behaviours.renewing_a_lease_taken_over_by_another_run_is_refused(postgres_url)


def test_events_are_stored_once_and_read_back_in_sequence_order(postgres_url: str) -> None:
    behaviours.events_are_stored_once_and_read_back_in_sequence_order(postgres_url)


def test_concurrent_deliveries_of_one_event_store_it_once(postgres_url: str) -> None:
    behaviours.concurrent_deliveries_of_one_event_store_it_once(postgres_url)


def test_concurrent_deliveries_of_many_events_are_all_read_in_sequence_order(
    postgres_url: str,
) -> None:
    behaviours.concurrent_deliveries_of_many_events_are_all_read_in_sequence_order(postgres_url)


def test_purge_events_deletes_only_events_received_before_the_cutoff(postgres_url: str) -> None:
    behaviours.purge_events_deletes_only_events_received_before_the_cutoff(postgres_url)


# --- PostgreSQL specifics ------------------------------------------------------------------


def test_open_refuses_a_database_that_does_not_exist(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/isthmus_no_such_database"
    behaviours.open_refuses_with_store_unavailable(
        missing, 'OperationalError: connection failed: connection to server at "127.0.0.1"'
    )


def test_lease_refusal_states_the_expiry_in_utc_whatever_the_session_time_zone(
    postgres_url: str,
) -> None:
    berlin = postgres_url + "?options=-c%20timezone%3DEurope%2FBerlin"
    with behaviours.opened(berlin) as store:
        store.acquire_lease(
            "acme-crm", run_id=7, owner="worker-a", now=behaviours.NOW, ttl=behaviours.TTL
        )
        with pytest.raises(LeaseHeldError) as caught:
            store.acquire_lease(
                "acme-crm",
                run_id=8,
                owner="worker-b",
                now=behaviours.NOW + dt.timedelta(minutes=1),
                ttl=behaviours.TTL,
            )
    assert "until 12:05:00 UTC" in caught.value.message


def test_deliveries_are_kept_per_run_in_the_order_they_were_sent(postgres_url: str) -> None:
    behaviours.deliveries_are_kept_per_run_in_the_order_they_were_sent(postgres_url)
