"""The seeded generator of the demo's sample data and of the benchmark's large files.

It writes a CRM export, accounts and contacts, as JSON Lines or CSV, streaming to disk, and
returns a report of exactly what it spoiled, so a test can assert that a run quarantines those
records and ends with ``distinct_good_ids`` rows. Same arguments and seed, same bytes.

    python -m isthmus.demo.generator contacts --rows 1000000 --seed 42 --out contacts.jsonl

A spoiled contact is spoiled in exactly one way, the kind drawn uniformly from the enabled ones
(:data:`ALL_KINDS`; the benchmark workload uses :data:`DEFAULT_KINDS`). About ``dup_fraction``
of the records re-emit the Id of an earlier good contact with a LastModifiedDate in 2025,
strictly increasing in file order, so the last occurrence of an Id is also its newest. Spoiled
records are never duplicates and no duplicate re-uses a spoiled record's Id.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal, TextIO, get_args

from isthmus.demo.records import (
    ACCOUNT_STEP,
    CONTACT_STEP,
    DUPLICATE_BASE,
    KIND_SPLITS,
    ContactFactory,
    Record,
    Spoiler,
    encode_json,
    id_maker,
    make_account,
)

ContactKind = Literal[
    "missing_email", "invalid_email", "invalid_date", "invalid_status", "invalid_lead_score",
    "lead_score_out_of_range", "unknown_account", "malformed",
]  # fmt: skip
Format = Literal["jsonl", "csv"]

ALL_KINDS: Final[tuple[ContactKind, ...]] = get_args(ContactKind)
DEFAULT_KINDS: Final[tuple[ContactKind, ...]] = ALL_KINDS[:5]
DATE_FIELD_KINDS: Final = KIND_SPLITS["invalid_date"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

CONTACT_COLUMNS: Final = (
    "Id", "FirstName", "LastName", "Email", "Phone", "Account.Id", "Account.Name",
    "CreatedDate", "LastModifiedDate", "LeadScore", "Status", "OptOut",
)  # fmt: skip
ACCOUNT_COLUMNS: Final = ("Id", "Name", "Industry", "CreatedDate")
DEFAULT_ACCOUNT_POOL: Final = 1000  # accounts contacts refer to when no accounts file is written


@dataclass(frozen=True)
class AccountsReport:
    """What :func:`write_accounts` wrote; ``good_ids`` are the accounts a contact may reference."""

    records: int
    good: int
    spoiled: dict[str, int]
    total_spoiled: int
    good_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "good_ids": list(self.good_ids)}


@dataclass(frozen=True)
class ContactsReport:
    """What :func:`write_contacts` wrote. ``records == good + total_spoiled``.

    ``spoiled`` counts each enabled kind and, for the kinds of ``KIND_SPLITS``, each of their
    two variants (``invalid_created_at`` / ``invalid_updated_at`` split ``invalid_date`` by
    field), which are not added again to ``total_spoiled``. ``distinct_good_ids`` is the
    number of rows a correct load leaves in the target table.
    """

    records: int
    good: int
    spoiled: dict[str, int]
    duplicates: int
    distinct_good_ids: int
    total_spoiled: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# --- sinks -------------------------------------------------------------------------------------


class _JsonlSink:
    """One JSON object a line, UTF-8 kept as is; lines are written in batches.

    Both sinks have the same methods: ``write`` a record, ``write_good`` a fresh good contact
    in the form the sink writes fastest, ``write_malformed`` a record so that it cannot be
    parsed (``cut`` in [0, 1) says where), and ``flush``.
    """

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._lines: list[str] = []

    def write(self, record: Record) -> None:
        self._add(encode_json(record))

    def write_good(
        self, factory: ContactFactory, contact_id: str, modified_at: int | None = None
    ) -> None:
        self._add(factory.contact_json(contact_id, modified_at))  # 3x faster than encoding

    def _add(self, line: str) -> None:
        lines = self._lines
        lines.append(line)
        if len(lines) >= 8192:
            self.flush()

    def write_malformed(self, record: Record, cut: float) -> None:
        line = encode_json(record)
        # A proper prefix of an object's text never parses: its closing brace comes last.
        self._add(line[: len(line) // 4 + int(cut * (len(line) // 2))])

    def flush(self) -> None:
        if self._lines:
            self._handle.write("\n".join(self._lines))
            self._handle.write("\n")
            self._lines.clear()


class _CsvSink:
    """A header row, nested mappings flattened to dotted columns, absent and null as empty."""

    def __init__(self, handle: TextIO, columns: Sequence[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow(columns)
        self._paths = [tuple(column.split(".", 1)) for column in columns]

    def write(self, record: Record) -> None:
        self._writer.writerow(self._cells(record))

    def write_good(
        self, factory: ContactFactory, contact_id: str, modified_at: int | None = None
    ) -> None:
        self.write(factory.contact(contact_id, modified_at))

    def write_malformed(self, record: Record, cut: float) -> None:
        self._writer.writerow(self._cells(record)[:-1])  # one field too few

    def flush(self) -> None:
        pass  # nothing is buffered beyond the file's own buffer

    def _cells(self, record: Record) -> list[str]:
        cells = []
        for path in self._paths:
            value = record.get(path[0])
            if len(path) == 2:
                value = value.get(path[1]) if isinstance(value, dict) else None
            cells.append(_cell(value))
        return cells


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _MemorySink:
    """Records kept as mappings, for callers that serve them rather than write them (the mock
    CRM). A malformed record has no form here: callers leave that kind out."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)

    def write_good(
        self, factory: ContactFactory, contact_id: str, modified_at: int | None = None
    ) -> None:
        self.records.append(factory.contact(contact_id, modified_at))  # the same draws

    def write_malformed(self, record: Record, cut: float) -> None:
        raise ValueError("a malformed record cannot be kept in memory")

    def flush(self) -> None:
        pass


_Sink = _JsonlSink | _CsvSink | _MemorySink


@contextmanager
def _open_sink(
    path: str | os.PathLike[str], fmt: Format, columns: Sequence[str]
) -> Iterator[_Sink]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        sink = _JsonlSink(handle) if fmt == "jsonl" else _CsvSink(handle, columns)
        yield sink
        sink.flush()


# --- accounts ----------------------------------------------------------------------------------


def write_accounts(
    path: str | os.PathLike[str],
    *,
    count: int,
    seed: int,
    fmt: Format,
    bad_fraction: float = 0.02,
) -> AccountsReport:
    """Write ``count`` accounts; about ``bad_fraction`` of them lack a Name (``missing_name``)."""
    _check_counts(count, bad_fraction, 0.0)
    with _open_sink(path, fmt, ACCOUNT_COLUMNS) as sink:
        return _emit_accounts(sink, count, seed, bad_fraction)


def generate_accounts(
    *, count: int, seed: int, bad_fraction: float = 0.02
) -> tuple[list[Record], AccountsReport]:
    """The records :func:`write_accounts` writes for the same arguments, in memory."""
    _check_counts(count, bad_fraction, 0.0)
    sink = _MemorySink()
    report = _emit_accounts(sink, count, seed, bad_fraction)
    return sink.records, report


def _emit_accounts(sink: _Sink, count: int, seed: int, bad_fraction: float) -> AccountsReport:
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    rand = rng.random
    spoiler = Spoiler(rng, ())
    account_id = id_maker("001", seed, ACCOUNT_STEP)
    good_ids: list[str] = []
    for serial in range(count):
        record = make_account(rng, account_id(serial))
        if rand() < bad_fraction:
            spoiler.account(record)
        else:
            good_ids.append(str(record["Id"]))
        sink.write(record)
    spoiled = count - len(good_ids)
    return AccountsReport(count, len(good_ids), {"missing_name": spoiled}, spoiled, tuple(good_ids))


# --- contacts ----------------------------------------------------------------------------------


def write_contacts(
    path: str | os.PathLike[str],
    *,
    count: int,
    seed: int,
    fmt: Format,
    account_ids: Sequence[str],
    bad_fraction: float = 0.01,
    dup_fraction: float = 0.01,
    kinds: Iterable[ContactKind] = DEFAULT_KINDS,
) -> ContactsReport:
    """Write ``count`` contacts referring to ``account_ids`` and report what was spoiled.

    With no kinds enabled nothing is spoiled, whatever ``bad_fraction`` says.
    """
    _check_counts(count, bad_fraction, dup_fraction)
    run = _ContactRun(
        seed, account_ids, _enabled(kinds), bad_fraction, dup_fraction, empty_is_absent=fmt == "csv"
    )
    with _open_sink(path, fmt, CONTACT_COLUMNS) as sink:
        for _ in range(count):
            run.emit(sink)
    return run.report(count)


def generate_contacts(
    *,
    count: int,
    seed: int,
    account_ids: Sequence[str],
    bad_fraction: float = 0.01,
    dup_fraction: float = 0.01,
    kinds: Iterable[ContactKind] = DEFAULT_KINDS,
) -> tuple[list[Record], ContactsReport]:
    """The records :func:`write_contacts` writes as JSON Lines for the same arguments, in
    memory. ``malformed`` cannot be among the kinds: a record in memory is always parsed."""
    _check_counts(count, bad_fraction, dup_fraction)
    enabled = _enabled(kinds)
    if "malformed" in enabled:
        raise ValueError("malformed records exist only in files; leave 'malformed' out of kinds")
    run = _ContactRun(seed, account_ids, enabled, bad_fraction, dup_fraction, empty_is_absent=False)
    sink = _MemorySink()
    for _ in range(count):
        run.emit(sink)
    return sink.records, run.report(count)


class _ContactRun:
    """The state of one contacts file: serials issued, which were spoiled, the tallies.

    Every fresh record gets the next serial, and its Id is a bijection of the serial. The
    spoiled serials are a bitmap (1 bit a record: 1.25 MB at 10M rows), so a duplicate can
    draw an earlier serial uniformly and redraw while it hits a spoiled one.
    """

    def __init__(
        self,
        seed: int,
        account_ids: Sequence[str],
        kinds: tuple[ContactKind, ...],
        bad_fraction: float,
        dup_fraction: float,
        *,
        empty_is_absent: bool,
    ) -> None:
        rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
        self._rand = rng.random
        self._factory = ContactFactory(rng, account_ids)
        self._spoiler = Spoiler(rng, account_ids, empty_is_absent=empty_is_absent)
        self._contact_id = id_maker("003", seed, CONTACT_STEP)
        self._kinds = kinds
        self._bad = bad_fraction if kinds else 0.0
        self._dup_limit = self._bad + dup_fraction
        self._serials = 0
        self._spoiled_bits = bytearray()
        self._spoiled: dict[str, int] = dict.fromkeys(kinds, 0)
        for kind in kinds:
            self._spoiled.update(dict.fromkeys(KIND_SPLITS.get(kind, ()), 0))
        self._total_spoiled = 0
        self._duplicates = 0

    def emit(self, sink: _Sink) -> None:
        draw = self._rand()
        if draw < self._bad:
            self._emit_spoiled(sink)
        elif draw < self._dup_limit and self._serials > self._total_spoiled:
            self._emit_duplicate(sink)
        else:
            serial = self._serials
            self._serials = serial + 1
            sink.write_good(self._factory, self._contact_id(serial))

    def _emit_spoiled(self, sink: _Sink) -> None:
        serial = self._serials
        self._serials = serial + 1
        if serial >> 3 >= len(self._spoiled_bits):
            self._spoiled_bits.extend(bytes(1 << 16))
        self._spoiled_bits[serial >> 3] |= 1 << (serial & 7)
        record = self._factory.contact(self._contact_id(serial))
        kind = self._kinds[int(self._rand() * len(self._kinds))]
        label = self._spoiler.contact(record, kind)
        if kind == "malformed":
            sink.write_malformed(record, self._rand())
        else:
            sink.write(record)
        self._total_spoiled += 1
        self._spoiled[kind] += 1
        if label != kind:
            self._spoiled[label] += 1

    def _emit_duplicate(self, sink: _Sink) -> None:
        serial = int(self._rand() * self._serials)
        while self._is_spoiled(serial):
            serial = int(self._rand() * self._serials)
        # One second apart: strictly increasing even when rendered without milliseconds.
        modified_at = DUPLICATE_BASE + self._duplicates
        self._duplicates += 1
        sink.write_good(self._factory, self._contact_id(serial), modified_at)

    def _is_spoiled(self, serial: int) -> bool:
        index = serial >> 3
        return index < len(self._spoiled_bits) and bool(
            self._spoiled_bits[index] >> (serial & 7) & 1
        )

    def report(self, count: int) -> ContactsReport:
        return ContactsReport(
            records=count,
            good=count - self._total_spoiled,
            spoiled=dict(self._spoiled),
            duplicates=self._duplicates,
            distinct_good_ids=self._serials - self._total_spoiled,
            total_spoiled=self._total_spoiled,
        )


def _enabled(kinds: Iterable[str]) -> tuple[ContactKind, ...]:
    wanted = set(kinds)
    unknown = sorted(wanted.difference(ALL_KINDS))
    if unknown:
        raise ValueError(f"unknown spoil kinds {unknown}; use some of {', '.join(ALL_KINDS)}")
    return tuple(kind for kind in ALL_KINDS if kind in wanted)  # canonical order


def _check_counts(count: int, bad_fraction: float, dup_fraction: float) -> None:
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    for name, value in (("bad_fraction", bad_fraction), ("dup_fraction", dup_fraction)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {value}")
    if bad_fraction + dup_fraction > 1.0:
        raise ValueError("bad_fraction + dup_fraction must not exceed 1")


# --- command line (a developer tool for benchmarks, not the product CLI) -----------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m isthmus.demo.generator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    contacts = commands.add_parser("contacts", help="write a contacts file, print its report")
    contacts.add_argument("--rows", type=int, required=True)
    contacts.add_argument("--seed", type=int, required=True)
    contacts.add_argument("--out", type=Path, required=True)
    contacts.add_argument("--format", choices=FORMATS, default="jsonl")
    contacts.add_argument(
        "--accounts", type=int, help="also write N accounts beside --out as accounts.<format>"
    )
    contacts.add_argument("--kinds", choices=("all", "workload"), default="workload")
    contacts.add_argument("--bad-fraction", type=float, default=0.01)
    contacts.add_argument("--dup-fraction", type=float, default=0.01)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write the file(s) and print the contacts report (and accounts counts) as one JSON line."""
    args = _parser().parse_args(argv)
    out: Path = args.out
    summary: dict[str, object] = {}
    if args.accounts is None:
        account_id = id_maker("001", args.seed, ACCOUNT_STEP)  # the ids write_accounts would use
        account_ids: Sequence[str] = [account_id(i) for i in range(DEFAULT_ACCOUNT_POOL)]
    else:
        accounts_path = out.with_name(f"accounts.{args.format}")
        accounts = write_accounts(
            accounts_path, count=args.accounts, seed=args.seed, fmt=args.format
        )
        account_ids = accounts.good_ids
        summary = {k: v for k, v in accounts.to_dict().items() if k != "good_ids"}
        summary["path"] = str(accounts_path)
    report = write_contacts(
        out,
        count=args.rows,
        seed=args.seed,
        fmt=args.format,
        account_ids=account_ids,
        bad_fraction=args.bad_fraction,
        dup_fraction=args.dup_fraction,
        kinds=ALL_KINDS if args.kinds == "all" else DEFAULT_KINDS,
    )
    result = {**report.to_dict(), "path": str(out)}
    if summary:
        result["accounts"] = summary
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
