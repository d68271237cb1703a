"""Behaviours every SQL destination shows, whatever the database.

Plain functions taking a destination URL; ``tests/unit/connectors/test_connectors_sql.py`` runs
them on SQLite and ``tests/integration/test_integration_postgres_destination.py`` on PostgreSQL.
Each one builds its own tables, so a function is one self-contained test body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from sqlalchemy import MetaData, create_engine, inspect, select

from isthmus.connectors import Column, SqlDestination, TableSpec, WriteMode, WriteResult
from isthmus.connectors.errors import DestinationError, SchemaMismatchError
from isthmus.errors import TerminalError
from isthmus.types import BOOLEAN, DATE, FLOAT, INTEGER, STRING, TIMESTAMP

UTC = dt.UTC

THING = TableSpec(
    name="thing",
    columns=(
        Column("tenant_id", STRING, nullable=False),
        Column("id", STRING, nullable=False),
        Column("name", STRING),
        Column("n", INTEGER),
        Column("x", FLOAT),
        Column("ok", BOOLEAN),
        Column("at", TIMESTAMP),
        Column("day", DATE),
    ),
    primary_key=("tenant_id", "id"),
    tenant_key="tenant_id",
)


def row(tenant: str, key: str, name: str | None = None, **values: Any) -> dict[str, Any]:
    """A row of THING; unnamed columns are null."""
    full = dict.fromkeys(THING.column_names)
    full.update(tenant_id=tenant, id=key, name=name, **values)
    return full


def arrow(spec: TableSpec, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows as the engine hands them over: every column, in the core model's Arrow types."""
    schema = {c.name: c.type.to_polars() for c in spec.columns}
    return pl.DataFrame(list(rows), schema=schema).to_arrow()


@contextmanager
def opened(url: str) -> Iterator[SqlDestination]:
    destination = SqlDestination(url)
    try:
        yield destination
    finally:
        destination.close()


def prepared(url: str, *specs: TableSpec) -> SqlDestination:
    destination = SqlDestination(url)
    try:
        destination.prepare(specs or (THING,), create=True)
    except BaseException:
        destination.close()
        raise
    return destination


def _utc(value: Any) -> Any:
    """A timestamp as a UTC instant (SQLite hands back naive UTC wall times)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def content(url: str, table: str = "thing") -> list[tuple[Any, ...]]:
    """Every row of ``table``, read on a new connection, sorted; timestamps as UTC instants."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine, only=[table])
        with engine.connect() as connection:
            rows = connection.execute(select(metadata.tables[table])).all()
        return sorted((tuple(_utc(v) for v in r) for r in rows), key=repr)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def staging_tables(destination: SqlDestination) -> list[str]:
    """Temporary tables still present on the destination's pooled connection(s)."""
    if destination.engine.dialect.name == "sqlite":
        with destination.engine.connect() as connection:
            result = connection.exec_driver_sql(
                "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
            )
            return [r[0] for r in result]
    engine = create_engine(destination.engine.url)
    try:
        with engine.connect() as connection:
            result = connection.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relkind = 'r'"
            )
            return [r[0] for r in result]
    finally:
        engine.dispose()


def write_committed(
    destination: SqlDestination,
    rows: Sequence[dict[str, Any]],
    mode: WriteMode = WriteMode.UPSERT,
    tenant: str = "acme",
    spec: TableSpec = THING,
) -> WriteResult:
    transaction = destination.begin()
    try:
        result = transaction.write(spec, arrow(spec, rows), mode, tenant)
    except BaseException:
        transaction.rollback()
        raise
    transaction.commit()
    return result


def _live_table(url: str, spec: TableSpec) -> None:
    """Create ``spec`` as a live table, the way a DBA would have, outside the checked run."""
    with opened(url) as destination:
        destination.prepare([spec], create=True)


# --- prepare -------------------------------------------------------------------------------


def prepare_creates_tables_with_every_column_type(url: str) -> None:
    with opened(url) as destination:
        destination.prepare([THING], create=True)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            assert "thing" in inspector.get_table_names()
            columns = {c["name"]: c for c in inspector.get_columns("thing")}
            primary_key = inspector.get_pk_constraint("thing")["constrained_columns"]
    finally:
        engine.dispose()
    assert list(columns) == THING.column_names
    assert primary_key == ["tenant_id", "id"]
    assert not columns["tenant_id"]["nullable"]
    assert not columns["id"]["nullable"]
    assert all(columns[c]["nullable"] for c in ("name", "n", "x", "ok", "at", "day"))
    python_types = {name: columns[name]["type"].python_type for name in columns}
    assert python_types == {
        "tenant_id": str,
        "id": str,
        "name": str,
        "n": int,
        "x": float,
        "ok": bool,
        "at": dt.datetime,
        "day": dt.date,
    }
    # The created table passes the check, with or without create.
    with opened(url) as destination:
        destination.prepare([THING], create=False)
        destination.prepare([THING], create=True)


def prepare_without_create_refuses_a_missing_table_naming_it(url: str) -> None:
    with opened(url) as destination, pytest.raises(SchemaMismatchError) as caught:
        destination.prepare([THING], create=False)
    assert caught.value.message == "core table 'thing' does not exist in the core database"
    assert caught.value.hint is not None
    assert "manage_schema" in caught.value.hint
    assert isinstance(caught.value, TerminalError)
    assert "thing" not in table_names(url)


def prepare_refuses_a_live_table_missing_a_column_naming_it(url: str) -> None:
    without_day = TableSpec("thing", THING.columns[:-1], THING.primary_key, THING.tenant_key)
    _live_table(url, without_day)
    for create in (False, True):
        with opened(url) as destination, pytest.raises(SchemaMismatchError) as caught:
            destination.prepare([THING], create=create)
        assert caught.value.message == (
            "core table 'thing' has no column 'day', which the core model declares"
        )
        assert caught.value.hint is not None
        assert "add the column" in caught.value.hint


def prepare_refuses_a_live_column_of_another_type_naming_it(url: str) -> None:
    for column, live_type in (("n", STRING), ("at", INTEGER), ("ok", DATE)):
        live = TableSpec(
            f"thing_{column}",
            tuple(Column(c.name, live_type) if c.name == column else c for c in THING.columns),
            THING.primary_key,
            THING.tenant_key,
        )
        _live_table(url, live)
        declared = TableSpec(live.name, THING.columns, THING.primary_key, THING.tenant_key)
        with opened(url) as destination, pytest.raises(SchemaMismatchError) as caught:
            destination.prepare([declared], create=False)
        message = caught.value.message
        assert message.startswith(f"core table {live.name!r} column {column!r} is ")
        assert message.endswith(f"but the core model declares {THING.column(column).type}")


# --- writes --------------------------------------------------------------------------------


def upsert_inserts_then_updates_with_counts(url: str) -> None:
    destination = prepared(url)
    try:
        first = write_committed(destination, [row("acme", "1", "Ann"), row("acme", "2", "Bob")])
        assert first == WriteResult(inserted=2, updated=0)
        second = write_committed(destination, [row("acme", "2", "Bobby"), row("acme", "3", "Cy")])
        assert second == WriteResult(inserted=1, updated=1)
        same_again = write_committed(destination, [row("acme", "3", "Cy")])
        assert same_again == WriteResult(inserted=0, updated=1)
    finally:
        destination.close()
    assert [(r[1], r[2]) for r in content(url)] == [("1", "Ann"), ("2", "Bobby"), ("3", "Cy")]


def upsert_of_a_key_only_table_counts_existing_rows_as_updated(url: str) -> None:
    keys = TableSpec(
        "tag",
        (Column("tenant_id", STRING, False), Column("tag", STRING, False)),
        ("tenant_id", "tag"),
        "tenant_id",
    )
    destination = prepared(url, keys)
    try:
        rows = [{"tenant_id": "acme", "tag": "a"}, {"tenant_id": "acme", "tag": "b"}]
        assert write_committed(destination, rows, spec=keys) == WriteResult(inserted=2)
        more = [{"tenant_id": "acme", "tag": "b"}, {"tenant_id": "acme", "tag": "c"}]
        assert write_committed(destination, more, spec=keys) == WriteResult(inserted=1, updated=1)
    finally:
        destination.close()
    assert content(url, "tag") == [("acme", "a"), ("acme", "b"), ("acme", "c")]


def upsert_leaves_another_tenants_row_with_the_same_id_alone(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(destination, [row("other", "1", "theirs")], tenant="other")
        result = write_committed(destination, [row("acme", "1", "ours")])
        assert result == WriteResult(inserted=1, updated=0)
    finally:
        destination.close()
    assert [(r[0], r[1], r[2]) for r in content(url)] == [
        ("acme", "1", "ours"),
        ("other", "1", "theirs"),
    ]


def values_round_trip_exactly(url: str) -> None:
    rows = [
        row(
            "acme",
            "1",
            "Zoë 🚀 — 東京 'single' \"double\" \\ %s ; --",
            n=2**62,
            x=0.1,
            ok=True,
            at=dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
            day=dt.date(2024, 2, 29),
        ),
        row(
            "acme",
            "2",
            "",
            n=-(2**62),
            x=-1.5e-300,
            ok=False,
            at=dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
            day=dt.date(1900, 1, 1),
        ),
        row("acme", "3", None),
    ]
    destination = prepared(url)
    try:
        assert write_committed(destination, rows) == WriteResult(inserted=3)
    finally:
        destination.close()
    assert content(url) == [tuple(r.values()) for r in rows]
    stored = content(url)
    assert stored[0][6].utcoffset() == dt.timedelta(0)
    assert type(stored[0][5]) is bool
    assert stored[1][2] == ""  # an empty string is not a null
    assert stored[2][2:] == (None,) * 6


def append_inserts_new_rows_and_counts_them(url: str) -> None:
    destination = prepared(url)
    try:
        result = write_committed(
            destination, [row("acme", "1"), row("acme", "2")], WriteMode.APPEND
        )
        assert result == WriteResult(inserted=2)
    finally:
        destination.close()
    assert [r[1] for r in content(url)] == ["1", "2"]


def append_of_an_existing_key_raises_destination_error_with_hint(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(destination, [row("acme", "1", "Ann")])
        before = content(url)
        transaction = destination.begin()
        with pytest.raises(DestinationError) as caught:
            transaction.write(
                THING,
                arrow(THING, [row("acme", "2"), row("acme", "1", "dup")]),
                WriteMode.APPEND,
                "acme",
            )
        transaction.rollback()
    finally:
        destination.close()
    assert caught.value.message.startswith(
        "cannot write to core table 'thing': the database refused the rows"
    )
    assert caught.value.hint is not None
    assert "write: upsert" in caught.value.hint
    assert content(url) == before


def replace_swaps_in_the_staged_rows_of_one_tenant_when_the_stream_finishes(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(
            destination, [row("other", "1", "theirs"), row("other", "9", "theirs")], tenant="other"
        )
        write_committed(destination, [row("acme", "1", "old"), row("acme", "2", "old")])
        transaction = destination.begin()
        staged = transaction.write(
            THING,
            arrow(THING, [row("acme", "1", "new"), row("acme", "3", "new")]),
            WriteMode.REPLACE,
            "acme",
        )
        transaction.write(THING, arrow(THING, [row("acme", "4", "new")]), WriteMode.REPLACE, "acme")
        # Nothing is replaced before the stream finishes: readers never see half of it.
        assert staged == WriteResult()
        swapped = transaction.finish(THING, WriteMode.REPLACE, "acme", None)
        transaction.commit()
        assert swapped == WriteResult(inserted=2, updated=1, deleted=1)
        assert [(r[0], r[1], r[2]) for r in content(url)] == [
            ("acme", "1", "new"),
            ("acme", "3", "new"),
            ("acme", "4", "new"),
            ("other", "1", "theirs"),
            ("other", "9", "theirs"),
        ]
        # Replacing with no rows empties the tenant, still sparing the other one.
        transaction = destination.begin()
        transaction.write(THING, arrow(THING, []), WriteMode.REPLACE, "acme")
        emptied = transaction.finish(THING, WriteMode.REPLACE, "acme", None)
        transaction.commit()
        assert emptied == WriteResult(deleted=3)
        assert [r[0] for r in content(url)] == ["other", "other"]
    finally:
        destination.close()
    assert [(r[0], r[1]) for r in content(url)] == [("other", "1"), ("other", "9")]


def existing_returns_only_values_present_for_the_tenant(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(destination, [row("acme", "1", n=10), row("acme", "2", n=20)])
        write_committed(destination, [row("other", "3", n=30)], tenant="other")
        transaction = destination.begin()
        try:
            probe = pa.array(["1", "3", "1", None, "404", "2"], pa.large_string())
            found = transaction.existing(THING, "id", "acme", probe)
            assert found.type == probe.type
            assert sorted(found.to_pylist()) == ["1", "2"]
            assert transaction.existing(THING, "id", "other", probe).to_pylist() == ["3"]
            assert transaction.existing(THING, "id", "nobody", probe).to_pylist() == []
            assert (
                transaction.existing(THING, "id", "acme", pa.array([None], pa.string())).to_pylist()
                == []
            )
            numbers = transaction.existing(THING, "n", "acme", pa.array([10, 30, 20], pa.int64()))
            assert sorted(numbers.to_pylist()) == [10, 20]
            # Rows written earlier in the same transaction count; nothing else sees them yet.
            transaction.write(THING, arrow(THING, [row("acme", "5")]), WriteMode.UPSERT, "acme")
            found = transaction.existing(THING, "id", "acme", pa.array(["5", "6"]))
            assert found.to_pylist() == ["5"]
        finally:
            transaction.rollback()
    finally:
        destination.close()
    assert [r[1] for r in content(url)] == ["1", "2", "3"]


# --- units of commit -----------------------------------------------------------------------


def rollback_leaves_the_table_exactly_as_before(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(destination, [row("acme", "1", "Ann", n=1), row("acme", "2", "Bob")])
        write_committed(destination, [row("other", "1", "theirs")], tenant="other")
        before = content(url)
        names_before = table_names(url)
        transaction = destination.begin()
        transaction.write(
            THING, arrow(THING, [row("acme", "1", "changed", n=2)]), WriteMode.UPSERT, "acme"
        )
        transaction.write(
            THING, arrow(THING, [row("acme", "7", "added")]), WriteMode.APPEND, "acme"
        )
        transaction.existing(THING, "id", "acme", pa.array(["1"]))
        transaction.write(THING, arrow(THING, [row("acme", "8")]), WriteMode.REPLACE, "acme")
        transaction.rollback()
        assert content(url) == before
        assert table_names(url) == names_before
        assert staging_tables(destination) == []
    finally:
        destination.close()


def commit_makes_rows_visible_to_a_new_connection(url: str) -> None:
    destination = prepared(url)
    try:
        transaction = destination.begin()
        transaction.write(THING, arrow(THING, [row("acme", "1", "Ann")]), WriteMode.UPSERT, "acme")
        assert content(url) == []  # not visible to others before commit
        transaction.commit()
    finally:
        destination.close()
    assert [(r[0], r[1], r[2]) for r in content(url)] == [("acme", "1", "Ann")]


def transactions_in_sequence_work_and_leave_no_staging_tables(url: str) -> None:
    destination = prepared(url)
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
            assert result == WriteResult(
                inserted=int(round_number == 0), updated=int(round_number > 0)
            )
            assert staging_tables(destination) == []
        # A rolled-back transaction leaves nothing behind for the next one either.
        transaction = destination.begin()
        transaction.write(THING, arrow(THING, [row("acme", "2")]), WriteMode.UPSERT, "acme")
        transaction.existing(THING, "id", "acme", pa.array(["2"]))
        transaction.rollback()
        assert staging_tables(destination) == []
        assert write_committed(destination, [row("acme", "2")]) == WriteResult(inserted=1)
        assert staging_tables(destination) == []
    finally:
        destination.close()
    assert [(r[1], r[2]) for r in content(url)] == [("1", "v2"), ("2", None)]


def a_failed_write_rolled_back_leaves_the_destination_usable(url: str) -> None:
    destination = prepared(url)
    try:
        write_committed(destination, [row("acme", "1")])
        transaction = destination.begin()
        with pytest.raises(DestinationError):
            transaction.write(THING, arrow(THING, [row("acme", "1")]), WriteMode.APPEND, "acme")
        transaction.rollback()
        assert write_committed(destination, [row("acme", "2")], WriteMode.APPEND) == WriteResult(
            inserted=1
        )
    finally:
        destination.close()
    assert [r[1] for r in content(url)] == ["1", "2"]


# --- names ---------------------------------------------------------------------------------

AWKWARD = TableSpec(
    name="order",
    columns=(
        Column("select", STRING, nullable=False),
        Column('we"ird', STRING, nullable=False),
        Column("a;drop", STRING),
        Column("x--y", STRING),
        Column("y/*z*/", STRING),
        Column("it's", STRING),
        Column("Mixed Case", STRING),
        Column("from", INTEGER),
    ),
    primary_key=("select", 'we"ird'),
    tenant_key="select",
)
INJECTION = TableSpec(
    name='a;drop table "order"; --',
    columns=(Column("group", STRING, nullable=False), Column("table", STRING)),
    primary_key=("group",),
    tenant_key="group",
)


def _awkward(key: str, marker: str) -> dict[str, Any]:
    values: dict[str, Any] = {c.name: f"{marker}{c.name}" for c in AWKWARD.columns[2:-1]}
    return {"select": "acme", 'we"ird': key, **values, "from": len(key)}


def reserved_and_quoted_names_are_quoted_and_do_not_inject(url: str) -> None:
    destination = prepared(url, AWKWARD, INJECTION)
    try:
        destination.prepare([AWKWARD, INJECTION], create=False)
        transaction = destination.begin()
        first = transaction.write(
            AWKWARD,
            arrow(AWKWARD, [_awkward("k1", "1:"), _awkward("k'2", "1:")]),
            WriteMode.UPSERT,
            "acme",
        )
        second = transaction.write(
            AWKWARD, arrow(AWKWARD, [_awkward("k1", "2:")]), WriteMode.UPSERT, "acme"
        )
        appended = transaction.write(
            AWKWARD, arrow(AWKWARD, [_awkward("k;3", "3:")]), WriteMode.APPEND, "acme"
        )
        found = transaction.existing(AWKWARD, 'we"ird', "acme", pa.array(["k1", "k;3", "nope"]))
        found_text = transaction.existing(AWKWARD, "x--y", "acme", pa.array(["2:x--y", "x"]))
        transaction.write(
            INJECTION,
            arrow(INJECTION, [{"group": "acme", "table": "t"}]),
            WriteMode.REPLACE,
            "acme",
        )
        replaced = transaction.finish(INJECTION, WriteMode.REPLACE, "acme", None)
        transaction.commit()
        assert (first, second, appended) == (
            WriteResult(inserted=2),
            WriteResult(updated=1),
            WriteResult(inserted=1),
        )
        assert sorted(found.to_pylist()) == ["k1", "k;3"]
        assert found_text.to_pylist() == ["2:x--y"]
        assert replaced == WriteResult(inserted=1)
        assert staging_tables(destination) == []
    finally:
        destination.close()
    assert table_names(url) == {"order", 'a;drop table "order"; --', "isthmus_checkpoints"}
    assert content(url, "order") == sorted(
        (
            tuple(r.values())
            for r in (_awkward("k1", "2:"), _awkward("k'2", "1:"), _awkward("k;3", "3:"))
        ),
        key=repr,
    )
    assert content(url, 'a;drop table "order"; --') == [("acme", "t")]


LONGEST = "customer_subscription_line_item_history_snapshot_records_by_day"  # 63 characters


def table_named_as_long_as_the_core_model_allows_works(url: str) -> None:
    assert len(LONGEST) == 63
    spec = TableSpec(
        LONGEST,
        (Column("tenant_id", STRING, False), Column("id", STRING, False), Column(LONGEST, STRING)),
        ("tenant_id", "id"),
        "tenant_id",
    )
    destination = prepared(url, spec)
    try:
        rows = [{"tenant_id": "acme", "id": "1", LONGEST: "v"}]
        transaction = destination.begin()
        assert transaction.write(spec, arrow(spec, rows), WriteMode.UPSERT, "acme") == WriteResult(
            inserted=1
        )
        assert transaction.existing(spec, LONGEST, "acme", pa.array(["v"])).to_pylist() == ["v"]
        transaction.commit()
    finally:
        destination.close()
    assert content(url, LONGEST) == [("acme", "1", "v")]


def reference_lookup_on_ordinary_long_names_works(url: str) -> None:
    spec = TableSpec(
        "subscription_line_items",
        (
            Column("tenant_id", STRING, False),
            Column("id", STRING, False),
            Column("subscription_plan_id", STRING),
        ),
        ("tenant_id", "id"),
        "tenant_id",
    )
    destination = prepared(url, spec)
    try:
        rows = [{"tenant_id": "acme", "id": "1", "subscription_plan_id": "p1"}]
        write_committed(destination, rows, spec=spec)
        transaction = destination.begin()
        try:
            found = transaction.existing(
                spec, "subscription_plan_id", "acme", pa.array(["p1", "p2"])
            )
        finally:
            transaction.rollback()
    finally:
        destination.close()
    assert found.to_pylist() == ["p1"]
