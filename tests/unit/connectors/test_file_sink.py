"""The file write-back: a target's core rows written as one file (CSV, JSON Lines, Parquet),
renamed into place whole or not at all, its checkpoint saved only once the file is there."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from isthmus.config import load_project
from isthmus.config.writeback import WriteBackTarget
from isthmus.connectors.errors import DestinationError, UnsafePathError
from isthmus.connectors.files import FileConnection
from isthmus.connectors.filesink import FileSink, FileSinkOptions
from isthmus.connectors.registry import WRITEBACK, WriteBackConnector
from isthmus.connectors.writeback import FinishingSink, Outgoing, SinkContext
from isthmus.errors import TerminalError
from isthmus.execution import RunSettings, database_urls, run_integration
from isthmus.store import RunStatus, StateStore, StreamStatus
from isthmus.testing import FakeClock
from isthmus.testing.sinks import SinkUnavailableError
from isthmus.validation import validate_project
from support import edit_yaml, write_jsonl

COLUMNS = pa.schema(
    [("Id", pa.string()), ("Name", pa.string()), ("Score", pa.float64()), ("Vip", pa.bool_())]
)
BODIES = [
    {"Id": "p1", "Name": 'Ann "A", Jr.', "Score": 1.5, "Vip": True},
    {"Id": "p2", "Name": "Bøb\nline two", "Score": None, "Vip": False},
    {"Id": "p3", "Name": None, "Score": -0.1, "Vip": None},
]


def file_sink(root: Path, file_format: str, **csv: str) -> FileSink:
    return FileSink(
        SinkContext(
            options=FileSinkOptions.model_validate({"format": file_format, "csv": csv}),
            connection=FileConnection(root="exports"),
            target=WriteBackTarget.model_validate(
                {"entity": "person", "read": "full", "path": "/out.x", "fields": {"Id": "id"}}
            ),
            project_root=root,
            columns=COLUMNS,
        )
    )


def outgoing(bodies: list[dict[str, Any]], path: str) -> list[Outgoing]:
    return [Outgoing(i, path, body, f"key-{i}") for i, body in enumerate(bodies)]


def read_back(path: Path, file_format: str, **csv: Any) -> list[dict[str, Any]]:
    schema = dict(zip(COLUMNS.names, pl.from_arrow(COLUMNS.empty_table()).dtypes, strict=True))
    if file_format == "csv":
        return pl.read_csv(path, schema=schema, **csv).to_dicts()
    if file_format == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    table = pq.read_table(path)
    assert table.schema == COLUMNS
    return table.to_pylist()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*tmp-*"))


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_each_format_is_written_in_batches_and_reads_back_exactly(
    tmp_path: Path, file_format: str
) -> None:
    sink = file_sink(tmp_path, file_format)
    assert isinstance(sink, FinishingSink)
    first = sink.deliver(outgoing(BODIES[:2], "/drops/people.out"))
    second = sink.deliver(outgoing(BODIES[2:], "/drops/people.out"))
    target = tmp_path / "exports/drops/people.out"
    assert not target.exists()  # nothing is visible before finish()
    sink.finish()
    sink.close()
    assert [(d.delivered, d.status) for d in first + second] == [(True, None)] * 3
    assert read_back(target, file_format) == BODIES
    assert leftovers(tmp_path) == []


def test_parquet_writes_one_row_group_per_batch(tmp_path: Path) -> None:
    sink = file_sink(tmp_path, "parquet")
    for body in BODIES:
        sink.deliver(outgoing([body], "/p.parquet"))
    sink.finish()
    assert pq.ParquetFile(tmp_path / "exports/p.parquet").num_row_groups == 3


def test_csv_options_shape_the_written_file(tmp_path: Path) -> None:
    sink = file_sink(tmp_path, "csv", delimiter=";", quote="'", encoding="utf-8-sig")
    sink.deliver(outgoing(BODIES[:1], "/c.csv"))
    sink.deliver(outgoing(BODIES[1:], "/c.csv"))
    sink.finish()
    raw = (tmp_path / "exports/c.csv").read_bytes()
    assert raw.count(b"\xef\xbb\xbf") == 1  # the byte-order mark once, not once per batch
    assert raw.startswith(b"\xef\xbb\xbfId;Name;Score;Vip\n")
    rows = read_back(tmp_path / "exports/c.csv", "csv", separator=";", quote_char="'")
    assert rows == BODIES


def test_close_without_finish_discards_the_file_and_keeps_the_previous_one(
    tmp_path: Path,
) -> None:
    previous = tmp_path / "exports/people.jsonl"
    previous.parent.mkdir(parents=True)
    previous.write_text('{"Id": "old"}\n', encoding="utf-8")
    sink = file_sink(tmp_path, "jsonl")
    sink.deliver(outgoing(BODIES, "/people.jsonl"))
    assert len(leftovers(tmp_path)) == 1  # a dot-name beside the target while writing
    sink.close()
    assert previous.read_text(encoding="utf-8") == '{"Id": "old"}\n'
    assert leftovers(tmp_path) == []


def test_a_path_leaving_the_root_is_refused_when_writing(tmp_path: Path) -> None:
    sink = file_sink(tmp_path, "jsonl")
    with pytest.raises(UnsafePathError, match="leads outside"):
        sink.deliver(outgoing(BODIES, "/../escape.jsonl"))
    sink.close()
    assert not (tmp_path / "escape.jsonl").exists()


# --- a real integration writing back to a file --------------------------------------------

FILE_WRITEBACK = {
    "connector": "file",
    "options": {"format": "csv"},
    "targets": {
        "people_out": {
            "entity": "person",
            "read": "incremental",
            "cursor_field": "updated_at",
            "path": "/people.csv",
            "fields": {"Id": "person_id", "Name": "upper(name)", "Age": "age"},
        }
    },
}


def people(*rows: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [
        {"id": pid, "name": name, "age": "40", "team": None, "changed": changed}
        for pid, name, changed in rows
    ]


@pytest.fixture
def project(tiny: Path) -> Path:
    """tiny, where people carry a change time and the template writes them to a CSV file."""
    edit_yaml(
        tiny / "core/person.yaml", lambda d: d["fields"].update(updated_at={"type": "timestamp"})
    )

    def template(d: dict[str, Any]) -> None:
        d["streams"]["people"]["schema"].update(changed="string")
        d["mappings"]["people"]["fields"].update(updated_at="parse_timestamp(changed)")
        d["writeback"] = json.loads(json.dumps(FILE_WRITEBACK))

    edit_yaml(tiny / "templates/people.yaml", template)
    edit_yaml(
        tiny / "integrations/a.yaml",
        lambda d: d.update(connection={"root": "data/a", "writeback": {"root": "exports"}}),
    )
    (tiny / "integrations/b.yaml").unlink()
    write_jsonl(
        tiny / "data/a/people.jsonl",
        people(
            ("p1", "Ann", "2026-01-01T10:00:00Z"),
            ("p2", "Bob", "2026-01-01T11:00:00Z"),
            ("p3", "Cy", "2026-01-01T12:00:00Z"),
        ),
    )
    return tiny


def run(root: Path, **settings: Any) -> Any:
    return run_integration(
        load_project(root), "a-people", RunSettings(clock=FakeClock(), batch_size=1, **settings)
    )


def checkpoint(root: Path) -> dict[str, Any] | None:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return store.checkpoint("a-people", "writeback:people_out")
    finally:
        store.close()


def deliveries(root: Path, run_id: int) -> list[tuple[str, str, bool, int | None]]:
    store = StateStore.open(database_urls(load_project(root)).state)
    try:
        return sorted(
            (d.record_key, d.path, d.delivered, d.status) for d in store.deliveries_of(run_id)
        )
    finally:
        store.close()


def csv_rows(path: Path) -> list[tuple[Any, ...]]:
    return pl.read_csv(path).rows()


def out(report: Any) -> Any:
    return next(s for s in report.streams if s.mapping == "people_out")


class DiskGoneError(DestinationError, TerminalError):
    pass


def building_with(connector: WriteBackConnector, factory: type[FileSink]) -> WriteBackConnector:
    """The connector, building its sink with ``factory``."""
    parts = dataclasses.replace(connector.parts, factory=factory)
    return dataclasses.replace(connector, load=lambda: parts)


def failing_on_second_batch(error: type[Exception]) -> type[FileSink]:
    """A file sink whose second deliver() raises ``error`` (once, for a transient one)."""
    failures = {"left": 1}

    class Failing(FileSink):
        def __init__(self, context: SinkContext) -> None:
            super().__init__(context)
            self.calls = 0

        def deliver(self, records: Any) -> Any:
            self.calls += 1
            if self.calls == 2 and failures["left"]:
                if error is SinkUnavailableError:
                    failures["left"] = 0
                raise error("the disk went away mid-target")
            return super().deliver(records)

    return Failing


def test_a_successful_target_puts_the_file_in_place_and_advances_the_checkpoint(
    project: Path,
) -> None:
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED
    assert (out(report).records_read, out(report).loaded) == (3, 3)
    assert csv_rows(project / "exports/people.csv") == [
        ("p1", "ANN", 40),
        ("p2", "BOB", 40),
        ("p3", "CY", 40),
    ]
    assert checkpoint(project) == {"after": ["2026-01-01T12:00:00+00:00", "p3"]}
    assert deliveries(project, report.run_id) == [
        (f"p{i}", "/people.csv", True, None) for i in (1, 2, 3)
    ]
    assert leftovers(project) == []


def test_a_failed_target_leaves_no_file_and_keeps_the_previous_one_and_the_checkpoint(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(project).status is RunStatus.SUCCEEDED
    before = (project / "exports/people.csv").read_bytes()
    saved = checkpoint(project)
    write_jsonl(
        project / "data/a/people.jsonl",
        people(("p4", "Di", "2026-01-02T10:00:00Z"), ("p5", "Ed", "2026-01-02T11:00:00Z")),
    )
    connector = WRITEBACK["file"]
    monkeypatch.setitem(
        WRITEBACK,
        "file",
        building_with(connector, failing_on_second_batch(DiskGoneError)),
    )
    report = run(project)
    assert report.status is RunStatus.FAILED
    assert out(report).status is StreamStatus.FAILED
    assert (project / "exports/people.csv").read_bytes() == before
    assert leftovers(project) == []
    assert checkpoint(project) == saved
    assert deliveries(project, report.run_id) == []  # the first batch's records count for nothing
    monkeypatch.undo()
    again = run(project)  # the next run writes what the failed one did not
    assert (again.status, out(again).records_read) == (RunStatus.SUCCEEDED, 2)
    assert [r[0] for r in csv_rows(project / "exports/people.csv")] == ["p4", "p5"]


def test_a_retried_target_counts_each_record_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = WRITEBACK["file"]
    flaky = failing_on_second_batch(SinkUnavailableError)
    monkeypatch.setitem(WRITEBACK, "file", building_with(connector, flaky))
    report = run(project)
    assert report.status is RunStatus.SUCCEEDED
    assert (out(report).records_read, out(report).loaded) == (3, 3)  # not the failed try's too
    assert len(csv_rows(project / "exports/people.csv")) == 3
    assert leftovers(project) == []


def test_run_id_and_date_placeholders_name_the_file(project: Path) -> None:
    def dated(d: dict[str, Any]) -> None:
        d["writeback"]["options"] = {"format": "jsonl"}
        d["writeback"]["targets"]["people_out"]["path"] = "/{date}/people-{run_id}.jsonl"

    edit_yaml(project / "templates/people.yaml", dated)
    clock = FakeClock(dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC))
    report = run_integration(
        load_project(project), "a-people", RunSettings(clock=clock, batch_size=2)
    )
    assert report.status is RunStatus.SUCCEEDED
    written = project / f"exports/2026-03-04/people-{report.run_id}.jsonl"
    lines = written.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["Id"] for line in lines] == ["p1", "p2", "p3"]


def diagnostics(project: Path, change: Any) -> list[str]:
    edit_yaml(project / "templates/people.yaml", change)
    return [d.message for d in validate_project(load_project(project)) if d.is_error]


def target(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["writeback"]["targets"]["people_out"]
    return found


def test_the_template_writing_to_a_file_validates(project: Path) -> None:
    assert diagnostics(project, lambda d: None) == []


def test_a_path_leaving_the_root_is_diagnosed(project: Path) -> None:
    messages = diagnostics(project, lambda d: target(d).update(path="/../../etc/people.csv"))
    assert messages == [
        "write-back target 'people_out': path '/../../etc/people.csv' leads outside the "
        "connection's root"
    ]


def test_an_unknown_placeholder_is_diagnosed(project: Path) -> None:
    messages = diagnostics(project, lambda d: target(d).update(path="/{Id}-{date}.csv"))
    assert messages == [
        "write-back target 'people_out': path '/{Id}-{date}.csv' uses {Id}; a file path may "
        "use only {run_id}, {date}"
    ]


def test_batch_on_a_file_target_is_diagnosed(project: Path) -> None:
    messages = diagnostics(project, lambda d: target(d).update(batch={"path": "/b"}))
    assert messages == [
        "write-back target 'people_out' sets batch, which a file target does not have: the "
        "whole target is written as one file"
    ]


def test_a_bad_format_is_diagnosed(project: Path) -> None:
    messages = diagnostics(project, lambda d: d["writeback"]["options"].update(format="xlsx"))
    assert len(messages) == 1
    assert "format" in messages[0]
    assert "'csv', 'jsonl' or 'parquet'" in messages[0]


def test_a_file_write_back_must_name_its_own_folder(project: Path) -> None:
    # Falling back to the source's folder would have the next run read the drop back in.
    edit_yaml(project / "integrations/a.yaml", lambda d: d.update(connection={"root": "data/a"}))
    found = [d for d in validate_project(load_project(project)) if d.is_error]
    assert [(d.code, d.message) for d in found] == [
        (
            "missing-connection",
            "integration 'a-people': its template writes back through connector 'file', but "
            "the integration says nowhere how to reach it",
        )
    ]
    assert found[0].hint == "add connection.writeback with the file connector's connection settings"
