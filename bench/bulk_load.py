"""Bulk-load throughput of the SQL destination: 1,000,000 narrow rows into each core database.

    .venv/bin/python bench/bulk_load.py [--rows N] [--batch N] [--only sqlite,postgres,mariadb]

What is measured is the destination alone, as the engine drives it: a fresh table, one
transaction, the rows written in batches of ``--batch`` (upsert into an empty table, so every
row is an insert through the staging table and the set-based merge), then the commit. Rows
are built before the clock starts. Each database is loaded three times into a new table and
the median is printed with the rows in the table, which must equal ``--rows``.

PostgreSQL and MariaDB are the local servers (``ISTHMUS_BENCH_POSTGRES``, default
postgresql+psycopg://postgres@127.0.0.1:5432; ``ISTHMUS_BENCH_MARIADB``, default
mysql+pymysql://root@127.0.0.1:3306), each into a database ``isthmus_bulk`` it recreates; a
server that is not reachable is reported and skipped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from isthmus.connectors import Column, SqlDestination, TableSpec, WriteMode
from isthmus.types import FLOAT, INTEGER, STRING, TIMESTAMP

TENANT = "bench"
DATABASE = "isthmus_bulk"
REPEATS = 3


def narrow_table(name: str) -> TableSpec:
    """Five columns: the tenant, a text key, an integer, a float and a timestamp."""
    return TableSpec(
        name=name,
        columns=(
            Column("tenant_id", STRING, nullable=False),
            Column("id", STRING, nullable=False),
            Column("n", INTEGER),
            Column("x", FLOAT),
            Column("at", TIMESTAMP),
        ),
        primary_key=("tenant_id", "id"),
        tenant_key="tenant_id",
    )


def narrow_rows(count: int) -> pa.Table:
    index = pl.int_range(0, count, eager=True)
    frame = pl.DataFrame(
        {
            "tenant_id": pl.repeat(TENANT, count, eager=True),
            "id": index.cast(pl.String).str.zfill(9),
            "n": index,
            "x": index.cast(pl.Float64) / 7,
        }
    ).with_columns(at=pl.datetime(2026, 1, 1, time_zone="UTC") + pl.duration(seconds=pl.col("n")))
    spec = narrow_table("narrow")
    return frame.select(pl.col(c.name).cast(c.type.to_polars()) for c in spec.columns).to_arrow()


def load_once(url: str, rows: pa.Table, batch: int, table: str) -> tuple[float, int]:
    """Seconds to load ``rows`` into a new table in one transaction, and the rows it holds."""
    spec = narrow_table(table)
    destination = SqlDestination(url)
    try:
        destination.prepare([spec], create=True)
        started = time.perf_counter()
        transaction = destination.begin()
        try:
            for offset in range(0, rows.num_rows, batch):
                chunk = transaction.encode(spec, rows.slice(offset, batch))
                transaction.write(spec, chunk, WriteMode.UPSERT, TENANT)
            transaction.finish(spec, WriteMode.UPSERT, TENANT, None)
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        elapsed = time.perf_counter() - started
        with destination.engine.connect() as connection:
            counted = connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar_one()
    finally:
        destination.close()
    return elapsed, int(counted)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="isthmus-bulk-") as folder:
        yield f"sqlite:///{Path(folder) / 'core.db'}"


@contextmanager
def server_database(server: str) -> Iterator[str]:
    """A fresh database ``isthmus_bulk`` on ``server``, dropped afterwards."""
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(DATABASE)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
        yield sa.make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
        admin.dispose()


def databases() -> dict[str, Callable[[], AbstractContextManager[str]]]:
    postgres = os.environ.get(
        "ISTHMUS_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    mariadb = os.environ.get("ISTHMUS_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/")
    return {
        "sqlite": sqlite_database,
        "postgres": lambda: server_database(postgres),
        "mariadb": lambda: server_database(mariadb),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--only", default="sqlite,postgres,mariadb")
    args = parser.parse_args()
    rows = narrow_rows(args.rows)
    print(f"{args.rows:,} narrow rows (5 columns), batches of {args.batch:,}, median of {REPEATS}")
    print(f"{'database':<10} {'seconds':>8} {'rows/s':>10}")
    failed = False
    for name, opened in databases().items():
        if name not in args.only.split(","):
            continue
        try:
            with opened() as url:
                times = []
                for attempt in range(REPEATS):
                    elapsed, counted = load_once(url, rows, args.batch, f"narrow_{attempt}")
                    if counted != args.rows:
                        print(f"{name:<10} wrong count: {counted:,} rows in the table")
                        failed = True
                        break
                    times.append(elapsed)
        except sa.exc.OperationalError as exc:
            print(f"{name:<10} skipped: server not reachable ({str(exc.orig).splitlines()[0]})")
            continue
        if times:
            median = statistics.median(times)
            print(f"{name:<10} {median:>8.2f} {args.rows / median:>10,.0f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
