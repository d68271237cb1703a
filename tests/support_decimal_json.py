"""Decimal and json columns in every SQL destination, whatever the database.

Plain functions taking a destination URL; ``tests/unit/connectors/test_decimal_json_sql.py``
runs them on SQLite and ``tests/integration/test_decimal_json_destinations.py`` on
PostgreSQL and MariaDB. Each one builds its own tables.
"""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from sqlalchemy import Text, cast, column, create_engine, select, table

from isthmus.connectors import Column, TableSpec, WriteMode, WriteResult
from isthmus.connectors.errors import SchemaMismatchError
from isthmus.connectors.writeback import RowsAfter
from isthmus.types import DECIMAL, FLOAT, JSON, STRING
from support_destinations import opened, prepared

LEDGER = TableSpec(
    name="ledger",
    columns=(
        Column("tenant_id", STRING, nullable=False),
        Column("id", STRING, nullable=False),
        Column("amount", DECIMAL),
        Column("details", JSON),
    ),
    primary_key=("tenant_id", "id"),
    tenant_key="tenant_id",
)
BIGGEST = "99999999999999999999999999999.999999999"  # 38 digits, 9 after the point
VALUES = {
    "1": ("12345678901234567890.123456789", '{"card": {"last4": "4242"}, "tags": ["a", 1, 2.5]}'),
    "2": ("-0.000000001", '"just a string"'),
    "3": (BIGGEST, "[1, null, true, false, -0.5, 1e+20]"),
    "4": ("-" + BIGGEST, '{"text": "Zoë 🚀 \\"quoted\\" \\\\ back\\nslash", "empty": {}}'),
    "5": ("0", "null"),  # the JSON value null, which is not a missing value
    "6": (None, None),
}


def ledger_rows(values: dict[str, tuple[str | None, str | None]], tenant: str = "acme") -> pa.Table:
    """Rows as the engine hands them over: decimals as Decimal(38, 9), json values as text."""
    frame = pl.DataFrame(
        {
            "tenant_id": [tenant] * len(values),
            "id": list(values),
            "amount": [amount for amount, _ in values.values()],
            "details": [details for _, details in values.values()],
        },
        schema={"tenant_id": pl.String, "id": pl.String, "amount": pl.String, "details": pl.String},
    )
    return frame.with_columns(pl.col("amount").cast(DECIMAL.to_polars())).to_arrow()


def write(url: str, rows: pa.Table, mode: WriteMode, tenant: str = "acme") -> WriteResult:
    destination = prepared(url, LEDGER)
    try:
        transaction = destination.begin()
        try:
            result = transaction.write(LEDGER, transaction.encode(LEDGER, rows), mode, tenant)
            finished = transaction.finish(LEDGER, mode, tenant, None)
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
    finally:
        destination.close()
    return WriteResult(
        inserted=result.inserted + finished.inserted,
        updated=result.updated + finished.updated,
        deleted=finished.deleted,
    )


def stored(url: str) -> dict[str, tuple[decimal.Decimal | None, Any]]:
    """id -> (amount, details parsed), read on a new connection with the database's own
    types: PostgreSQL and MariaDB give decimals, SQLite the text isthmus keeps."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            # JSON as text: psycopg would parse JSONB, and give a JSON string as bare text.
            details = cast(column("details"), Text)
            query = select(column("id"), column("amount"), details).select_from(table("ledger"))
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    return {
        key: (
            None if amount is None else decimal.Decimal(str(amount)),
            None if details is None else json.loads(details),
        )
        for key, amount, details in rows
    }


def expected(values: dict[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    return {
        key: (
            None if amount is None else decimal.Decimal(amount),
            None if details is None else json.loads(details),
        )
        for key, (amount, details) in values.items()
    }


def looked_up(url: str) -> dict[str, tuple[decimal.Decimal | None, str | None]]:
    """The rows as a transaction's lookup hands them back, in the core model's types."""
    keys = pa.table({"id": list(VALUES)})
    destination = prepared(url, LEDGER)
    try:
        transaction = destination.begin()
        try:
            found = transaction.lookup(LEDGER, "acme", keys, ["amount", "details"])
        finally:
            transaction.rollback()
    finally:
        destination.close()
    assert found.schema.field("amount").type == pa.decimal128(38, 9)
    return {r["id"]: (r["amount"], r["details"]) for r in found.to_pylist()}


# --- behaviours --------------------------------------------------------------------------


def decimals_and_json_round_trip_exactly(url: str) -> None:
    assert write(url, ledger_rows(VALUES), WriteMode.UPSERT) == WriteResult(inserted=6)

    assert stored(url) == expected(VALUES)
    back = looked_up(url)
    assert {k: v[0] for k, v in back.items()} == {k: v[0] for k, v in expected(VALUES).items()}
    assert {k: None if v[1] is None else json.loads(v[1]) for k, v in back.items()} == {
        k: v[1] for k, v in expected(VALUES).items()
    }
    assert back["5"][1] == "null"
    assert back["6"][1] is None


def upsert_and_replace_carry_decimals_and_json(url: str) -> None:
    write(url, ledger_rows(VALUES), WriteMode.UPSERT)
    changed = {"1": ("-12345678901234567890.987654321", '{"changed": [true]}'), "7": ("1", "2")}

    assert write(url, ledger_rows(changed), WriteMode.UPSERT) == WriteResult(inserted=1, updated=1)
    assert stored(url) == expected({**VALUES, **changed})

    assert write(url, ledger_rows(changed), WriteMode.REPLACE) == WriteResult(updated=2, deleted=5)
    assert stored(url) == expected(changed)


def the_created_table_passes_the_live_check(url: str) -> None:
    with opened(url) as destination:
        destination.prepare([LEDGER], create=True)
    with opened(url) as destination:
        destination.prepare([LEDGER], create=False)


def a_float_column_where_the_model_declares_decimal_is_refused_naming_it(url: str) -> None:
    live = TableSpec(
        "ledger",
        tuple(Column("amount", FLOAT) if c.name == "amount" else c for c in LEDGER.columns),
        LEDGER.primary_key,
        LEDGER.tenant_key,
    )
    with opened(url) as destination:
        destination.prepare([live], create=True)
    with opened(url) as destination, pytest.raises(SchemaMismatchError) as caught:
        destination.prepare([LEDGER], create=False)
    assert caught.value.message.startswith("core table 'ledger' column 'amount' is ")
    assert caught.value.message.endswith(", but the core model declares decimal")


def a_text_column_where_the_model_declares_json_is_refused_naming_it(url: str) -> None:
    live = TableSpec(
        "ledger",
        tuple(Column("details", STRING) if c.name == "details" else c for c in LEDGER.columns),
        LEDGER.primary_key,
        LEDGER.tenant_key,
    )
    with opened(url) as destination:
        destination.prepare([live], create=True)
    with opened(url) as destination, pytest.raises(SchemaMismatchError) as caught:
        destination.prepare([LEDGER], create=False)
    assert caught.value.message.startswith("core table 'ledger' column 'details' is TEXT")
    assert caught.value.message.endswith(", but the core model declares json")


def rows_read_for_write_back_keep_decimals_and_json_text(url: str) -> None:
    write(url, ledger_rows(VALUES), WriteMode.UPSERT)
    with opened(url) as destination:
        destination.prepare([LEDGER], create=False)
        request = RowsAfter(table=LEDGER, tenant="acme", order=("id",), after=None, batch_size=4)
        batches = list(destination.read_rows(request))

    assert [b.num_rows for b in batches] == [4, 2]
    rows = [r for b in batches for r in b.to_pylist()]
    assert batches[0].schema.field("amount").type == pa.decimal128(38, 9)
    assert {r["id"]: r["amount"] for r in rows} == {k: v[0] for k, v in expected(VALUES).items()}
    assert all(r["details"] is None or isinstance(r["details"], str) for r in rows)
    assert {r["id"]: None if r["details"] is None else json.loads(r["details"]) for r in rows} == {
        k: v[1] for k, v in expected(VALUES).items()
    }


# --- a whole project ---------------------------------------------------------------------

PROJECT_FILES = {
    "isthmus.yaml": """\
project: ledger
core: {database: "sqlite:///.isthmus/core.db", manage_schema: true}
state: {database: "sqlite:///.isthmus/state.db"}
""",
    "core/payment.yaml": """\
entity: payment
tenant_key: tenant_id
primary_key: [tenant_id, payment_id]
fields:
  payment_id: {type: string, required: true}
  amount: {type: decimal, required: true}
  details: {type: json}
""",
    "templates/ledger.yaml": """\
template: ledger
version: 1.0.0
description: Payments from a ledger export, written back as JSON Lines.
owner: {team: finance, contact: finance@example.com}
source:
  connector: file
  options: {format: auto}
streams:
  payments:
    path: payments.{extension}
    primary_key: Id
    schema: {Id: string, Amount: decimal, Details: json}
mappings:
  payments:
    stream: payments
    entity: payment
    read: full
    write: upsert
    fields:
      payment_id: Id
      amount: Amount
      details: Details
writeback:
  connector: file
  options: {format: jsonl}
  targets:
    payments_out:
      entity: payment
      read: full
      path: /payments-out.jsonl
      fields: {Id: payment_id, Amount: amount, Details: details}
sync:
  schedule: "0 * * * *"
  max_rejected_fraction: {max_rejected}
""",
    "integrations/acme.yaml": """\
integration: acme-ledger
tenant: acme
template: ledger@^1
owner: {team: finance, contact: finance@example.com}
connection: {root: data, writeback: {root: exports}}
""",
}


def write_ledger_project(
    root: Path, data: str, *, extension: str = "csv", max_rejected: float = 0.9
) -> Path:
    """A project loading ``data`` (the text of data/payments.<extension>) into payments, and
    writing the payments back to exports/payments-out.jsonl."""
    for name, content in PROJECT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content.replace("{extension}", extension)
        path.write_text(text.replace("{max_rejected}", str(max_rejected)), encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    (root / f"data/payments.{extension}").write_text(data, encoding="utf-8")
    return root


INVOICE = TableSpec(
    name="invoice",
    columns=(
        Column("tenant_id", STRING, nullable=False),
        Column("number", DECIMAL, nullable=False),
        Column("details", JSON),
    ),
    primary_key=("tenant_id", "number"),
    tenant_key="tenant_id",
)


def a_decimal_key_upserts_looks_up_and_checks_references(url: str) -> None:
    numbers = ["12345678901234567890.123456789", "-0.000000001", "7"]
    rows = pl.DataFrame(
        {"tenant_id": ["acme"] * 3, "number": numbers, "details": ['{"n": 1}', "[2]", None]}
    ).with_columns(pl.col("number").cast(DECIMAL.to_polars()))
    destination = prepared(url, INVOICE)
    try:
        for expected_result in (WriteResult(inserted=3), WriteResult(updated=3)):
            transaction = destination.begin()
            result = transaction.write(INVOICE, rows.to_arrow(), WriteMode.UPSERT, "acme")
            transaction.commit()
            assert result == expected_result
        probe = pl.Series("number", [numbers[0], numbers[1], "8"]).cast(DECIMAL.to_polars())
        transaction = destination.begin()
        try:
            found = transaction.lookup(INVOICE, "acme", probe.to_frame().to_arrow(), ["details"])
            existing = transaction.existing(INVOICE, "number", "acme", probe.to_arrow())
        finally:
            transaction.rollback()
    finally:
        destination.close()
    by_number = {str(r["number"]): r["details"] for r in found.to_pylist()}
    assert set(by_number) == {"12345678901234567890.123456789", "-1E-9"}
    assert json.loads(by_number["12345678901234567890.123456789"]) == {"n": 1}
    assert existing.type == pa.decimal128(38, 9)
    assert sorted(existing.to_pylist()) == sorted(decimal.Decimal(n) for n in numbers[:2])
