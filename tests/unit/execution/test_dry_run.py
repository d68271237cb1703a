"""Dry runs over the demo project: the counts a run would reach, read from the real source,
and not one byte written anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from isthmus.config import load_project
from isthmus.connectors.base import MalformedRecord, SourceBatch
from isthmus.demo import DemoProject
from isthmus.demo.mockcrm import MockCrm
from isthmus.errors import NotFoundError, ValidationFailedError
from isthmus.execution import RunSettings, run_integration
from isthmus.execution.dry_run import DryRunSettings, dry_run
from isthmus.execution.dry_run_drift import not_observed
from isthmus.execution.dry_run_models import DriftSample, DryRunReport, StreamSample
from isthmus.execution.dry_run_stream import first_records
from isthmus.store import StateStore
from isthmus.testing import FakeClock
from support_webhooks import ENVIRON, write_hook_project

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its checksum: any write shows."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def counts(stream: StreamSample) -> tuple[int, int, int, int]:
    return stream.records_read, stream.would_load, stream.would_reject, stream.would_skip


def reasons(stream: StreamSample) -> dict[tuple[str, str | None], int]:
    return {(r.rule, r.field): r.count for r in stream.reasons}


def sampled(root: Path, name: str, **settings: Any) -> DryRunReport:
    return dry_run(load_project(root), name, DryRunSettings(**settings))


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_a_dry_run_of_a_new_project_counts_what_the_generator_spoiled_and_writes_nothing(
    demo: DemoProject, tenant: str
) -> None:
    data = next(d for d in demo.data if d.tenant.tenant == tenant)
    before = digest(demo.root)
    report = sampled(demo.root, data.tenant.integration, sample=10_000)

    assert digest(demo.root) == before
    assert not (demo.root / ".isthmus").exists()
    assert not report.failed
    accounts, contacts = report.streams
    assert counts(accounts) == (
        data.accounts.records,
        data.accounts.good,
        4 if tenant == "acme" else 3,
        0,
    )
    assert reasons(accounts) == {("required", "name"): data.accounts.total_spoiled}
    # Without a core database nothing can be referenced: a run would reject the unknown
    # accounts, the dry run says it did not check them.
    unknown = data.contacts.spoiled["unknown_account"]
    assert counts(contacts) == (
        data.contacts.records,
        data.contacts.good + unknown,
        data.contacts.total_spoiled - unknown,
        0,
    )
    assert contacts.references == "not checked: the core database does not exist yet"
    assert ("reference", "account_id") not in reasons(contacts)
    assert reasons(contacts)[("malformed", None)] == data.contacts.spoiled["malformed"]
    assert (accounts.starts_from, contacts.more) == ("the start (read: full)", False)


def test_after_a_run_the_dry_run_predicts_the_next_runs_counts_and_reasons_exactly(
    demo: DemoProject,
) -> None:
    run_integration(load_project(demo.root), "acme-crm", RunSettings())
    before = digest(demo.root)
    report = sampled(demo.root, "acme-crm", sample=10_000)
    assert digest(demo.root) == before

    again = run_integration(load_project(demo.root), "acme-crm", RunSettings())
    for predicted, ran in zip(report.streams, again.streams, strict=True):
        assert counts(predicted) == (ran.records_read, ran.loaded, ran.rejected, ran.skipped)
    contacts = report.streams[1]
    assert contacts.would_skip == 24  # older versions of contacts the core already holds
    expected = {(r.rule, r.field): r.count for r in again.reasons}
    assert reasons(report.streams[0]) | reasons(contacts) == expected
    assert contacts.references == (
        "checked read-only against the core database, and the rows earlier streams of this "
        "sample would load"
    )


def test_the_sample_stops_at_n_records_per_stream_and_says_there_are_more(
    demo: DemoProject,
) -> None:
    report = sampled(demo.root, "acme-crm", sample=7)
    assert [(s.records_read, s.more) for s in report.streams] == [(7, True), (7, True)]
    assert report.streams[1].drift.how == "the first 7 records of contacts.jsonl"


def test_a_cut_batch_keeps_its_first_records_good_and_malformed_in_source_order() -> None:
    batch = SourceBatch(
        records=pa.table({"Id": ["1", "2", "4", "5"]}),
        positions=pa.array([1, 2, 4, 5], pa.int64()),
        origin="contacts.jsonl",
        checkpoint=None,
        malformed=(MalformedRecord("contacts.jsonl", 3, "{", "not valid JSON"),),
    )
    cut = first_records(batch, 3)
    assert cut.records.column("Id").to_pylist() == ["1", "2"]
    assert cut.positions.to_pylist() == [1, 2]
    assert [m.position for m in cut.malformed] == [3]
    assert first_records(batch, 2).malformed == ()


def test_one_stream_can_be_sampled_and_an_unknown_one_is_refused_naming_the_streams(
    demo: DemoProject,
) -> None:
    report = sampled(demo.root, "acme-crm", stream="accounts")
    assert [s.mapping for s in report.streams] == ["accounts"]
    with pytest.raises(NotFoundError) as refused:
        sampled(demo.root, "acme-crm", stream="leads")
    assert refused.value.message == "integration 'acme-crm' has no stream 'leads'"
    assert refused.value.hint == "its streams: accounts, contacts"


def test_an_unknown_integration_is_refused_naming_the_known_ones(demo: DemoProject) -> None:
    with pytest.raises(NotFoundError) as refused:
        sampled(demo.root, "nope")
    assert refused.value.hint == "integrations in this project: acme-crm, globex-crm, initech-crm"


def test_an_integration_that_does_not_validate_is_refused_before_reading(
    demo: DemoProject,
) -> None:
    path = demo.root / "integrations/acme/crm.yaml"
    broken = "overrides:\n  mappings: {contacts: {fields: {phone: no_such_function(Phone)}}}\n"
    path.write_text(path.read_text(encoding="utf-8").replace("overrides:\n", broken))
    with pytest.raises(ValidationFailedError) as refused:
        sampled(demo.root, "acme-crm")
    assert refused.value.message == "integration 'acme-crm' does not validate; nothing was run"
    assert [d.code for d in refused.value.diagnostics] == ["unknown-function"]


def test_a_source_error_is_reported_on_its_stream_with_its_hint(demo: DemoProject) -> None:
    (demo.root / "data/acme/contacts.jsonl").unlink()
    report = sampled(demo.root, "acme-crm")
    accounts, contacts = report.streams
    assert report.failed
    assert accounts.error is None
    assert contacts.error == (
        f"stream contacts: no file matches 'contacts.jsonl' in {demo.root / 'data/acme'}"
    )
    assert contacts.hint == (
        "check the stream's path and the connection's root, or put the export there"
    )
    assert contacts.drift.how == "not observed: the source could not be read"


def test_drift_names_undeclared_fields_absent_ones_and_those_always_null(
    demo: DemoProject,
) -> None:
    path = demo.root / "data/acme/accounts.jsonl"
    records = pl.read_ndjson(path)
    spoiled = records.drop("CreatedDate").with_columns(
        pl.lit(None, pl.String).alias("Industry"), pl.lit("x.example").alias("Website")
    )
    spoiled.write_ndjson(path)
    drift = sampled(demo.root, "acme-crm", stream="accounts").streams[0].drift
    assert drift.observed
    assert (drift.undeclared, drift.absent, drift.always_null) == (
        ("Website",),
        ("CreatedDate",),
        ("Industry",),
    )


def test_personal_data_is_masked_in_rejection_examples_and_mapped_rows(
    demo: DemoProject,
) -> None:
    report = sampled(demo.root, "acme-crm", rows_shown=2)
    contacts = report.streams[1]
    pattern = next(r for r in contacts.reasons if r.rule == "pattern")
    line = int(pattern.example_at.rsplit(":", 1)[1])
    raw = (demo.root / "data/acme/contacts.jsonl").read_text(encoding="utf-8").splitlines()
    email = json.loads(raw[line - 1])["Email"]
    assert pattern.example_value == f"{email.strip().lower()[:1]}***@***"
    assert len(contacts.rows) == 2
    shown = json.dumps(asdict(report), default=str)
    for record in map(json.loads, raw[:50]):
        assert record["Email"] is None or record["Email"] not in shown
    assert all(row["email"] is None or "***" in str(row["email"]) for row in contacts.rows)


def test_an_incremental_stream_samples_from_its_committed_checkpoint(demo: DemoProject) -> None:
    template = demo.root / "templates/crm-contacts-2.1.0.yaml"
    text = template.read_text(encoding="utf-8")
    marker = "    entity: customer\n    read: full"
    template.write_text(text.replace(marker, "    entity: customer\n    read: incremental"))
    first = sampled(demo.root, "acme-crm", stream="contacts").streams[0]
    assert first.starts_from == ("the start: no checkpoint (the core database does not exist yet)")
    ran = run_integration(load_project(demo.root), "acme-crm", RunSettings())

    after = sampled(demo.root, "acme-crm", stream="contacts").streams[0]
    assert after.starts_from == (
        f"the checkpoint committed by run {ran.run_id}: 1 file(s) already read"
    )
    assert counts(after) == (0, 0, 0, 0)


@pytest.fixture
def initech(demo: DemoProject) -> Iterator[MockCrm]:
    api = demo.api
    crm = MockCrm(port=0, seed=api.seed, accounts=api.accounts, contacts=api.contacts).start()
    path = demo.root / "integrations/initech/crm.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(":8787", f":{crm.port}"))
    yield crm
    crm.stop()


def test_a_rest_integration_is_sampled_over_http_with_exact_counts_and_drift(
    demo: DemoProject, initech: MockCrm
) -> None:
    report = sampled(demo.root, "initech-crm", sample=1000, clock=FakeClock())
    expected = json.loads((demo.root / "data/initech/generator-report.json").read_text())
    accounts, contacts = report.streams
    assert counts(accounts) == (40, 39, 1, 0)
    unknown = expected["contacts"]["spoiled"]["unknown_account"]
    assert counts(contacts) == (
        expected["contacts"]["records"],
        expected["contacts"]["good"] + unknown,
        expected["contacts"]["total_spoiled"] - unknown,
        0,
    )
    assert contacts.drift.undeclared == ("Tags",)
    assert contacts.drift.how == "the first 400 records of 4 page(s) of GET /contacts"
    assert all(r.method == "GET" for r in initech.requests)
    assert not (demo.root / ".isthmus").exists()


def test_an_unreachable_api_is_a_stream_error_with_its_hint(demo: DemoProject) -> None:
    path = demo.root / "integrations/initech/crm.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(":8787", ":9"))
    clock = FakeClock()
    report = sampled(demo.root, "initech-crm", stream="accounts", clock=clock)
    stream = report.streams[0]
    assert report.failed
    assert stream.error_class == "transient"
    assert stream.error == (
        "stream accounts page 1: GET http://127.0.0.1:9/accounts?limit=100 failed: "
        "ConnectError, still after 6 tries"
    )
    assert stream.hint == "the API is unavailable or limits requests; the run can be retried later"
    assert clock.sleeps  # the retries waited on the dry run's clock, not the wall's


def test_a_webhook_stream_samples_stored_events_read_only_from_its_checkpoint(
    tmp_path: Path,
) -> None:
    root = write_hook_project(tmp_path)
    store = StateStore.open(f"sqlite:///{root / '.isthmus/state.db'}")
    bodies = [
        {"id": "1", "email": "Ann@Example.com", "age": "41", "phone": "1"},
        {"id": "2", "email": "bob@example.com", "age": "old"},
        {"id": "3", "email": "cy@example.com", "age": "7"},
    ]
    for number, body in enumerate(bodies, start=1):
        store.add_event(
            tenant="acme",
            integration="acme-hooks",
            stream="contacts",
            event_id=f"e{number}",
            body=json.dumps(body),
            received_at=NOW,
        )
    store.close()
    before = digest(root)
    report = sampled(root, "acme-hooks", environ=ENVIRON)
    assert digest(root) == before
    assert not (root / ".isthmus/core.db").exists()
    contacts = report.streams[0]
    assert counts(contacts) == (3, 2, 1, 0)
    assert reasons(contacts) == {("to_int", "age"): 1}
    assert contacts.drift.how == "the payloads of 3 stored event(s) after #0"
    assert (contacts.drift.undeclared, contacts.drift.absent) == (("phone",), ("address",))

    ran = run_integration(load_project(root), "acme-hooks", RunSettings(environ=ENVIRON))
    after = sampled(root, "acme-hooks", environ=ENVIRON, sample=1).streams[0]
    assert after.starts_from == (f'the checkpoint committed by run {ran.run_id}: {{"after": 3}}')
    assert (counts(after), after.more) == ((0, 0, 0, 0), False)


def test_the_report_says_when_a_run_would_fail_on_the_templates_limits(
    demo: DemoProject,
) -> None:
    template = demo.root / "templates/crm-contacts-2.1.0.yaml"
    text = template.read_text(encoding="utf-8")
    text = text.replace("max_rejected_fraction: 0.05", "max_rejected_fraction: 0.02")
    template.write_text(text.replace("schema_drift: ignore", "schema_drift: fail"))
    accounts, contacts = sampled(demo.root, "acme-crm", sample=10_000).streams
    assert accounts.notes == (
        "a run would fail: the sample rejects 2.7% of its records, more than the 2.0% "
        "sync.max_rejected_fraction allows",
    )
    assert contacts.would_reject / contacts.records_read < 0.02
    assert contacts.notes == ("a run would fail: sync.schema_drift is fail and the sample drifts",)


def test_refused_credentials_are_a_stream_error_naming_the_secret_to_check(
    demo: DemoProject, initech: MockCrm
) -> None:
    (demo.root / demo.api.token_file).write_text("not-the-token\n", encoding="utf-8")
    stream = sampled(demo.root, "initech-crm", stream="accounts", clock=FakeClock()).streams[0]
    assert stream.error_class == "auth"
    assert stream.error == (
        f"stream accounts page 1: GET http://127.0.0.1:{initech.port}/accounts?limit=100 "
        'answered 401 Unauthorized: {"error": "missing or invalid credentials"}'
    )
    assert stream.hint == "check the credentials of secret crm_token"
    assert (stream.records_read, stream.rows) == (0, ())


def test_a_connector_without_a_sampler_is_reported_as_not_observed() -> None:
    assert not_observed("memory") == DriftSample(
        False, "not observed: the memory connector has no sampler of raw fields"
    )


@pytest.mark.parametrize(("sample", "more"), [(149, True), (150, False), (151, False)])
def test_more_says_whether_the_source_has_records_past_the_sample(
    demo: DemoProject, sample: int, more: bool
) -> None:
    accounts = sampled(demo.root, "acme-crm", stream="accounts", sample=sample).streams[0]
    assert (accounts.records_read, accounts.more) == (min(sample, 150), more)
