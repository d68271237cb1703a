"""The seeded generator writes exactly what its report says it wrote.

The checker below is written from the workload's rules, not from the generator's code: it
parses the written file with json or csv, finds every rule each record breaks, and recomputes
the counts the report claims.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from isthmus.demo.generator import (
    ALL_KINDS,
    DEFAULT_KINDS,
    ContactsReport,
    main,
    write_accounts,
    write_contacts,
)
from isthmus.demo.records import KIND_SPLITS, ContactFactory, Spoiler, encode_json

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$")
DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
STATUSES = {"active", "customer", "inactive", "prospect", "lead", "churned", "former customer"}
CONTACT_HEADER = [
    "Id", "FirstName", "LastName", "Email", "Phone", "Account.Id", "Account.Name",
    "CreatedDate", "LastModifiedDate", "LeadScore", "Status", "OptOut",
]  # fmt: skip
ACCOUNTS = [f"001{i:012d}AAA" for i in range(40)]
Y2025 = datetime(2025, 1, 1, tzinfo=UTC)


# --- the independent checker -------------------------------------------------------------------


def parse_instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # not a real calendar instant
        return None


def broken_rules(record: dict[str, Any], known_accounts: set[str]) -> list[str]:
    """Every rule the record breaks, in the workload's order."""
    broken = []
    email = record.get("Email")
    if email is None or not email.strip():
        broken.append("missing_email")
    elif not EMAIL.match(email.strip().lower()):
        broken.append("invalid_email")
    if parse_instant(record.get("CreatedDate")) is None:
        broken.append("invalid_created_at")
    if parse_instant(record.get("LastModifiedDate")) is None:
        broken.append("invalid_updated_at")
    status = record.get("Status")
    if status is None:
        broken.append("missing_status")
    elif status.strip().lower() not in STATUSES:
        broken.append("unknown_status")
    score = record.get("LeadScore")
    if isinstance(score, str):
        score = float(score) if DECIMAL.match(score.strip()) else "not numeric"
    if score == "not numeric" or isinstance(score, bool):
        broken.append("invalid_lead_score")
    elif score is not None and score < 0:
        broken.append("lead_score_below_min")
    elif score is not None and score > 100:
        broken.append("lead_score_above_max")
    account = record.get("Account")
    if account is not None and account["Id"] not in known_accounts:
        broken.append("unknown_account")
    return broken


def read_contacts(path: Path, fmt: str) -> list[dict[str, Any] | str]:
    """The file's records in order; the raw text of one that does not parse."""
    if fmt == "jsonl":
        records: list[dict[str, Any] | str] = []
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append(line)
        return records
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == CONTACT_HEADER
    return [
        from_csv_row(row) if len(row) == len(CONTACT_HEADER) else ",".join(row) for row in rows[1:]
    ]


def from_csv_row(row: list[str]) -> dict[str, Any]:
    flat = {
        key: (value if value != "" else None)
        for key, value in zip(CONTACT_HEADER, row, strict=True)
    }
    account_id, account_name = flat.pop("Account.Id"), flat.pop("Account.Name")
    flat["Account"] = None if account_id is None else {"Id": account_id, "Name": account_name}
    assert flat["OptOut"] in {"true", "false"}
    return flat


@dataclass
class Recount:
    reasons: Counter[str] = field(default_factory=Counter)
    good: int = 0
    duplicates: int = 0
    good_ids: set[str] = field(default_factory=set)
    spoiled_ids: set[str] = field(default_factory=set)
    originals_newest: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    duplicate_dates: list[datetime] = field(default_factory=list)


def recount(path: Path, fmt: str, known_accounts: set[str]) -> Recount:
    result = Recount()
    for record in read_contacts(path, fmt):
        if isinstance(record, str):
            result.reasons["malformed"] += 1
            found_id = re.search(r"003\w{15}", record)
            assert found_id is not None, "a malformed record lost its Id"
            result.spoiled_ids.add(found_id.group())
            continue
        broken = broken_rules(record, known_accounts)
        assert len(broken) <= 1, f"spoiled in more than one way: {broken} {record}"
        if broken:
            result.reasons[broken[0]] += 1
            result.spoiled_ids.add(record["Id"])
            continue
        created = parse_instant(record["CreatedDate"])
        updated = parse_instant(record["LastModifiedDate"])
        assert created is not None
        assert updated is not None
        assert created <= updated
        result.good += 1
        if record["Id"] in result.good_ids:
            result.duplicates += 1
            result.duplicate_dates.append(updated)
        else:
            result.originals_newest = max(result.originals_newest, updated)
            result.good_ids.add(record["Id"])
    return result


def expected_report(found: Recount, kinds: tuple[str, ...]) -> ContactsReport:
    spoiled = dict.fromkeys(kinds, 0)
    variant_of = {}
    for kind in kinds:
        for variant in KIND_SPLITS.get(kind, ()):
            spoiled[variant] = 0
            variant_of[variant] = kind
    for reason, n in found.reasons.items():
        if reason in variant_of:
            spoiled[variant_of[reason]] += n
        spoiled[reason] += n
    total = sum(found.reasons.values())
    return ContactsReport(
        records=found.good + total,
        good=found.good,
        spoiled=spoiled,
        duplicates=found.duplicates,
        distinct_good_ids=len(found.good_ids),
        total_spoiled=total,
    )


def generate(tmp_path: Path, fmt: str = "jsonl", **options: Any) -> tuple[Path, ContactsReport]:
    arguments: dict[str, Any] = {"count": 500, "seed": 7, "account_ids": ACCOUNTS} | options
    path = tmp_path / f"contacts-{arguments['seed']}-{arguments['count']}.{fmt}"
    return path, write_contacts(path, fmt=fmt, **arguments)


# --- contacts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("seed", [1, 42, 2024])
@pytest.mark.parametrize(
    ("count", "bad", "dup", "kinds"),
    [
        (0, 0.01, 0.01, ALL_KINDS),
        (1, 0.5, 0.0, ALL_KINDS),
        (60, 0.2, 0.2, ALL_KINDS),
        (1500, 0.15, 0.1, ALL_KINDS),
        (1500, 0.01, 0.01, DEFAULT_KINDS),
        (800, 0.6, 0.4, ("malformed", "unknown_account")),
    ],
)
def test_independent_recount_of_the_file_agrees_exactly_with_the_report(
    tmp_path: Path, fmt: str, seed: int, count: int, bad: float, dup: float, kinds: tuple[str, ...]
) -> None:
    path, report = generate(
        tmp_path, fmt, count=count, seed=seed, bad_fraction=bad, dup_fraction=dup, kinds=kinds
    )
    found = recount(path, fmt, set(ACCOUNTS))
    assert report == expected_report(found, kinds)
    assert report.records == count == report.good + report.total_spoiled
    assert not found.spoiled_ids & found.good_ids, "a duplicate re-used a spoiled record's id"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_same_arguments_and_seed_give_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = generate(tmp_path / "a", fmt, kinds=ALL_KINDS, bad_fraction=0.2)
    second, _ = generate(tmp_path / "b", fmt, kinds=ALL_KINDS, bad_fraction=0.2)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_another_seed_gives_different_bytes(tmp_path: Path, fmt: str) -> None:
    first, _ = generate(tmp_path, fmt, seed=1)
    second, _ = generate(tmp_path, fmt, seed=2)
    assert first.read_bytes() != second.read_bytes()


def test_order_of_the_kinds_given_does_not_change_the_output(tmp_path: Path) -> None:
    (tmp_path / "reversed").mkdir()
    forward, _ = generate(tmp_path, kinds=ALL_KINDS, bad_fraction=0.3)
    backward, _ = generate(tmp_path / "reversed", kinds=ALL_KINDS[::-1], bad_fraction=0.3)
    assert forward.read_bytes() == backward.read_bytes()


def test_every_enabled_kind_occurs_and_no_other(tmp_path: Path) -> None:
    _, everything = generate(tmp_path, count=1200, bad_fraction=0.5, kinds=ALL_KINDS)
    assert all(everything.spoiled[kind] > 0 for kind in ALL_KINDS)
    assert everything.spoiled["invalid_created_at"] > 0
    assert everything.spoiled["invalid_updated_at"] > 0
    _, workload = generate(tmp_path, count=1201, bad_fraction=0.5)
    assert set(workload.spoiled) == {
        *DEFAULT_KINDS,
        "invalid_created_at",
        "invalid_updated_at",
        "missing_status",
        "unknown_status",
    }


def test_no_enabled_kind_spoils_nothing(tmp_path: Path) -> None:
    _, report = generate(tmp_path, bad_fraction=0.5, kinds=())
    assert report.total_spoiled == 0
    assert report.spoiled == {}
    assert report.good == report.records == 500


def test_csv_header_flattens_account_into_dotted_columns_and_leaves_out_tags(
    tmp_path: Path,
) -> None:
    path, _ = generate(tmp_path, "csv")
    header = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header.split(",") == CONTACT_HEADER


def test_malformed_jsonl_lines_fail_json_parsing_and_csv_rows_lack_one_field(
    tmp_path: Path,
) -> None:
    jsonl, report = generate(tmp_path, "jsonl", bad_fraction=0.3, kinds=["malformed"])
    lines = jsonl.read_text(encoding="utf-8").split("\n")[:-1]
    failing = 0
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            failing += 1
    assert failing == report.spoiled["malformed"] > 0
    csv_path, csv_report = generate(tmp_path, "csv", bad_fraction=0.3, kinds=["malformed"])
    with csv_path.open(encoding="utf-8", newline="") as handle:
        widths = Counter(len(row) for row in csv.reader(handle))
    assert widths == {12: 501 - csv_report.total_spoiled, 11: csv_report.total_spoiled}


def test_duplicates_are_newer_than_any_original_and_strictly_increase_in_file_order(
    tmp_path: Path,
) -> None:
    path, report = generate(tmp_path, count=3000, dup_fraction=0.1)
    found = recount(path, "jsonl", set(ACCOUNTS))
    dates = found.duplicate_dates
    assert len(dates) == report.duplicates > 100
    assert all(earlier < later for earlier, later in itertools.pairwise(dates))
    assert found.originals_newest < Y2025 <= dates[0]
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    assert all(
        json.loads(line)["LastModifiedDate"].startswith("2025-")
        for line in lines
        if "2025-" in line
    )


def test_good_records_reference_known_accounts_by_their_names(tmp_path: Path) -> None:
    accounts_path = tmp_path / "accounts.jsonl"
    accounts = write_accounts(accounts_path, count=30, seed=3, fmt="jsonl", bad_fraction=0.2)
    names = {}
    for line in accounts_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        names[record["Id"]] = record.get("Name")
    path, report = generate(tmp_path, account_ids=accounts.good_ids, kinds=DEFAULT_KINDS)
    found = recount(path, "jsonl", set(accounts.good_ids))
    assert report == expected_report(found, DEFAULT_KINDS)
    records = [r for r in read_contacts(path, "jsonl") if isinstance(r, dict)]
    referenced = [r["Account"] for r in records if r["Account"]]
    assert {a["Id"] for a in referenced} <= set(accounts.good_ids)
    assert all(names[a["Id"]] == a["Name"] for a in referenced)
    assert 0.02 < 1 - len(referenced) / report.records < 0.1  # about 5% have no account


def test_encoded_fast_path_is_byte_identical_to_encoding_the_mapping() -> None:
    fast = ContactFactory(random.Random(5), ACCOUNTS)
    plain = ContactFactory(random.Random(5), ACCOUNTS)
    for i in range(3000):
        modified = None if i % 3 else 315_000_000 + i
        line = fast.contact_json(f"003{i:012d}AAA", modified)
        assert line == encode_json(plain.contact(f"003{i:012d}AAA", modified))


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "malformed"])
def test_each_spoil_breaks_exactly_its_own_rule(kind: str) -> None:
    rng = random.Random(kind)
    factory, spoiler = ContactFactory(rng, ACCOUNTS), Spoiler(rng, ACCOUNTS)
    expected = list(KIND_SPLITS.get(kind, (kind,)))
    for i in range(3000):
        record = factory.contact(f"003{i:012d}AAA")
        assert broken_rules(record, set(ACCOUNTS)) == []
        label = spoiler.contact(record, kind)
        assert broken_rules(record, set(ACCOUNTS)) == [label]
        assert label in expected


class ExtremeDraws(random.Random):
    """A generator whose every draw comes from a fixed cycle, to reach the edges of a spoil."""

    def __init__(self, draws: tuple[float, ...]) -> None:
        super().__init__(0)
        self._draws = itertools.cycle(draws)

    def random(self) -> float:
        return next(self._draws)


@pytest.mark.parametrize("draws", [(0.0,), (0.999999,), (0.0, 0.999999), (0.999999, 0.0)])
@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "malformed"])
def test_each_spoil_still_breaks_its_rule_at_the_extremes_of_its_draws(
    kind: str, draws: tuple[float, ...]
) -> None:
    record = ContactFactory(random.Random(1), ACCOUNTS).contact("003000000000001AAA")
    label = Spoiler(ExtremeDraws(draws), ACCOUNTS).contact(record, kind)
    assert broken_rules(record, set(ACCOUNTS)) == [label]


def test_ids_are_salesforce_like_and_unique(tmp_path: Path) -> None:
    path, report = generate(tmp_path, count=2000, dup_fraction=0.0)
    ids = [r["Id"] for r in read_contacts(path, "jsonl") if isinstance(r, dict)]
    assert len(set(ids)) == len(ids) == 2000 - report.spoiled.get("malformed", 0)
    assert all(len(i) == 18 and i.startswith("003") and i.endswith("AAA") for i in ids)


@pytest.mark.parametrize(
    "options",
    [
        {"count": -1},
        {"bad_fraction": 1.5},
        {"dup_fraction": -0.1},
        {"bad_fraction": 0.6, "dup_fraction": 0.6},
        {"kinds": ["missing_email", "no_such_kind"]},
        {"fmt": "xml"},
    ],
)
def test_invalid_arguments_raise_value_error(tmp_path: Path, options: dict[str, Any]) -> None:
    fmt = options.pop("fmt", "jsonl")
    with pytest.raises(ValueError, match=r"count|fraction|kinds|format"):
        generate(tmp_path, fmt, **options)


# --- accounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_accounts_report_lists_exactly_the_named_accounts(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"accounts.{fmt}"
    report = write_accounts(path, count=400, seed=9, fmt=fmt, bad_fraction=0.1)
    if fmt == "jsonl":
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == ["Id", "Name", "Industry", "CreatedDate"]
            records = [{k: v or None for k, v in row.items()} for row in reader]
    named = [r["Id"] for r in records if r.get("Name") and r["Name"].strip()]
    assert report.good_ids == tuple(named)
    assert report.spoiled == {"missing_name": 400 - len(named)}
    assert report.total_spoiled > 0
    assert report.records == report.good + report.total_spoiled == 400
    ids = [r["Id"] for r in records]
    assert len(set(ids)) == 400
    assert all(len(i) == 18 and i.startswith("001") for i in ids)
    assert all(parse_instant(r["CreatedDate"]) for r in records)


# --- command line ------------------------------------------------------------------------------


def test_command_line_writes_contacts_and_accounts_and_prints_one_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "contacts.csv"
    argv = ["contacts", "--rows", "300", "--seed", "4", "--out", str(out), "--format", "csv"]
    assert main([*argv, "--accounts", "25", "--kinds", "all"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1
    summary = json.loads(printed[0])
    assert (tmp_path / "accounts.csv").exists()
    assert summary["accounts"]["records"] == 25
    assert set(summary["spoiled"]) >= set(ALL_KINDS)
    with (tmp_path / "accounts.csv").open(encoding="utf-8", newline="") as handle:
        known = {row["Id"] for row in csv.DictReader(handle) if row["Name"].strip()}
    found = recount(out, "csv", known)
    expected = expected_report(found, ALL_KINDS).to_dict()
    assert {k: summary[k] for k in expected} == expected
