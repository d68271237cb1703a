"""The contacts benchmark: `isthmus run` on 100k and 1M CRM contacts (10M with --big), into
SQLite and PostgreSQL, with the counts checked against the data generator's report.

    make bench                                   # isthmus alone
    make bench BASELINE=path/baseline_polars.py  # and a hand-written script, A B A B
    make bench BIG=1                             # adds 10M rows
    .venv/bin/python bench/run_bench.py --batch-size 50000   # the template with other batches

Every figure is the median of --repeat runs of the whole process (start to exit), with its
peak resident memory. A count that does not match the generator's report stops the benchmark
with a non-zero exit: a fast wrong answer is not a result.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "contacts"
DATA = HERE / "data"
OUT = HERE / "out"
SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
SEED = 42
POSTGRES = os.environ.get("ISTHMUS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "isthmus_bench"
BASELINE_MAX_ROWS = 1_000_000  # the hand-written script reads the whole file into memory
TEMPLATE = Path("templates/crm-contacts-1.0.0.yaml")
TEMPLATE_BATCH_SIZE = 30_000  # what the template says: sync.batch_size
BLANK = ["", "", ""]  # a ratio row has no throughput, memory or CPU of its own


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mib: float
    cpu_seconds: float  # user + system time of the process: the work, whatever the overlap


def main() -> int:
    options = _options()
    _compile_isthmus()
    sizes = ["100k", "1m", *(["10m"] if options.big else [])]
    postgres = _postgres_available()
    rows: list[list[str]] = []
    for size in sizes:
        data, report = _data(size)
        rows += _sqlite_rows(size, data, report, options)
        if postgres:
            rows += _postgres_rows(size, data, report, options)
    if not postgres:
        print(f"PostgreSQL at {POSTGRES} is not reachable: its figures are left out", flush=True)
    _print_table(rows)
    return 0


def _compile_isthmus() -> None:
    """Bytecode for every module of isthmus, as installing a wheel writes it. An editable
    install has none until a run writes it, and none at all where PYTHONDONTWRITEBYTECODE is
    set: every run would then compile the sources again, about 0.1 s of each figure."""
    spec = importlib.util.find_spec("isthmus")
    if spec is None or spec.origin is None:
        raise SystemExit("isthmus is not installed in this Python: run make bench")
    if not compileall.compile_dir(Path(spec.origin).parent, quiet=1):
        raise SystemExit("isthmus's modules did not compile")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--big", action="store_true", help="also run 10M rows")
    parser.add_argument("--baseline", type=Path, help="a script: BASELINE IN.jsonl OUT.sqlite")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each figure (median)")
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        help=f"records per batch instead of the template's {TEMPLATE_BATCH_SIZE:,}",
    )
    return parser.parse_args()


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a batch size is a whole number of records, not {text!r}")
    return value


# --- data -----------------------------------------------------------------------------------


def _data(size: str) -> tuple[Path, dict[str, object]]:
    """The contacts file of a size, generated once, and the generator's report."""
    DATA.mkdir(parents=True, exist_ok=True)
    path, report_path = DATA / f"contacts_{size}.jsonl", DATA / f"contacts_{size}.report.json"
    if not path.exists() or not report_path.exists():
        print(f"generating {SIZES[size]:,} contacts into {path} ...", flush=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "isthmus.demo.generator",
                "contacts",
                "--rows",
                str(SIZES[size]),
                "--seed",
                str(SEED),
                "--out",
                str(path),
                "--kinds",
                "workload",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        report_path.write_text(done.stdout.strip().splitlines()[-1] + "\n")
    return path, json.loads(report_path.read_text())


# --- measuring ------------------------------------------------------------------------------


def _measured(command: list[str], **env: str) -> Measure:
    """Wall time, peak RSS and CPU time of one process, from start to exit."""
    # Standard error goes to a file, not a pipe: a child that wrote more than a pipe holds
    # would wait for a reader forever, and this one reads only once the child has ended.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=errors, env={**os.environ, **env}
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{said}")
    return Measure(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def _project(name: str, data: Path, core: str, state: str, batch_size: int | None = None) -> Path:
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(PROJECT, folder)
    if batch_size is not None:
        template = folder / TEMPLATE
        setting = f"batch_size: {TEMPLATE_BATCH_SIZE}"
        text = template.read_text()
        if text.count(setting) != 1:
            raise SystemExit(f"{template} does not say {setting!r}: cannot change its batches")
        template.write_text(text.replace(setting, f"batch_size: {batch_size}"))
    (folder / "data").mkdir()
    os.link(data, folder / "data" / "contacts.jsonl")
    settings = (folder / "isthmus.yaml").read_text()
    settings = settings.replace("sqlite:///.isthmus/core.db", core)
    settings = settings.replace("sqlite:///.isthmus/state.db", state)
    (folder / "isthmus.yaml").write_text(settings)
    return folder


def _isthmus(folder: Path) -> list[str]:
    return [sys.executable, "-m", "isthmus", "run", "bench", "--project", str(folder)]


def _checked_run(folder: Path, report: dict[str, object], customers: int) -> None:
    """The last run read, loaded and rejected exactly what the generator made."""
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "isthmus",
            "runs",
            "--format",
            "json",
            "--limit",
            "1",
            "--project",
            str(folder),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    run = json.loads(shown.stdout)["runs"][0]
    stream = run["streams"][0]
    got = (stream["read"], stream["loaded"], stream["rejected"], customers)
    wanted = (
        report["records"],
        report["good"],
        report["total_spoiled"],
        report["distinct_good_ids"],
    )
    if got != wanted:
        raise SystemExit(
            f"WRONG COUNTS in {folder}: read/loaded/rejected/customers "
            f"{got}, the generator made {wanted}"
        )


def _sqlite_customers(path: Path, table: str = "customer") -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_rows(
    size: str, data: Path, report: dict[str, object], options: argparse.Namespace
) -> list[list[str]]:
    ours: list[Measure] = []
    theirs: list[Measure] = []
    for _ in range(options.repeat):
        folder = _project(
            f"sqlite-{size}",
            data,
            "sqlite:///.isthmus/core.db",
            "sqlite:///.isthmus/state.db",
            options.batch_size,
        )
        ours.append(_measured(_isthmus(folder)))
        _checked_run(folder, report, _sqlite_customers(folder / ".isthmus/core.db"))
        if options.baseline and SIZES[size] <= BASELINE_MAX_ROWS:
            theirs.append(_baseline(options.baseline, data, report))
    rows = [_row(size, "sqlite", "isthmus run", ours, report)]
    if theirs:
        ratio = statistics.median(t.seconds / o.seconds for t, o in zip(theirs, ours, strict=True))
        rows.append(_row(size, "sqlite", options.baseline.name, theirs, report))
        label = "ratio (baseline time / isthmus time, paired)"
        rows.append([size, "sqlite", label, f"{ratio:.2f}x", *BLANK])
    return rows


def _baseline(script: Path, data: Path, report: dict[str, object]) -> Measure:
    target = OUT / "baseline.sqlite"
    measure = _measured(
        [sys.executable, str(script), str(data), str(target)], PYTHONPATH=str(script.parent)
    )
    if _sqlite_customers(target, "customers") != report["distinct_good_ids"]:
        raise SystemExit(f"WRONG COUNTS from {script}")
    return measure


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_available() -> bool:
    try:
        import psycopg  # noqa: PLC0415 - optional

        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


def _fresh_database() -> str:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://')}/{PG_DATABASE}"


def _postgres_rows(
    size: str, data: Path, report: dict[str, object], options: argparse.Namespace
) -> list[list[str]]:
    import psycopg  # noqa: PLC0415

    ours: list[Measure] = []
    copies: list[Measure] = []
    for _ in range(options.repeat):
        url = _fresh_database()
        folder = _project(f"postgres-{size}", data, url, url, options.batch_size)
        ours.append(_measured(_isthmus(folder)))
        with psycopg.connect(f"{POSTGRES}/{PG_DATABASE}") as connection:
            customers = int(connection.execute("SELECT count(*) FROM customer").fetchone()[0])
            csv = OUT / "good_rows.csv"
            with (
                csv.open("wb") as handle,
                connection.cursor().copy("COPY customer TO STDOUT (FORMAT csv)") as copy,
            ):
                for chunk in copy:
                    handle.write(chunk)
        _checked_run(folder, report, customers)
        copies.append(_bare_copy(csv))
    ratio = statistics.median(c.seconds / o.seconds for c, o in zip(copies, ours, strict=True))
    return [
        _row(size, "postgresql", "isthmus run", ours, report),
        _row(size, "postgresql", "bare \\copy of the good rows (psql)", copies, report),
        [size, "postgresql", "ratio (copy time / isthmus time, paired)", f"{ratio:.2f}x", *BLANK],
    ]


def _bare_copy(csv: Path) -> Measure:
    """psql's \\copy of the same rows into an empty table of the same shape."""
    ddl = "DROP TABLE IF EXISTS bare; CREATE TABLE bare (LIKE customer INCLUDING ALL);"
    quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    subprocess.run(["psql", f"{POSTGRES}/{PG_DATABASE}", "-q", "-c", ddl], check=True, env=quiet)
    return _measured(
        ["psql", f"{POSTGRES}/{PG_DATABASE}", "-q", "-c", f"\\copy bare FROM '{csv}' (FORMAT csv)"]
    )


# --- output -----------------------------------------------------------------------------------


def _row(
    size: str, database: str, what: str, measures: list[Measure], report: dict[str, object]
) -> list[str]:
    seconds = statistics.median(m.seconds for m in measures)
    peak = statistics.median(m.peak_mib for m in measures)
    cpu = statistics.median(m.cpu_seconds for m in measures)
    rate = int(report["records"]) / seconds  # type: ignore[call-overload]
    return [
        size,
        database,
        what,
        f"{seconds:.2f} s",
        f"{rate / 1000:,.0f}k rows/s",
        f"{peak:,.0f} MiB",
        f"{cpu:.2f} s",
    ]


def _print_table(rows: list[list[str]]) -> None:
    header = ["size", "database", "what", "wall (median)", "throughput", "peak RSS", "CPU"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
