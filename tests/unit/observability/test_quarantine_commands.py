"""Listing, exporting and purging quarantined records: filters, masking, paging, refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.demo import DemoProject
from isthmus.errors import NotFoundError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.observability import PiiPolicy, pii_policy
from isthmus.observability.quarantine import (
    EXPORT_COLUMNS,
    ExportError,
    ExportFormat,
    PurgeRefusedError,
    Selection,
    export_quarantine,
    export_quarantine_file,
    list_quarantine,
    purge_quarantine,
)
from isthmus.store import QuarantineEntry, QuarantineFilter, QuarantineStatus, StateStore
from support_store import NOW, new_run

SECRET_EMAIL = "ann.secret@example.com"
SECRET_PHONE = "+1 555 0100"
RECORD = json.dumps({"Id": "c1", "Email": SECRET_EMAIL, "Phone": SECRET_PHONE, "LeadScore": "x"})
MALFORMED_LINE = '{"Id": "c9", "Email": "raw.secret@example.com", "Pho'
POLICY = PiiPolicy(
    core_fields={
        ("acme-crm", "contacts"): frozenset({"email", "phone"}),
        ("globex-crm", "contacts"): frozenset({"email", "phone"}),
    },
    source_fields={
        ("acme-crm", "contacts"): frozenset({"Email", "Phone"}),
        ("globex-crm", "contacts"): frozenset({"Email", "Phone"}),
    },
)


class PagedStore(StateStore):
    """A real store that records the limit of every query of quarantined records."""

    def __init__(self, store: StateStore) -> None:
        super().__init__(store.engine)
        self.pages: list[tuple[int | None, int]] = []
        self.fail_on_page: tuple[int, Exception] | None = None  # page number, what it raises

    def find_quarantine(
        self, selection: QuarantineFilter, *, limit: int | None = None
    ) -> list[QuarantineEntry]:
        if self.fail_on_page is not None and len(self.pages) + 1 == self.fail_on_page[0]:
            raise self.fail_on_page[1]
        found = super().find_quarantine(selection, limit=limit)
        self.pages.append((limit, len(found)))
        return found


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield opened
    finally:
        opened.close()


def entry(run_id: int, key: str, **values: object) -> QuarantineEntry:
    """A pattern rejection of an email in acme-crm's contacts; ``key`` is its record id."""
    fields: dict[str, object] = {
        "run_id": run_id,
        "integration": "acme-crm",
        "tenant": "acme",
        "mapping": "contacts",
        "stream": "contacts",
        "entity": "customer",
        "origin": "contacts.jsonl",
        "position": 1,
        "record_id": key,
        "rule": "pattern",
        "field": "email",
        "value": SECRET_EMAIL,
        "message": "does not match the pattern",
        "record": RECORD,
        "created_at": NOW,
        **values,
    }
    return QuarantineEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def sample(store: StateStore) -> dict[str, int]:
    """Six records over two integrations, three runs, rules, fields, statuses and ages."""
    run_a = new_run(store, "acme-crm")
    run_b = new_run(store, "acme-crm")
    run_g = new_run(store, "globex-crm", tenant="globex")
    old = NOW - dt.timedelta(days=40)
    store.add_quarantine(
        [
            entry(run_a, "a-email", created_at=old),
            entry(run_a, "a-score", rule="to_float", field="lead_score", value="x", created_at=old),
            entry(run_b, "b-email"),
            entry(run_b, "b-resolved", status="resolved", resolved_run_id=run_b),
            entry(run_b, "b-superseded", status="superseded", resolved_run_id=run_b),
            entry(run_g, "g-email", integration="globex-crm", tenant="globex"),
        ]
    )
    return {"a": run_a, "b": run_b, "g": run_g}


def keys(store: StateStore, selection: Selection, limit: int = 100) -> list[str | None]:
    listing = list_quarantine(store, selection, POLICY, limit=limit, now=NOW)
    return [e.record_id for e in listing.entries]


def test_list_shows_open_records_oldest_first_and_counts_every_match(
    store: StateStore, sample: dict[str, int]
) -> None:
    listing = list_quarantine(store, Selection(), POLICY, limit=2, now=NOW)
    assert [e.record_id for e in listing.entries] == ["a-email", "a-score"]
    assert [e.id for e in listing.entries] == sorted(e.id for e in listing.entries)
    assert (listing.total, listing.limit, listing.order, listing.status) == (
        4,
        2,
        "oldest first",
        "open",
    )
    assert listing.to_dict()["shown"] == 2


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(integration="globex-crm"), ["g-email"]),
        (Selection(rule="to_float"), ["a-score"]),
        (Selection(field="email"), ["a-email", "b-email", "g-email"]),
        (Selection(older_than=dt.timedelta(days=30)), ["a-email", "a-score"]),
        (Selection(status=QuarantineStatus.RESOLVED), ["b-resolved"]),
        (Selection(status=QuarantineStatus.SUPERSEDED), ["b-superseded"]),
        (
            Selection(status=None),
            ["a-email", "a-score", "b-email", "b-resolved", "b-superseded", "g-email"],
        ),
        (Selection(integration="acme-crm", field="email", status=None), None),
        (Selection(field="email", older_than=dt.timedelta(days=30)), ["a-email"]),
        (Selection(rule="pattern", status=QuarantineStatus.RESOLVED), ["b-resolved"]),
        (Selection(integration="nope"), []),
    ],
)
def test_each_filter_alone_and_combined_selects_exactly_its_records(
    store: StateStore, sample: dict[str, int], selection: Selection, expected: list[str] | None
) -> None:
    if expected is None:  # the combination that needs a run id from the fixture
        expected = ["b-email", "b-resolved", "b-superseded"]
        selection = Selection(run_id=sample["b"], field="email", status=None)
    assert keys(store, selection) == expected


def test_the_run_filter_selects_that_runs_open_records(
    store: StateStore, sample: dict[str, int]
) -> None:
    assert keys(store, Selection(run_id=sample["a"])) == ["a-email", "a-score"]
    assert keys(store, Selection(run_id=sample["g"], status=None)) == ["g-email"]


def test_a_run_that_does_not_exist_is_not_found_with_a_hint(
    store: StateStore, sample: dict[str, int]
) -> None:
    with pytest.raises(NotFoundError) as caught:
        list_quarantine(store, Selection(run_id=999), POLICY, limit=5, now=NOW)
    assert caught.value.message == "no run 999 in the state store"
    assert caught.value.hint is not None
    assert "isthmus runs" in caught.value.hint


def test_pii_values_source_fields_and_records_are_masked_by_default(store: StateStore) -> None:
    run_id = new_run(store)
    store.add_quarantine(
        [
            entry(run_id, "core-field"),
            entry(run_id, "source-field", rule="type", field="Phone", value=SECRET_PHONE),
            entry(run_id, "plain-field", rule="to_float", field="lead_score", value="seventy"),
        ]
    )
    shown = list_quarantine(store, Selection(), POLICY, limit=10, now=NOW).entries
    assert [e.value for e in shown] == ["a***@e***", "+***", "seventy"]
    for e in shown:
        assert SECRET_EMAIL not in e.record
        assert SECRET_PHONE not in e.record
        assert json.loads(e.record)["LeadScore"] == "x"  # not personal: shown as it came


def test_a_malformed_raw_line_is_masked_whole(store: StateStore) -> None:
    run_id = new_run(store)
    malformed = entry(
        run_id, "", rule="malformed", field=None, value=None, record_id=None, record=MALFORMED_LINE
    )
    store.add_quarantine([malformed])
    (shown,) = list_quarantine(store, Selection(), POLICY, limit=10, now=NOW).entries
    assert "raw.secret" not in shown.record
    assert (
        shown.record
        == f"<{len(MALFORMED_LINE)} characters, masked: the line could hold personal data>"
    )


def test_a_mapping_the_policy_does_not_know_is_masked_entirely(store: StateStore) -> None:
    run_id = new_run(store)
    store.add_quarantine([entry(run_id, "k", mapping="gone", field="lead_score", value="seventy")])
    (shown,) = list_quarantine(store, Selection(), POLICY, limit=10, now=NOW).entries
    assert (shown.value, shown.record) == ("s***", "***")


def test_only_an_explicitly_unmasked_listing_shows_values_as_stored(store: StateStore) -> None:
    run_id = new_run(store)
    store.add_quarantine([entry(run_id, "k")])
    listing = list_quarantine(store, Selection(), None, limit=10, now=NOW)
    (shown,) = listing.entries
    assert (shown.value, shown.record, listing.masked) == (SECRET_EMAIL, RECORD, False)
    assert list_quarantine(store, Selection(), POLICY, limit=10, now=NOW).masked


def test_a_real_demo_run_lists_its_emails_masked_with_the_projects_policy(
    demo: DemoProject,
) -> None:
    project = load_project(demo.root)
    report = run_integration(project, "acme-crm", RunSettings())
    store = StateStore.open(database_urls(project).state)
    try:
        selection = Selection(run_id=report.run_id, field="email")
        masked = list_quarantine(store, selection, pii_policy(project), limit=500, now=NOW)
        raw = list_quarantine(store, selection, None, limit=500, now=NOW)
    finally:
        store.close()
    stored = [e.value for e in raw.entries if e.value]
    assert stored
    assert all("***" in (e.value or "***") for e in masked.entries)
    shown = json.dumps(masked.to_dict())
    assert not [value for value in stored if value in shown]


def test_export_as_json_lines_writes_every_column_masked(
    store: StateStore, sample: dict[str, int]
) -> None:
    sink = io.StringIO()
    count = export_quarantine(store, Selection(), POLICY, ExportFormat.JSONL, sink, now=NOW)
    lines = sink.getvalue().splitlines()
    assert count == len(lines) == 4
    first = json.loads(lines[0])
    assert tuple(first) == EXPORT_COLUMNS
    assert EXPORT_COLUMNS == (
        "id", "run_id", "integration", "tenant", "mapping", "stream", "entity", "origin",
        "position", "record_id", "rule", "field", "value", "message", "record", "created_at",
        "status", "resolved_run_id",
    )  # fmt: skip
    assert first["run_id"] == sample["a"]
    assert (first["record_id"], first["value"], first["status"]) == ("a-email", "a***@e***", "open")
    assert first["resolved_run_id"] is None
    assert dt.datetime.fromisoformat(first["created_at"]) == NOW - dt.timedelta(days=40)
    assert SECRET_EMAIL not in sink.getvalue()


def test_export_as_csv_writes_a_header_and_one_row_per_record_masked(
    store: StateStore, sample: dict[str, int]
) -> None:
    sink = io.StringIO(newline="")
    count = export_quarantine(
        store, Selection(status=None), POLICY, ExportFormat.CSV, sink, now=NOW
    )
    reader = csv.DictReader(io.StringIO(sink.getvalue(), newline=""))
    rows = list(reader)
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    assert count == len(rows) == 6
    resolved = next(r for r in rows if r["record_id"] == "b-resolved")
    assert (resolved["status"], resolved["resolved_run_id"]) == ("resolved", str(sample["b"]))
    assert rows[0]["resolved_run_id"] == ""  # None is an empty cell
    assert json.loads(rows[0]["record"])["Email"] == "a***@e***"
    assert SECRET_EMAIL not in sink.getvalue()


def test_an_unmasked_export_writes_values_and_records_as_stored(
    store: StateStore, sample: dict[str, int]
) -> None:
    sink = io.StringIO()
    export_quarantine(store, Selection(rule="pattern"), None, ExportFormat.JSONL, sink, now=NOW)
    first = json.loads(sink.getvalue().splitlines()[0])
    assert (first["value"], first["record"]) == (SECRET_EMAIL, RECORD)


def test_export_reads_the_store_in_pages_of_the_given_size(
    store: StateStore, sample: dict[str, int]
) -> None:
    paged = PagedStore(store)
    sink = io.StringIO()
    selection = Selection(status=None)
    count = export_quarantine(
        paged, selection, POLICY, ExportFormat.JSONL, sink, now=NOW, page_size=2
    )
    assert count == 6
    assert paged.pages == [(2, 2), (2, 2), (2, 2), (2, 0)]
    exported = [json.loads(line)["record_id"] for line in sink.getvalue().splitlines()]
    assert exported == keys(store, selection)  # every record once, in id order


def test_an_export_file_is_written_whole_and_readable_by_its_owner_only(
    store: StateStore, sample: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "out/rejected.csv"
    target.parent.mkdir()
    target.write_text("previous export\n")
    count = export_quarantine_file(store, Selection(), POLICY, ExportFormat.CSV, target, now=NOW)
    with target.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == count == 4
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["rejected.csv"]


@pytest.mark.parametrize(
    ("failure", "raised"),
    [(OSError(28, "No space left on device"), ExportError), (RuntimeError("boom"), RuntimeError)],
)
def test_an_export_failing_half_way_leaves_the_previous_file_and_no_temporary_file(
    store: StateStore,
    sample: dict[str, int],
    tmp_path: Path,
    failure: Exception,
    raised: type[Exception],
) -> None:
    paged = PagedStore(store)
    paged.fail_on_page = (2, failure)
    target = tmp_path / "out/rejected.jsonl"
    target.parent.mkdir()
    target.write_text("previous export\n")
    with pytest.raises(raised):
        export_quarantine_file(
            paged, Selection(status=None), POLICY, ExportFormat.JSONL, target, now=NOW, page_size=2
        )
    assert len(paged.pages) == 1  # one page was written to the temporary file
    assert target.read_text() == "previous export\n"
    assert [p.name for p in target.parent.iterdir()] == ["rejected.jsonl"]


def test_an_export_into_a_missing_folder_or_of_an_unknown_run_writes_nothing(
    store: StateStore, sample: dict[str, int], tmp_path: Path
) -> None:
    missing = tmp_path / "no/such/folder/out.csv"
    with pytest.raises(ExportError) as caught:
        export_quarantine_file(store, Selection(), POLICY, ExportFormat.CSV, missing, now=NOW)
    assert caught.value.message == (
        f"cannot export to {missing}: the folder {missing.parent} does not exist"
    )
    assert caught.value.hint is not None
    assert not (tmp_path / "no").exists()
    target = tmp_path / "out.csv"
    with pytest.raises(NotFoundError):
        export_quarantine_file(
            store, Selection(run_id=999), POLICY, ExportFormat.CSV, target, now=NOW
        )
    assert not target.exists()


def count_all(store: StateStore) -> int:
    return store.count_quarantine(QuarantineFilter(status=None))


def test_purge_by_age_deletes_only_records_older_than_the_age_whatever_their_status(
    store: StateStore, sample: dict[str, int]
) -> None:
    old = Selection(status=None, older_than=dt.timedelta(days=30))
    result = purge_quarantine(store, old, now=NOW, dry_run=False, confirmed=True)
    assert (result.selected, result.deleted, result.dry_run) == (2, 2, False)
    assert keys(store, Selection(status=None)) == [
        "b-email",
        "b-resolved",
        "b-superseded",
        "g-email",
    ]


def test_purge_by_run_deletes_that_runs_records_narrowed_by_the_filters(
    store: StateStore, sample: dict[str, int]
) -> None:
    selection = Selection(run_id=sample["b"], status=QuarantineStatus.RESOLVED)
    result = purge_quarantine(store, selection, now=NOW, dry_run=False, confirmed=True)
    assert result.deleted == 1
    everything = Selection(run_id=sample["b"], status=None)
    assert keys(store, everything) == ["b-email", "b-superseded"]
    result = purge_quarantine(store, everything, now=NOW, dry_run=False, confirmed=True)
    assert result.deleted == 2
    assert count_all(store) == 3


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(
    store: StateStore, sample: dict[str, int]
) -> None:
    selection = Selection(status=None, older_than=dt.timedelta(days=30))
    for confirmed in (False, True):
        result = purge_quarantine(store, selection, now=NOW, dry_run=True, confirmed=confirmed)
        assert (result.selected, result.deleted, result.dry_run) == (2, 0, True)
    assert count_all(store) == 6


def test_an_unconfirmed_purge_refuses_naming_the_count_and_deletes_nothing(
    store: StateStore, sample: dict[str, int]
) -> None:
    selection = Selection(run_id=sample["b"], status=None)
    with pytest.raises(PurgeRefusedError) as caught:
        purge_quarantine(store, selection, now=NOW, dry_run=False, confirmed=False)
    assert "would delete 3 quarantined record(s)" in caught.value.message
    assert "--yes" in caught.value.message
    assert caught.value.hint is not None
    assert "--yes" in caught.value.hint
    assert count_all(store) == 6


def test_a_purge_without_an_age_or_a_run_refuses_even_when_confirmed(
    store: StateStore, sample: dict[str, int]
) -> None:
    with pytest.raises(PurgeRefusedError) as caught:
        purge_quarantine(store, Selection(status=None), now=NOW, dry_run=False, confirmed=True)
    assert caught.value.hint == "pass --older-than 30d, --run RUN_ID, or both"
    assert count_all(store) == 6


def test_a_purge_that_selects_nothing_needs_no_confirmation(
    store: StateStore, sample: dict[str, int]
) -> None:
    selection = Selection(status=None, older_than=dt.timedelta(days=365))
    result = purge_quarantine(store, selection, now=NOW, dry_run=False, confirmed=False)
    assert (result.selected, result.deleted) == (0, 0)
    assert count_all(store) == 6


def test_a_purge_of_an_unknown_run_is_not_found_and_deletes_nothing(
    store: StateStore, sample: dict[str, int]
) -> None:
    with pytest.raises(NotFoundError):
        purge_quarantine(
            store, Selection(run_id=999, status=None), now=NOW, dry_run=False, confirmed=True
        )
    assert count_all(store) == 6
