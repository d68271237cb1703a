"""The state store on a SQLite file; the behaviours live in ``support_store`` and run on
PostgreSQL too (tests/integration/test_integration_postgres_store.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import support_store as behaviours
from isthmus.store import StateStore
from isthmus.store.errors import StoreUnavailableError

LOST_LEASE = (
    "store.py:307 renew_lease updates WHERE run_id matches and silently does nothing when another "
    "run has taken the expired lease over, so a stalled run never learns it lost the lease and "
    "goes on to commit alongside the new holder"
)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_open_creates_the_schema_and_a_second_open_is_a_no_op(url: str) -> None:
    behaviours.open_creates_the_schema_and_a_second_open_is_a_no_op(url)


def test_migrations_produce_exactly_the_models_tables(url: str) -> None:
    behaviours.migrations_produce_exactly_the_models_tables(url)


def test_run_round_trips_with_streams_and_aware_datetimes(url: str) -> None:
    behaviours.run_round_trips_with_streams_and_aware_datetimes(url)


def test_aware_datetimes_in_any_offset_keep_their_instant(url: str) -> None:
    behaviours.aware_datetimes_in_any_offset_keep_their_instant(url)


def test_list_runs_is_newest_first_filtered_by_integration_and_limited(url: str) -> None:
    behaviours.list_runs_is_newest_first_filtered_by_integration_and_limited(url)


def test_quarantine_entries_round_trip_in_insertion_order(url: str) -> None:
    behaviours.quarantine_entries_round_trip_in_insertion_order(url)


def test_quarantine_groups_count_order_largest_first_and_keep_at_most_n_examples(
    url: str,
) -> None:
    behaviours.quarantine_groups_count_order_largest_first_and_keep_at_most_n_examples(url)


def test_checkpoints_are_saved_read_back_and_replaced(url: str) -> None:
    behaviours.checkpoints_are_saved_read_back_and_replaced(url)


def test_lease_is_refused_while_held_naming_the_holders_run_and_owner(url: str) -> None:
    behaviours.lease_is_refused_while_held_naming_the_holders_run_and_owner(url)


def test_lease_renewal_extends_it(url: str) -> None:
    behaviours.lease_renewal_extends_it(url)


def test_released_lease_can_be_taken_and_only_its_holder_releases_it(url: str) -> None:
    behaviours.released_lease_can_be_taken_and_only_its_holder_releases_it(url)


def test_expired_lease_is_taken_over(url: str) -> None:
    behaviours.expired_lease_is_taken_over(url)


def test_renewing_a_lease_taken_over_by_another_run_is_refused(url: str) -> None:
    behaviours.renewing_a_lease_taken_over_by_another_run_is_refused(url)


def test_events_are_stored_once_and_read_back_in_sequence_order(url: str) -> None:
    behaviours.events_are_stored_once_and_read_back_in_sequence_order(url)


def test_concurrent_deliveries_of_one_event_store_it_once(url: str) -> None:
    behaviours.concurrent_deliveries_of_one_event_store_it_once(url)


def test_concurrent_deliveries_of_many_events_are_all_read_in_sequence_order(url: str) -> None:
    behaviours.concurrent_deliveries_of_many_events_are_all_read_in_sequence_order(url)


def test_purge_events_deletes_only_events_received_before_the_cutoff(url: str) -> None:
    behaviours.purge_events_deletes_only_events_received_before_the_cutoff(url)


# --- SQLite and URL specifics --------------------------------------------------------------


def test_sqlite_store_uses_wal_a_busy_timeout_and_foreign_keys(url: str) -> None:
    with behaviours.opened(url) as store, store.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 15_000
        assert pragma("PRAGMA foreign_keys").scalar() == 1


def test_open_creates_the_folder_of_a_new_sqlite_file(tmp_path: Path) -> None:
    with behaviours.opened(f"sqlite:///{tmp_path / 'a/b/state.db'}"):
        pass
    assert (tmp_path / "a/b/state.db").is_file()


def test_open_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("not a database, just text\n" * 200, encoding="utf-8")
    behaviours.open_refuses_with_store_unavailable(
        f"sqlite:///{path}", f"sqlite:///{path}: DatabaseError: file is not a database"
    )


def test_open_refuses_an_unparsable_url() -> None:
    behaviours.open_refuses_with_store_unavailable(
        "not a url", "at not a url: ArgumentError: Could not parse SQLAlchemy URL"
    )


def test_open_refuses_an_unknown_database_kind() -> None:
    behaviours.open_refuses_with_store_unavailable(
        "nosuchdb://host/db", "NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:nosuchdb"
    )


def test_open_refuses_an_unreachable_server_and_hides_the_password() -> None:
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://isthmus:s3cret@127.0.0.1:1/state?connect_timeout=5"
    behaviours.open_refuses_with_store_unavailable(
        url, "at postgresql+psycopg://***@127.0.0.1:1/state?connect_timeout=5: OperationalError"
    )
    with pytest.raises(StoreUnavailableError) as caught:
        StateStore.open(url)
    assert "s3cret" not in str(caught.value)


def test_open_refuses_a_sqlite_path_below_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    behaviours.open_refuses_with_store_unavailable(
        f"sqlite:///{tmp_path / 'afile/state.db'}", "afile/state.db"
    )


def test_open_refuses_a_url_whose_driver_is_not_installed() -> None:
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here, so mysql:// is not a missing driver")
    behaviours.open_refuses_with_store_unavailable(
        "mysql://user@127.0.0.1:1/state",
        "its database driver (MySQLdb) is not installed",
        hint="install the driver (for PostgreSQL: pip install 'isthmus[postgres]') or use a "
        "sqlite:/// URL",
    )


def test_head_revision_is_alembics_head_and_a_fresh_store_is_at_it(url: str) -> None:
    from alembic.config import Config  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from isthmus.store.store import HEAD_REVISION, MIGRATIONS  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    store = StateStore.open(url)
    try:
        assert store.revision() == HEAD_REVISION
    finally:
        store.close()


def test_opening_a_store_at_its_head_does_not_load_alembic(url: str) -> None:
    # Every command opens the store; importing Alembic would add a tenth of a second to each.
    StateStore.open(url).close()
    script = (
        "import sys\n"
        "from isthmus.store import StateStore\n"
        f"StateStore.open({url!r}).close()\n"
        "print(any(name.startswith('alembic') for name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_deliveries_are_kept_per_run_in_the_order_they_were_sent(url: str) -> None:
    behaviours.deliveries_are_kept_per_run_in_the_order_they_were_sent(url)
