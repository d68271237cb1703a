"""The SQL destination on MariaDB: the behaviours every SQL destination shows
(support_destinations), and what is MariaDB's own (DDL that commits, TINYINT booleans,
DATETIME in UTC, affected-rows counts), on a fresh database per test. Locally they skip when
the server is unreachable; under CI=true they fail instead (the mariadb_url fixture decides)."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

import support_destinations as behaviours
from isthmus.connectors import Column, SqlDestination, TableSpec, WriteMode, WriteResult
from isthmus.connectors.base import DeletePolicy
from isthmus.connectors.errors import (
    DestinationError,
    DestinationUnavailableError,
    SchemaMismatchError,
)
from isthmus.connectors.sqlerrors import DestinationAuthError
from isthmus.connectors.writeback import RowsAfter
from isthmus.errors import ErrorClass, TerminalError
from isthmus.types import STRING
from support_destinations import AWKWARD, INJECTION, THING, arrow, content, prepared, row

pytestmark = pytest.mark.mariadb

UTC = dt.UTC


def _no_scratch_left(transaction: Any) -> None:
    """Scratch tables are TEMPORARY: they end with the transaction's connection, closed."""
    assert not transaction.driver.connection.open


# --- shared behaviours -----------------------------------------------------------------------


def test_prepare_without_create_refuses_a_missing_table_naming_it(mariadb_url: str) -> None:
    behaviours.prepare_without_create_refuses_a_missing_table_naming_it(mariadb_url)


def test_prepare_refuses_a_live_table_missing_a_column_naming_it(mariadb_url: str) -> None:
    behaviours.prepare_refuses_a_live_table_missing_a_column_naming_it(mariadb_url)


def test_prepare_refuses_a_live_column_of_another_type_naming_it(mariadb_url: str) -> None:
    behaviours.prepare_refuses_a_live_column_of_another_type_naming_it(mariadb_url)


def test_upsert_inserts_then_updates_with_counts(mariadb_url: str) -> None:
    behaviours.upsert_inserts_then_updates_with_counts(mariadb_url)


def test_upsert_of_a_key_only_table_counts_existing_rows_as_updated(mariadb_url: str) -> None:
    behaviours.upsert_of_a_key_only_table_counts_existing_rows_as_updated(mariadb_url)


def test_upsert_leaves_another_tenants_row_with_the_same_id_alone(mariadb_url: str) -> None:
    behaviours.upsert_leaves_another_tenants_row_with_the_same_id_alone(mariadb_url)


def test_append_inserts_new_rows_and_counts_them(mariadb_url: str) -> None:
    behaviours.append_inserts_new_rows_and_counts_them(mariadb_url)


def test_append_of_an_existing_key_raises_destination_error_with_hint(mariadb_url: str) -> None:
    behaviours.append_of_an_existing_key_raises_destination_error_with_hint(mariadb_url)


def test_replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(
    mariadb_url: str,
) -> None:
    behaviours.replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(mariadb_url)


def test_existing_returns_only_values_present_for_the_tenant(mariadb_url: str) -> None:
    behaviours.existing_returns_only_values_present_for_the_tenant(mariadb_url)


def test_commit_makes_rows_visible_to_a_new_connection(mariadb_url: str) -> None:
    behaviours.commit_makes_rows_visible_to_a_new_connection(mariadb_url)


def test_a_failed_write_rolled_back_leaves_the_destination_usable(mariadb_url: str) -> None:
    behaviours.a_failed_write_rolled_back_leaves_the_destination_usable(mariadb_url)


def test_table_named_as_long_as_the_core_model_allows_works(mariadb_url: str) -> None:
    behaviours.table_named_as_long_as_the_core_model_allows_works(mariadb_url)


def test_reference_lookup_on_ordinary_long_names_works(mariadb_url: str) -> None:
    behaviours.reference_lookup_on_ordinary_long_names_works(mariadb_url)


# --- MariaDB's own ---------------------------------------------------------------------------


def _columns(url: str, table: str = "thing") -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT column_name, column_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = :t"
                ),
                {"t": table},
            ).all()
    finally:
        engine.dispose()
    return {str(r[0]): str(r[1]) for r in found}


def test_prepare_creates_key_columns_as_varchar_and_the_rest_in_mariadb_types(
    mariadb_url: str,
) -> None:
    prepared(mariadb_url).close()
    assert _columns(mariadb_url) == {
        "tenant_id": "varchar(255)",
        "id": "varchar(255)",
        "name": "text",
        "n": "bigint(20)",
        "x": "double",
        "ok": "tinyint(1)",
        "at": "datetime(6)",
        "day": "date",
    }
    # The created table passes the check, with or without create.
    with behaviours.opened(mariadb_url) as destination:
        destination.prepare([THING], create=False)
        destination.prepare([THING], create=True)


def test_values_round_trip_exactly_with_timestamps_stored_as_utc(mariadb_url: str) -> None:
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    rows = [
        row(
            "acme",
            "1",
            "Zoë 🚀 — 東京 'single' \"double\" \\ %s ; -- \x00 \n",
            n=2**62,
            x=0.1,
            ok=True,
            at=at,
            day=dt.date(2024, 2, 29),
        ),
        row("acme", "2", "", n=-(2**62), x=-1.5e-300, ok=False, at=at, day=dt.date(1000, 1, 1)),
        row("acme", "3", None),
    ]
    destination = prepared(mariadb_url)
    try:
        assert behaviours.write_committed(destination, rows) == WriteResult(inserted=3)
    finally:
        destination.close()
    # Read back through the destination's own reader (reflection would read DOUBLE as a
    # Decimal of ten places and TINYINT as an integer).
    stored = _read_all(mariadb_url, "acme")
    utc = [{**r, "at": r["at"] and r["at"].astimezone(UTC)} for r in rows]
    assert stored == utc
    assert type(stored[0]["ok"]) is bool
    assert stored[1]["name"] == ""  # an empty string is not a null
    engine = create_engine(mariadb_url)
    try:
        with engine.connect() as connection:
            wall = connection.execute(text("SELECT `at` FROM thing WHERE id = '1'")).scalar()
    finally:
        engine.dispose()
    assert wall == dt.datetime(2024, 2, 29, 18, 59, 59, 999_999)  # the UTC wall time


def test_upsert_counts_changed_and_unchanged_existing_rows_as_updated(mariadb_url: str) -> None:
    """MariaDB's affected rows count 1 for an insert and for a same-value update alike: the
    count comes from the keys that matched, not from that figure."""
    destination = prepared(mariadb_url)
    try:
        behaviours.write_committed(destination, [row("acme", str(i), "v") for i in range(10)])
        changed = [row("acme", str(i), "w") for i in range(3)]
        same = [row("acme", str(i), "v") for i in range(3, 6)]
        new = [row("acme", str(i), "n") for i in range(10, 14)]
        result = behaviours.write_committed(destination, changed + same + new)
    finally:
        destination.close()
    assert result == WriteResult(inserted=4, updated=6)
    names = {r[1]: r[2] for r in content(mariadb_url)}
    assert len(names) == 14
    assert [names[str(i)] for i in (0, 3, 6, 10)] == ["w", "v", "v", "n"]


def test_a_failure_mid_load_leaves_the_destination_unchanged(mariadb_url: str) -> None:
    """Scratch tables are TEMPORARY, so creating them commits nothing of the rows before."""
    destination = prepared(mariadb_url)
    try:
        behaviours.write_committed(destination, [row("acme", "1", "Ann")])
        before = content(mariadb_url)
        transaction = destination.begin()
        transaction.write(
            THING, arrow(THING, [row("acme", "1", "changed")]), WriteMode.UPSERT, "acme"
        )
        transaction.write(THING, arrow(THING, [row("acme", "2", "new")]), WriteMode.UPSERT, "acme")
        transaction.save_checkpoint("acme-crm", "things", {"page": 2}, run_id=7)
        # A scratch table created after rows were written must not commit them.
        transaction.existing(THING, "name", "acme", pa.array(["changed"]))
        transaction.write(THING, arrow(THING, [row("acme", "9")]), WriteMode.REPLACE, "acme")
        with pytest.raises(DestinationError):
            transaction.write(THING, arrow(THING, [row("acme", "2")]), WriteMode.APPEND, "acme")
        transaction.rollback()
        _no_scratch_left(transaction)
        assert content(mariadb_url) == before
        assert destination.checkpoint("acme-crm", "things") is None
        assert behaviours.table_names(mariadb_url) == {"thing", "isthmus_checkpoints"}
    finally:
        destination.close()


def test_the_checkpoint_commits_in_the_same_transaction_as_the_rows(mariadb_url: str) -> None:
    destination = prepared(mariadb_url)
    try:
        transaction = destination.begin()
        transaction.write(THING, arrow(THING, [row("acme", "1")]), WriteMode.UPSERT, "acme")
        transaction.save_checkpoint("acme-crm", "things", {"page": 1}, run_id=1)
        assert destination.checkpoint("acme-crm", "things") is None  # not before the commit
        transaction.commit()
        transaction = destination.begin()
        transaction.write(THING, arrow(THING, [row("acme", "2")]), WriteMode.UPSERT, "acme")
        transaction.save_checkpoint("acme-crm", "things", {"page": 2}, run_id=2)
        transaction.rollback()
        assert destination.checkpoint("acme-crm", "things") == {"page": 1}
        assert destination.checkpoint_runs("acme-crm") == {"things": 1}
        assert destination.reset_checkpoints("acme-crm", "things") == 1
        assert destination.checkpoint("acme-crm", "things") is None
    finally:
        destination.close()
    assert [r[1] for r in content(mariadb_url)] == ["1"]


def test_transactions_in_sequence_work_and_close_their_scratch_tables(mariadb_url: str) -> None:
    destination = prepared(mariadb_url)
    try:
        for round_number in range(3):
            transaction = destination.begin()
            transaction.existing(THING, "id", "acme", pa.array(["1"]))
            result = transaction.write(
                THING,
                arrow(THING, [row("acme", "1", f"v{round_number}")]),
                WriteMode.UPSERT,
                "acme",
            )
            transaction.commit()
            _no_scratch_left(transaction)
            assert result == WriteResult(
                inserted=int(round_number == 0), updated=int(round_number > 0)
            )
    finally:
        destination.close()
    assert [(r[1], r[2]) for r in content(mariadb_url)] == [("1", "v2")]


def test_reserved_and_quoted_names_are_quoted_and_do_not_inject(mariadb_url: str) -> None:
    destination = prepared(mariadb_url, AWKWARD, INJECTION)
    try:
        destination.prepare([AWKWARD, INJECTION], create=False)
        transaction = destination.begin()
        first = transaction.write(
            AWKWARD,
            arrow(AWKWARD, [behaviours._awkward("k1", "1:"), behaviours._awkward("k'2", "1:")]),
            WriteMode.UPSERT,
            "acme",
        )
        second = transaction.write(
            AWKWARD, arrow(AWKWARD, [behaviours._awkward("k1", "2:")]), WriteMode.UPSERT, "acme"
        )
        found = transaction.existing(AWKWARD, 'we"ird', "acme", pa.array(["k1", "nope"]))
        transaction.write(
            INJECTION,
            arrow(INJECTION, [{"group": "acme", "table": "t"}]),
            WriteMode.REPLACE,
            "acme",
        )
        replaced = transaction.finish(INJECTION, WriteMode.REPLACE, "acme", None)
        transaction.commit()
    finally:
        destination.close()
    assert (first, second, replaced) == (
        WriteResult(inserted=2),
        WriteResult(updated=1),
        WriteResult(inserted=1),
    )
    assert found.to_pylist() == ["k1"]
    assert behaviours.table_names(mariadb_url) == {
        "order",
        'a;drop table "order"; --',
        "isthmus_checkpoints",
    }
    assert content(mariadb_url, 'a;drop table "order"; --') == [("acme", "t")]
    assert len(content(mariadb_url, "order")) == 2


def test_read_rows_pages_through_a_tenants_rows_in_key_order(mariadb_url: str) -> None:
    destination = prepared(mariadb_url)
    try:
        at = dt.datetime(2024, 1, 1, tzinfo=UTC)
        rows = [row("acme", f"{i:02}", at=at + dt.timedelta(hours=i % 3)) for i in range(7)]
        behaviours.write_committed(destination, rows)
        behaviours.write_committed(destination, [row("other", "x")], tenant="other")
        request = RowsAfter(
            table=THING, tenant="acme", order=("at", "id"), after=None, batch_size=3
        )
        batches = list(destination.read_rows(request))
        # A position given in another zone means the same instant.
        plus_five = dt.timezone(dt.timedelta(hours=5))
        later = RowsAfter(THING, "acme", ("at", "id"), (at.astimezone(plus_five), "06"), 10)
        rest = pa.concat_tables(destination.read_rows(later))
    finally:
        destination.close()
    assert [b.num_rows for b in batches] == [3, 3, 1]
    read = pa.concat_tables(batches)
    assert read.column("id").to_pylist() == ["00", "03", "06", "01", "04", "02", "05"]
    assert read.schema.field("at").type == pa.timestamp("us", "UTC")
    assert read.column("at").to_pylist()[0] == at
    assert rest.column("id").to_pylist() == ["01", "04", "02", "05"]


def _read_all(url: str, tenant: str) -> list[dict[str, Any]]:
    with behaviours.opened(url) as destination:
        request = RowsAfter(table=THING, tenant=tenant, order=("id",), after=None, batch_size=100)
        return [r for batch in destination.read_rows(request) for r in batch.to_pylist()]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_a_transient_error_saying_so() -> None:
    destination = SqlDestination(f"mysql+pymysql://root@127.0.0.1:{_closed_port()}/nothing")
    try:
        with pytest.raises(DestinationUnavailableError) as caught:
            destination.begin()
        with pytest.raises(DestinationUnavailableError) as in_prepare:
            destination.prepare([THING], create=True)
    finally:
        destination.close()
    assert caught.value.message.startswith(
        "cannot open a transaction on the core database: (2003) Can't connect to"
    )
    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert in_prepare.value.message.startswith("cannot prepare the core tables: (2003, ")


def test_a_refused_user_is_an_auth_error_with_a_hint(mariadb_url: str) -> None:
    wrong = mariadb_url.replace("root@", "isthmus_nobody:wrong@")
    destination = SqlDestination(wrong)
    try:
        with pytest.raises(DestinationAuthError) as caught:
            destination.begin()
    finally:
        destination.close()
    assert "Access denied for user 'isthmus_nobody'" in caught.value.message
    assert caught.value.error_class is ErrorClass.AUTH
    assert caught.value.hint is not None
    assert "user and password" in caught.value.hint


def test_a_core_table_dropped_behind_isthmus_is_a_fatal_error_naming_it(mariadb_url: str) -> None:
    destination = prepared(mariadb_url)
    try:
        engine = create_engine(mariadb_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE thing"))
        engine.dispose()
        transaction = destination.begin()
        with pytest.raises(SchemaMismatchError) as caught:
            transaction.write(THING, arrow(THING, [row("acme", "1")]), WriteMode.UPSERT, "acme")
        transaction.rollback()
    finally:
        destination.close()
    assert "(1146) Table" in caught.value.message
    assert ".thing' doesn't exist" in caught.value.message
    assert isinstance(caught.value, TerminalError)


def test_without_local_infile_rows_go_in_as_multi_row_inserts_exactly(mariadb_url: str) -> None:
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    rows = [
        row("acme", "1", 'it\'s \\ "q" \x00 🚀', n=2**62, x=1 / 3, ok=True, at=at, day=dt.date.max),
        row("acme", "2", "", ok=False),
        row("acme", "3", None),
    ]
    destination = prepared(mariadb_url)
    try:
        transaction = destination.begin()
        transaction.driver.load_data = False  # as on a server with local_infile off
        result = transaction.write(THING, arrow(THING, rows), WriteMode.UPSERT, "acme")
        transaction.commit()
    finally:
        destination.close()
    assert result == WriteResult(inserted=3)
    assert _read_all(mariadb_url, "acme") == rows


def test_a_value_mariadb_cannot_hold_fails_the_load_instead_of_changing(mariadb_url: str) -> None:
    """LOAD DATA LOCAL only warns about a value it cannot store; the driver makes it an error."""
    destination = prepared(mariadb_url)
    try:
        transaction = destination.begin()
        with pytest.raises(DestinationError) as caught:
            transaction.write(
                THING, arrow(THING, [row("acme", "1", x=float("nan"))]), WriteMode.UPSERT, "acme"
            )
        transaction.rollback()
    finally:
        destination.close()
    assert caught.value.message.startswith("cannot write to core table 'thing': (1366) ")
    assert "Incorrect double value: 'NaN'" in caught.value.message
    assert content(mariadb_url) == []


def test_a_full_read_deletes_or_marks_the_tenants_rows_it_never_saw(mariadb_url: str) -> None:
    gone = dt.datetime(2025, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    destination = prepared(mariadb_url)
    try:
        behaviours.write_committed(destination, [row("acme", k) for k in "123"])
        behaviours.write_committed(destination, [row("other", "3")], tenant="other")
        transaction = destination.begin()
        transaction.mark_seen(THING, "acme", arrow(THING, [row("acme", "1")]).select(["id"]))
        soft = DeletePolicy(mode="soft", field="at", at=gone)
        marked = transaction.finish(THING, WriteMode.UPSERT, "acme", soft)
        transaction.commit()
        transaction = destination.begin()
        transaction.mark_seen(THING, "acme", arrow(THING, [row("acme", "2")]).select(["id"]))
        hard = DeletePolicy(mode="hard", field="at", at=gone)
        deleted = transaction.finish(THING, WriteMode.UPSERT, "acme", hard)
        transaction.commit()
    finally:
        destination.close()
    assert (marked, deleted) == (WriteResult(deleted=2), WriteResult(deleted=2))
    assert [(r[0], r[1], r[6]) for r in content(mariadb_url)] == [
        ("acme", "2", gone.astimezone(UTC)),
        ("other", "3", None),
    ]


def test_lookup_reads_rows_of_the_transaction_in_the_core_models_types(mariadb_url: str) -> None:
    at = dt.datetime(2024, 3, 1, 8, 30, 0, 5, tzinfo=UTC)
    destination = prepared(mariadb_url)
    try:
        transaction = destination.begin()
        transaction.write(
            THING, arrow(THING, [row("acme", "1", ok=True, at=at)]), WriteMode.UPSERT, "acme"
        )
        keys = arrow(THING, [row("acme", "1"), row("acme", "404")]).select(["id"])
        found = transaction.lookup(THING, "acme", keys, ["at", "ok"])
        nothing = transaction.lookup(THING, "other", keys, ["at"])
        transaction.rollback()
    finally:
        destination.close()
    assert found.to_pylist() == [{"id": "1", "at": at, "ok": True}]
    assert found.schema.field("at").type == pa.timestamp("us", "UTC")
    assert nothing.num_rows == 0
    assert nothing.schema.field("at").type == pa.timestamp("us", "UTC")


def test_keys_differing_only_in_case_or_trailing_space_are_different_rows(
    mariadb_url: str,
) -> None:
    """As on PostgreSQL and SQLite; MariaDB's default collation would merge them."""
    destination = prepared(mariadb_url)
    try:
        keys = ["abc", "ABC", "abc ", "äbc"]
        first = behaviours.write_committed(destination, [row("acme", k, k) for k in keys])
        again = behaviours.write_committed(destination, [row("acme", "ABC", "upper")])
        transaction = destination.begin()
        found = transaction.existing(THING, "name", "acme", pa.array(["abc", "Abc", "abc "]))
        transaction.rollback()
    finally:
        destination.close()
    assert (first, again) == (WriteResult(inserted=4), WriteResult(updated=1))
    assert sorted(found.to_pylist()) == ["abc", "abc "]
    assert sorted((r[1], r[2]) for r in content(mariadb_url)) == [
        ("ABC", "upper"),
        ("abc", "abc"),
        ("abc ", "abc "),
        ("äbc", "äbc"),
    ]


def test_a_mariadb_url_works_as_a_mysql_one(mariadb_url: str) -> None:
    url = mariadb_url.replace("mysql+pymysql://", "mariadb+pymysql://")
    assert url.startswith("mariadb+pymysql://")
    behaviours.upsert_inserts_then_updates_with_counts(url)
    assert _columns(url)["at"] == "datetime(6)"


def test_a_percent_sign_in_a_name_survives_pymysqls_parameter_formatting(
    mariadb_url: str,
) -> None:
    spec = TableSpec(
        "t%sx",
        (Column("g", STRING, False), Column("k%s", STRING, False), Column("v%%", STRING)),
        ("g", "k%s"),
        "g",
    )
    destination = prepared(mariadb_url, spec)
    try:
        results = []
        for load_data in (True, False):
            transaction = destination.begin()
            transaction.driver.load_data = load_data
            rows = [{"g": "a", "k%s": "1", "v%%": f"x{load_data}"}]
            results.append(transaction.write(spec, arrow(spec, rows), WriteMode.UPSERT, "a"))
            found = transaction.existing(spec, "v%%", "a", pa.array([f"x{load_data}"]))
            assert found.to_pylist() == [f"x{load_data}"]
            transaction.commit()
        request = RowsAfter(spec, "a", ("k%s",), None, 10)
        read = [r for batch in destination.read_rows(request) for r in batch.to_pylist()]
    finally:
        destination.close()
    assert results == [WriteResult(inserted=1), WriteResult(updated=1)]
    assert read == [{"g": "a", "k%s": "1", "v%%": "xFalse"}]
