"""Write-back: core rows of the tenant mapped and sent to the external system, at least once,
with idempotency keys, refused records quarantined with the far side's answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from isthmus.config import load_project
from isthmus.connectors.rest.errors import RestAuthError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore, StreamStatus
from isthmus.testing import FakeClock, MemorySink
from isthmus.validation import validate_project
from support import edit_yaml, sqlite_content, write_jsonl

ENVIRON = {"CRM_TOKEN": "token-for-tests"}
WRITEBACK = {
    "connector": "rest",
    "options": {"auth": {"type": "bearer", "token": "${secret:crm_token}"}},
    "targets": {
        "people_out": {
            "entity": "person",
            "read": "incremental",
            "cursor_field": "updated_at",
            "method": "PUT",
            "path": "/people/{Id}",
            "fields": {
                "Id": "person_id",
                "Name": "upper(name)",
                "Age": "age",
                "Changed": "updated_at",
                "Code": "to_int(code)",
            },
        }
    },
}


def people(*rows: tuple[str, str, str, str]) -> list[dict[str, Any]]:
    return [
        {"id": pid, "name": name, "age": "40", "team": None, "changed": changed, "code": code}
        for pid, name, changed, code in rows
    ]


@pytest.fixture
def project(tiny: Path) -> Path:
    """tiny, where people carry a change time and a code, and the template writes them back."""
    edit_yaml(
        tiny / "core/person.yaml",
        lambda d: d["fields"].update(updated_at={"type": "timestamp"}, code={"type": "string"}),
    )

    def template(d: dict[str, Any]) -> None:
        d["streams"]["people"]["schema"].update(changed="string", code="string")
        d["mappings"]["people"]["fields"].update(updated_at="parse_timestamp(changed)", code="code")
        d["writeback"] = WRITEBACK
        d["sync"]["max_rejected_fraction"] = 1.0

    edit_yaml(tiny / "templates/people.yaml", template)
    edit_yaml(
        tiny / "integrations/a.yaml",
        lambda d: d.update(
            connection={
                "root": "data/a",
                "writeback": {"base_url": "http://127.0.0.1:9"},
                "secrets": {"crm_token": "env:CRM_TOKEN"},
            }
        ),
    )
    (tiny / "integrations/b.yaml").unlink()
    write_jsonl(
        tiny / "data/a/people.jsonl",
        people(
            ("p1", "Ann", "2026-01-01T10:00:00Z", "1"),
            ("p2", "Bob", "2026-01-01T11:00:00Z", "x"),  # to_int(code) fails: quarantined
            ("p3", "Cy", "2026-01-01T11:00:00Z", "3"),
        ),
    )
    return tiny


def run(root: Path, sink: MemorySink, **settings: Any):  # type: ignore[no-untyped-def]
    return run_integration(
        load_project(root),
        "a-people",
        RunSettings(sink=sink, environ=ENVIRON, clock=FakeClock(), **settings),
    )


def stream(report: Any, name: str) -> Any:
    return next(s for s in report.streams if s.mapping == name)


def test_the_template_with_write_back_validates(project: Path) -> None:
    assert [d for d in validate_project(load_project(project)) if d.is_error] == []


def test_rows_are_mapped_and_sent_and_a_failed_call_is_quarantined(project: Path) -> None:
    sink = MemorySink()
    report = run(project, sink)
    assert report.status is RunStatus.SUCCEEDED
    out = stream(report, "people_out")
    assert (out.records_read, out.loaded, out.rejected, out.status) == (
        3,
        2,
        1,
        StreamStatus.SUCCEEDED,
    )
    assert out.stream == "writeback:people_out"
    assert sorted((b["Id"], b["Name"], b["Code"]) for b in sink.bodies()) == [
        ("p1", "ANN", 1),
        ("p3", "CY", 3),
    ]
    assert {r.path for r in sink.received} == {"/people/p1", "/people/p3"}
    assert sink.bodies()[0]["Changed"] == "2026-01-01T10:00:00.000000Z"
    assert [(r.rule, r.field, r.count) for r in report.reasons] == [("to_int", "Code", 1)]


def test_an_incremental_write_back_sends_only_rows_changed_since_the_last_one(
    project: Path,
) -> None:
    sink = MemorySink()
    run(project, sink)
    assert run(project, sink).streams[-1].records_read == 0  # nothing changed
    write_jsonl(
        project / "data/a/people.jsonl",
        people(("p1", "Ann B", "2026-01-02T09:00:00Z", "1")),
    )
    again = run(project, sink)
    assert stream(again, "people_out").records_read == 1
    assert sink.received[-1].body["Name"] == "ANN B"


def test_a_run_that_fails_mid_write_back_resends_without_duplicates(project: Path) -> None:
    write_jsonl(
        project / "data/a/people.jsonl",
        people(*((f"p{i}", f"N{i}", f"2026-01-01T10:00:{i:02d}Z", str(i)) for i in range(7))),
    )
    # Batches of 2: the first two are delivered and checkpointed, the third fails after
    # its first record, so the retry sends that record again.
    sink = MemorySink(fail_after=5)
    report = run(project, sink, batch_size=2)
    assert report.status is RunStatus.SUCCEEDED  # the transient failure was retried
    assert len(sink.stored) == 7  # every record once on the far side
    assert sink.replays == 1  # p4 came again, with the same key
    out = stream(report, "people_out")
    assert (out.records_read, out.loaded, out.inserted, out.rejected) == (7, 7, 6, 0)


def test_records_the_far_side_refuses_are_quarantined_with_its_answer(project: Path) -> None:
    sink = MemorySink(refuse=lambda body: "Name must not be CY" if body["Name"] == "CY" else None)
    report = run(project, sink)
    out = stream(report, "people_out")
    assert (out.loaded, out.rejected) == (1, 2)
    store = StateStore.open(database_urls(load_project(project)).state)
    try:
        refused = [e for e in store.quarantine_entries(report.run_id) if e.rule == "refused"]
        deliveries = store.deliveries_of(report.run_id)
    finally:
        store.close()
    assert [(e.record_id, e.value) for e in refused] == [("p3", "422")]
    assert "Name must not be CY" in refused[0].message
    assert json.loads(refused[0].record)["person_id"] == "p3"
    assert sorted((d.record_key, d.delivered, d.status) for d in deliveries) == [
        ("p1", True, 201),
        ("p3", False, 422),
    ]


def test_a_write_back_is_skipped_when_the_streams_do_not_commit(project: Path) -> None:
    edit_yaml(
        project / "templates/people.yaml", lambda d: d["sync"].update(max_rejected_fraction=0.1)
    )
    write_jsonl(  # one row in two is rejected on the way in: the run fails its threshold
        project / "data/a/people.jsonl",
        people(("p1", "Ann", "2026-01-01T10:00:00Z", "1"), ("p2", "Bob", "not a time", "2")),
    )
    sink = MemorySink()
    report = run(project, sink)
    assert report.status is RunStatus.FAILED
    assert stream(report, "people_out").status is StreamStatus.SKIPPED
    assert sink.received == []


def test_an_unknown_placeholder_and_an_unknown_entity_are_diagnosed(project: Path) -> None:
    def broken(d: dict[str, Any]) -> None:
        target = d["writeback"]["targets"]["people_out"]
        target["path"] = "/people/{Missing}"
        d["writeback"]["targets"]["ghosts"] = {**target, "entity": "ghost", "path": "/g"}

    edit_yaml(project / "templates/people.yaml", broken)
    codes = {d.code for d in validate_project(load_project(project)) if d.is_error}
    assert {"unknown-field", "unknown-entity"} <= codes


class RefusingCredentials(MemorySink):
    def deliver(self, records: Any) -> Any:
        raise RestAuthError(
            "write-back PUT /people/p1 answered 401 Unauthorized",
            hint="check the credentials of secret crm_token",
        )


def test_a_write_back_that_cannot_send_fails_the_run_and_keeps_the_loaded_rows(
    project: Path,
) -> None:
    report = run(project, RefusingCredentials())
    assert (report.status, report.committed) == (RunStatus.FAILED, True)
    assert report.error_class == "auth"
    assert report.hint == "check the credentials of secret crm_token"
    assert stream(report, "people").status is StreamStatus.SUCCEEDED
    assert stream(report, "people_out").status is StreamStatus.FAILED
    rows = sqlite_content(project / ".isthmus/core.db")["person"]
    assert len(rows) == 3
    sink = MemorySink()  # the credentials fixed: the next run sends what was not sent
    assert run(project, sink).status is RunStatus.SUCCEEDED
    assert sorted(r.path for r in sink.received) == ["/people/p1", "/people/p3"]  # p2: to_int
