"""Behaviours of the state store, whatever its database.

Plain functions taking a store URL; ``tests/unit/store/test_store.py`` runs them on a SQLite
file and ``tests/integration/test_integration_postgres_store.py`` on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from isthmus.errors import LeaseHeldError, StoreError, TerminalError
from isthmus.store import (
    DeliveryRecord,
    EventReceipt,
    QuarantineEntry,
    RunRecord,
    RunStatus,
    StateStore,
    StreamRecord,
    StreamStatus,
)
from isthmus.store.errors import LeaseLostError, StoreUnavailableError
from isthmus.store.models import metadata
from isthmus.store.store import MIGRATIONS

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, 123_456, tzinfo=UTC)
TTL = dt.timedelta(minutes=5)
STATE_TABLES = {
    "runs",
    "stream_runs",
    "run_attempts",
    "quarantine",
    "checkpoints",
    "leases",
    "schedules",
    "webhook_events",
    "deliveries",
}


@contextmanager
def opened(url: str) -> Iterator[StateStore]:
    store = StateStore.open(url)
    try:
        yield store
    finally:
        store.close()


def new_run(
    store: StateStore,
    integration: str = "acme-crm",
    started_at: dt.datetime = NOW,
    **values: Any,
) -> int:
    arguments: dict[str, Any] = {
        "tenant": "acme",
        "template": "crm-contacts",
        "template_version": "2.1.0",
        "config_hash": "c" * 64,
        "trigger": "manual",
        "owner": "worker-a:123",
        **values,
    }
    return store.create_run(integration=integration, started_at=started_at, **arguments)


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


# --- opening and migrations ----------------------------------------------------------------


def open_creates_the_schema_and_a_second_open_is_a_no_op(url: str) -> None:
    with opened(url) as store:
        with store.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == STATE_TABLES | {"alembic_version"}
        run_id = new_run(store)
    with opened(url) as store:
        with store.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == STATE_TABLES | {"alembic_version"}
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert versions == [(head_revision(),)]
        run = store.get_run(run_id)
        assert run is not None
        assert run.integration == "acme-crm"


def migrations_produce_exactly_the_models_tables(url: str) -> None:
    with opened(url):
        pass
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            inspector = inspect(connection)
            assert set(inspector.get_table_names()) - {"alembic_version"} == set(metadata.tables)
            for name, table in metadata.tables.items():
                live = {c["name"]: c for c in inspector.get_columns(name)}
                assert list(live) == [c.name for c in table.columns], name
                for column in table.columns:
                    assert live[column.name]["nullable"] == column.nullable, (name, column.name)
                live_key = inspector.get_pk_constraint(name)["constrained_columns"]
                assert live_key == [c.name for c in table.primary_key.columns], name
                live_indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(name)}
                assert live_indexes == {
                    i.name: [c.name for c in i.columns] for i in table.indexes
                }, name
    finally:
        engine.dispose()


def open_refuses_with_store_unavailable(
    url: str,
    detail: str,
    hint: str = "check state.database in isthmus.yaml and that the database is reachable",
) -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        StateStore.open(url)
    error = caught.value
    assert error.message.startswith("cannot open the state store at ")
    assert detail in error.message
    assert error.hint == hint
    assert isinstance(error, StoreError)
    assert isinstance(error, TerminalError)


# --- runs ----------------------------------------------------------------------------------

STREAMS = (
    StreamRecord(
        position=0,
        mapping="teams",
        stream="teams",
        entity="team",
        status=StreamStatus.SUCCEEDED,
        records_read=10,
        loaded=9,
        inserted=7,
        updated=2,
        rejected=1,
        skipped=0,
        duration_s=0.25,
    ),
    StreamRecord(
        position=1,
        mapping="contacts",
        stream="contacts",
        entity="customer",
        status=StreamStatus.FAILED,
        records_read=5,
        loaded=0,
        rejected=3,
        skipped=2,
        duration_s=1.5,
        error="cannot write to core table 'customer'",
    ),
    StreamRecord(
        position=2, mapping="notes", stream="notes", entity="note", status=StreamStatus.SKIPPED
    ),
)


def run_round_trips_with_streams_and_aware_datetimes(url: str) -> None:
    finished = NOW + dt.timedelta(seconds=90, microseconds=5)
    with opened(url) as store:
        run_id = new_run(store, trigger="schedule")
        other = new_run(store, integration="beta-crm")
        assert other != run_id
        running = store.get_run(run_id)
        assert running == RunRecord(
            id=run_id,
            integration="acme-crm",
            tenant="acme",
            template="crm-contacts",
            template_version="2.1.0",
            config_hash="c" * 64,
            trigger="schedule",
            status=RunStatus.RUNNING,
            committed=False,
            owner="worker-a:123",
            started_at=NOW,
            finished_at=None,
            duration_s=None,
            error=None,
            error_class=None,
            hint=None,
            streams=(),
        )
        assert running.started_at.tzinfo is not None
        store.finish_run(
            run_id,
            status=RunStatus.FAILED,
            committed=False,
            finished_at=finished,
            duration_s=90.000005,
            streams=STREAMS,
            error="stream contacts failed",
            error_class="destination",
            hint="fix the core table",
        )
        done = store.get_run(run_id)
        assert done is not None
        assert done.status is RunStatus.FAILED
        assert done.finished_at == finished
        assert done.finished_at is not None
        assert done.finished_at.utcoffset() == dt.timedelta(0)
        assert done.started_at == NOW
        assert done.duration_s == 90.000005
        assert (done.error, done.error_class, done.hint) == (
            "stream contacts failed",
            "destination",
            "fix the core table",
        )
        assert done.streams == STREAMS
        assert (done.total("records_read"), done.total("rejected")) == (15, 4)
        # Finishing again replaces the stream records instead of adding to them.
        store.finish_run(
            run_id,
            status=RunStatus.SUCCEEDED,
            committed=True,
            finished_at=finished,
            duration_s=1.0,
            streams=STREAMS[:1],
        )
        again = store.get_run(run_id)
        assert again is not None
        assert (again.status, again.committed, again.error) == (RunStatus.SUCCEEDED, True, None)
        assert again.streams == STREAMS[:1]
        untouched = store.get_run(other)
        assert untouched is not None
        assert (untouched.status, untouched.streams) == (RunStatus.RUNNING, ())
        assert store.get_run(run_id + other + 1000) is None


def aware_datetimes_in_any_offset_keep_their_instant(url: str) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    started = dt.datetime(2026, 3, 1, 14, 0, 0, 250_000, tzinfo=plus_two)  # 12:00:00.25 UTC
    with opened(url) as store:
        run_id = new_run(store, started_at=started)
        record = store.get_run(run_id)
    assert record is not None
    assert record.started_at == started
    assert record.started_at.astimezone(UTC).hour == 12


def list_runs_is_newest_first_filtered_by_integration_and_limited(url: str) -> None:
    with opened(url) as store:
        ids = [
            new_run(store, integration, NOW + dt.timedelta(minutes=i))
            for i, integration in enumerate(
                ["acme-crm", "beta-crm", "acme-crm", "acme-crm", "beta-crm"]
            )
        ]
        store.finish_run(
            ids[0],
            status=RunStatus.SUCCEEDED,
            committed=True,
            finished_at=NOW,
            duration_s=1.0,
            streams=STREAMS[:2],
        )
        assert [r.id for r in store.list_runs()] == ids[::-1]
        acme = store.list_runs(integration="acme-crm")
        assert [r.id for r in acme] == [ids[3], ids[2], ids[0]]
        assert {r.integration for r in acme} == {"acme-crm"}
        assert acme[-1].streams == STREAMS[:2]
        assert [r.id for r in store.list_runs(limit=2)] == [ids[4], ids[3]]
        assert [r.id for r in store.list_runs(integration="beta-crm", limit=1)] == [ids[4]]
        assert store.list_runs(integration="nobody") == []


# --- quarantine ----------------------------------------------------------------------------


def entry(
    run_id: int, rule: str, field: str | None, position: int, **values: Any
) -> QuarantineEntry:
    arguments: dict[str, Any] = {
        "integration": "acme-crm",
        "tenant": "acme",
        "mapping": "contacts",
        "stream": "contacts",
        "entity": "customer",
        "origin": "contacts.jsonl",
        "record_id": f"c{position}",
        "value": f"v{position}",
        "message": f"{rule} failed",
        "record": f'{{"Id": "c{position}", "Name": "Zoë"}}',
        "created_at": NOW,
        **values,
    }
    return QuarantineEntry(run_id=run_id, rule=rule, field=field, position=position, **arguments)


def quarantine_entries_round_trip_in_insertion_order(url: str) -> None:
    with opened(url) as store:
        run_id = new_run(store)
        entries = [
            entry(run_id, "required", "email", 3),
            entry(run_id, "malformed", None, 7, record_id=None, value=None, record="{broken"),
            entry(run_id, "to_int", "age", 1, value="abc"),
        ]
        assert store.add_quarantine(entries) == 3
        assert store.add_quarantine([]) == 0
        stored = store.quarantine_entries(run_id)
        assert store.quarantine_entries(run_id + 1000) == []
    ids = [e.id for e in stored if e.id is not None]
    assert len(ids) == 3
    assert ids == sorted(ids)
    assert [dataclasses.replace(e, id=None) for e in stored] == entries
    assert all(e.created_at.utcoffset() == dt.timedelta(0) for e in stored)


def quarantine_groups_count_order_largest_first_and_keep_at_most_n_examples(url: str) -> None:
    with opened(url) as store:
        run_id = new_run(store)
        other_run = new_run(store)
        rows = (
            [entry(run_id, "pattern", "email", p) for p in range(1, 6)]
            + [entry(run_id, "malformed", None, p) for p in range(10, 13)]
            + [entry(run_id, "required", "name", 20)]
            + [entry(run_id, "required", "email", p) for p in (30, 31)]
            + [entry(other_run, "pattern", "email", p) for p in range(40, 50)]
        )
        store.add_quarantine(rows)
        groups = store.quarantine_groups(run_id, examples=2)
        assert store.quarantine_groups(run_id + other_run + 1000) == []
        default = store.quarantine_groups(run_id)
    assert [(g.rule, g.field, g.count) for g in groups] == [
        ("pattern", "email", 5),
        ("malformed", None, 3),
        ("required", "email", 2),
        ("required", "name", 1),
    ]
    assert [[e.position for e in g.examples] for g in groups] == [[1, 2], [10, 11], [30, 31], [20]]
    assert all(e.run_id == run_id for g in groups for e in g.examples)
    assert [len(g.examples) for g in default] == [3, 3, 2, 1]


# --- checkpoints ---------------------------------------------------------------------------


def checkpoints_are_saved_read_back_and_replaced(url: str) -> None:
    token = {"files": {"contacts.jsonl": {"size": 120, "mtime_ns": 1_767_225_600_000_000_001}}}
    cursor = {"cursor": "2026-01-01T00:00:00Z", "page": [1, 2], "done": True, "note": "é"}
    with opened(url) as store:
        run_id = new_run(store)
        assert store.checkpoint("acme-crm", "contacts") is None
        store.save_checkpoints(
            "acme-crm", {"contacts": token, "teams": cursor}, run_id=run_id, at=NOW
        )
        store.save_checkpoints("beta-crm", {"contacts": {"x": 1}}, run_id=run_id, at=NOW)
        assert store.checkpoint("acme-crm", "contacts") == token
        assert store.checkpoint("acme-crm", "teams") == cursor
        assert store.checkpoint("beta-crm", "contacts") == {"x": 1}
        later: dict[str, Any] = {"files": {}}
        store.save_checkpoints("acme-crm", {"contacts": later}, run_id=run_id + 1, at=NOW)
        assert store.checkpoint("acme-crm", "contacts") == later
        assert store.checkpoint("acme-crm", "teams") == cursor
        assert store.checkpoint("beta-crm", "contacts") == {"x": 1}
        store.save_checkpoints("acme-crm", {}, run_id=run_id, at=NOW)
        assert store.checkpoint("acme-crm", "contacts") == later


# --- leases --------------------------------------------------------------------------------


def lease_is_refused_while_held_naming_the_holders_run_and_owner(url: str) -> None:
    with opened(url) as store:
        store.acquire_lease("acme-crm", run_id=7, owner="worker-a:123", now=NOW, ttl=TTL)
        with pytest.raises(LeaseHeldError) as caught:
            store.acquire_lease(
                "acme-crm",
                run_id=8,
                owner="worker-b:456",
                now=NOW + dt.timedelta(minutes=4),
                ttl=TTL,
            )
        # Another integration's lease is independent.
        store.acquire_lease("beta-crm", run_id=9, owner="worker-b:456", now=NOW, ttl=TTL)
    error = caught.value
    assert error.message == (
        "integration 'acme-crm' is already running: run 7 (owner worker-a:123) holds its lease "
        "until 12:05:00 UTC"
    )
    assert error.holder_run_id == 7
    assert error.hint == "wait for run 7 to finish; a lease whose owner died expires on its own"
    assert isinstance(error, StoreError)
    assert isinstance(error, TerminalError)


def lease_renewal_extends_it(url: str) -> None:
    with opened(url) as store:
        store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=NOW, ttl=TTL)
        store.renew_lease("acme-crm", run_id=7, now=NOW + dt.timedelta(minutes=4), ttl=TTL)
        # Past the first expiry (12:05) the renewed lease (until 12:09) still holds.
        with pytest.raises(LeaseHeldError, match="until 12:09:00 UTC"):
            store.acquire_lease(
                "acme-crm", run_id=8, owner="worker-b", now=NOW + dt.timedelta(minutes=8), ttl=TTL
            )
        # Another run's renewal does not extend the holder's lease: it is told it has none.
        with pytest.raises(LeaseLostError, match="run 7 holds it now"):
            store.renew_lease("acme-crm", run_id=8, now=NOW + dt.timedelta(minutes=8), ttl=TTL)
        store.acquire_lease(
            "acme-crm", run_id=8, owner="worker-b", now=NOW + dt.timedelta(minutes=10), ttl=TTL
        )


def released_lease_can_be_taken_and_only_its_holder_releases_it(url: str) -> None:
    with opened(url) as store:
        store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=NOW, ttl=TTL)
        store.release_lease("acme-crm", run_id=8)  # not the holder: nothing happens
        with pytest.raises(LeaseHeldError):
            store.acquire_lease("acme-crm", run_id=8, owner="worker-b", now=NOW, ttl=TTL)
        store.release_lease("acme-crm", run_id=7)
        store.acquire_lease("acme-crm", run_id=8, owner="worker-b", now=NOW, ttl=TTL)
        with pytest.raises(LeaseHeldError) as caught:
            store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=NOW, ttl=TTL)
        assert caught.value.holder_run_id == 8


def expired_lease_is_taken_over(url: str) -> None:
    with opened(url) as store:
        store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=NOW, ttl=TTL)
        with pytest.raises(LeaseHeldError):  # at the expiry instant it still holds
            store.acquire_lease("acme-crm", run_id=8, owner="worker-b", now=NOW + TTL, ttl=TTL)
        later = NOW + TTL + dt.timedelta(seconds=1)
        store.acquire_lease("acme-crm", run_id=8, owner="worker-b", now=later, ttl=TTL)
        with pytest.raises(LeaseHeldError) as caught:
            store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=later, ttl=TTL)
    assert caught.value.holder_run_id == 8
    assert "(owner worker-b)" in caught.value.message


def renewing_a_lease_taken_over_by_another_run_is_refused(url: str) -> None:
    with opened(url) as store:
        store.acquire_lease("acme-crm", run_id=7, owner="worker-a", now=NOW, ttl=TTL)
        later = NOW + TTL + dt.timedelta(minutes=1)
        store.acquire_lease("acme-crm", run_id=8, owner="worker-b", now=later, ttl=TTL)
        # Run 7 stalled past its lease; it must learn that it lost it before it commits.
        with pytest.raises(LeaseLostError) as caught:
            store.renew_lease("acme-crm", run_id=7, now=later, ttl=TTL)
        assert caught.value.message == (
            "run 7 lost its lease on integration 'acme-crm' (run 8 holds it now); it must "
            "not commit"
        )


# --- webhook events ------------------------------------------------------------------------


def add_event(store: StateStore, event_id: str, body: str = "{}", **values: Any) -> EventReceipt:
    arguments: dict[str, Any] = {
        "tenant": "acme",
        "integration": "acme-hooks",
        "stream": "contacts",
        "received_at": NOW,
        **values,
    }
    return store.add_event(event_id=event_id, body=body, **arguments)


def events_are_stored_once_and_read_back_in_sequence_order(url: str) -> None:
    body = '{"Id": "c1", "Name": "Zoë"}'
    with opened(url) as store:
        assert store.last_event_seq("acme-hooks", "contacts") == 0
        assert store.events_after("acme-hooks", "contacts", 0, 10) == []
        first = add_event(store, "msg_1", body)
        assert not first.duplicate
        again = add_event(store, "msg_1", '{"changed": true}', received_at=NOW + TTL)
        assert again == EventReceipt(first.seq, duplicate=True)
        # The same event id on another stream or integration is another event.
        other_stream = add_event(store, "msg_1", stream="accounts")
        other_integration = add_event(store, "msg_1", integration="beta-hooks", tenant="beta")
        seqs = [add_event(store, f"msg_{n}", f'{{"n": {n}}}').seq for n in range(2, 7)]
        assert not other_stream.duplicate
        assert not other_integration.duplicate
        assert seqs == sorted(seqs)
        assert seqs[0] > first.seq
        events = store.events_after("acme-hooks", "contacts", 0, 100)
        assert [e.event_id for e in events] == [f"msg_{n}" for n in range(1, 7)]
        assert [e.seq for e in events] == [first.seq, *seqs]
        stored = events[0]
        assert (stored.tenant, stored.integration, stored.stream) == (
            "acme",
            "acme-hooks",
            "contacts",
        )
        assert stored.body == body  # the first delivery's body, as received
        assert stored.body_bytes == len(body.encode("utf-8")) == len(body) + 1
        assert stored.received_at == NOW
        assert stored.received_at.utcoffset() == dt.timedelta(0)
        page = store.events_after("acme-hooks", "contacts", first.seq, 2)
        assert [e.seq for e in page] == seqs[:2]
        assert store.events_after("acme-hooks", "contacts", seqs[-1], 10) == []
        assert store.last_event_seq("acme-hooks", "contacts") == seqs[-1]
        assert store.last_event_seq("acme-hooks", "accounts") == other_stream.seq
        assert store.last_event_seq("nobody", "contacts") == 0


def concurrent_deliveries_of_one_event_store_it_once(url: str) -> None:
    threads = 8
    with opened(url) as store:
        start = threading.Barrier(threads)
        receipts: list[EventReceipt] = []
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                start.wait(timeout=10)
                receipts.append(add_event(store, "msg_same", '{"n": 1}'))
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        workers = [threading.Thread(target=deliver) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        assert errors == []
        assert len(receipts) == threads
        assert sum(not r.duplicate for r in receipts) == 1
        assert len({r.seq for r in receipts}) == 1
        assert [e.event_id for e in store.events_after("acme-hooks", "contacts", 0, 100)] == [
            "msg_same"
        ]


def concurrent_deliveries_of_many_events_are_all_read_in_sequence_order(url: str) -> None:
    threads, each = 4, 15
    with opened(url) as store:
        start = threading.Barrier(threads)

        def deliver(worker: int) -> None:
            start.wait(timeout=10)
            for n in range(each):
                add_event(store, f"msg_{worker}_{n}", f'{{"n": {n}}}')

        workers = [threading.Thread(target=deliver, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        read: list[int] = []
        after = 0
        while page := store.events_after("acme-hooks", "contacts", after, 7):
            read += [e.seq for e in page]
            after = page[-1].seq
        assert len(read) == threads * each
        assert read == sorted(set(read))


def purge_events_deletes_only_events_received_before_the_cutoff(url: str) -> None:
    with opened(url) as store:
        old = add_event(store, "old", received_at=NOW - dt.timedelta(days=40))
        add_event(
            store, "old-beta", integration="beta-hooks", received_at=NOW - dt.timedelta(days=40)
        )
        new = add_event(store, "new", received_at=NOW)
        cutoff = NOW - dt.timedelta(days=30)
        assert store.purge_events(older_than=cutoff, integration="acme-hooks") == 1
        assert [e.seq for e in store.events_after("acme-hooks", "contacts", 0, 10)] == [new.seq]
        assert store.purge_events(older_than=cutoff) == 1
        assert store.events_after("beta-hooks", "contacts", 0, 10) == []
        # Purging every event frees the event ids and never hands out a sequence id again:
        # a checkpoint past the purged events still reads what comes after them.
        assert store.purge_events(older_than=NOW + TTL) == 1
        assert store.last_event_seq("acme-hooks", "contacts") == 0
        again = add_event(store, "new")
        assert not again.duplicate
        assert again.seq > new.seq > old.seq
        assert [e.seq for e in store.events_after("acme-hooks", "contacts", new.seq, 10)] == [
            again.seq
        ]


def deliveries_are_kept_per_run_in_the_order_they_were_sent(url: str) -> None:
    with opened(url) as store:
        run_id = new_run(store)
        other_run = new_run(store)
        sent = [
            DeliveryRecord(
                run_id=run_id,
                integration="acme-crm",
                target="contacts_out",
                record_key=f'["acme", "C{n}"]',
                idempotency_key=f"{n:064x}",
                method="POST",
                path="/contacts",
                delivered=n != 2,
                status=201 if n != 2 else 422,
                remote_id=f"R{n}" if n != 2 else None,
                detail=None if n != 2 else "email: not an address",
                at=NOW + dt.timedelta(seconds=n),
            )
            for n in range(1, 4)
        ]
        assert store.add_deliveries(sent) == 3
        assert store.add_deliveries([]) == 0
        assert store.add_deliveries([dataclasses.replace(sent[0], run_id=other_run)]) == 1
        assert store.deliveries_of(run_id) == sent
        assert [d.run_id for d in store.deliveries_of(other_run)] == [other_run]
