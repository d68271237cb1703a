"""Read-only access to the core database for dry runs: a missing SQLite file is never
created, an existing one is only read, and checkpoints, references and cursors read back in
the core model's types."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from isthmus.connectors import Column, TableSpec
from isthmus.connectors.sampling_core import ReadOnlyCore, read_only_engine
from isthmus.store import StateStore
from isthmus.types import INTEGER, STRING, TIMESTAMP
from support_destinations import THING, prepared, row, write_committed

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_missing_sqlite_database_is_absent_and_never_created(tmp_path: Path) -> None:
    assert read_only_engine(f"sqlite:///{tmp_path / 'new/core.db'}") is None
    assert list(tmp_path.iterdir()) == []


def test_an_existing_database_is_read_without_a_single_byte_or_file_changing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'core.db'}"
    destination = prepared(url)
    write_committed(destination, [row("acme", "1", "one", at=AT), row("globex", "2", "two")])
    transaction = destination.begin()
    transaction.save_checkpoint("acme-crm", "contacts", {"cursor": "2026-03-01"}, run_id=7)
    transaction.commit()
    destination.close()
    before = digest(tmp_path)

    engine = read_only_engine(url)
    assert engine is not None
    core = ReadOnlyCore(engine)
    assert core.checkpoint("acme-crm", "contacts") == ({"cursor": "2026-03-01"}, 7)
    assert core.checkpoint("acme-crm", "accounts") == (None, None)
    found = core.existing(THING, "id", "acme", pl.Series(["1", "2", None, "1"]))
    assert found.to_list() == ["1"]
    keys = pl.DataFrame({"id": ["1", "2", "3"]})
    current = core.current(THING, "acme", keys, "at")
    assert current.to_dicts() == [{"id": "1", "at": AT}]
    with pytest.raises(OperationalError, match="readonly"), engine.begin() as connection:
        connection.execute(text("DELETE FROM thing"))
    core.close()

    assert digest(tmp_path) == before


def test_tables_that_do_not_exist_yet_hold_nothing(tmp_path: Path) -> None:
    path = tmp_path / "core.db"
    sqlite3.connect(path).close()
    engine = read_only_engine(f"sqlite:///{path}")
    assert engine is not None
    core = ReadOnlyCore(engine)
    assert core.checkpoint("acme-crm", "contacts") == (None, None)
    assert core.existing(THING, "id", "acme", pl.Series(["1"])).to_list() == []
    assert core.current(THING, "acme", pl.DataFrame({"id": ["1"]}), "at").height == 0
    core.close()


def test_a_database_another_process_has_open_in_wal_mode_is_read_as_it_stands(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore.open(url)  # WAL mode, and it keeps its log open
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            engine = read_only_engine(url)
            assert engine is not None
            core = ReadOnlyCore(engine)
            assert "runs" in core.tables
            core.close()
    finally:
        store.close()


def test_rows_with_a_key_of_several_columns_are_found_by_the_whole_key(tmp_path: Path) -> None:
    spec = TableSpec(
        name="line",
        columns=(
            Column("tenant_id", STRING, nullable=False),
            Column("order_id", STRING, nullable=False),
            Column("line_no", INTEGER, nullable=False),
            Column("at", TIMESTAMP),
        ),
        primary_key=("tenant_id", "order_id", "line_no"),
        tenant_key="tenant_id",
    )
    url = f"sqlite:///{tmp_path / 'core.db'}"
    destination = prepared(url, spec)
    rows = [
        {"tenant_id": "acme", "order_id": "o1", "line_no": 1, "at": AT},
        {"tenant_id": "acme", "order_id": "o1", "line_no": 2, "at": AT},
        {"tenant_id": "globex", "order_id": "o2", "line_no": 1, "at": AT},
    ]
    write_committed(destination, rows, spec=spec)
    destination.close()
    engine = read_only_engine(url)
    assert engine is not None
    core = ReadOnlyCore(engine)
    keys = pl.DataFrame({"order_id": ["o1", "o2", "o1"], "line_no": [2, 1, 3]})
    assert core.current(spec, "acme", keys, "at").to_dicts() == [
        {"order_id": "o1", "line_no": 2, "at": AT}
    ]
    core.close()
