"""Quarantined records for people: list, export and purge them, personal data masked.

The state store keeps each rejected record as it arrived, so it can be replayed. Everything
here shows records through the project's :class:`PiiPolicy`; only ``policy=None`` (the
command line's explicit ``--unmasked``) shows them as stored. Listing and export run in id
order, oldest first. An export pages through the store by id, so memory stays bounded
whatever the quarantine holds, and a file export appears whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Final, TextIO

from isthmus.errors import ErrorClass, NotFoundError, TerminalError
from isthmus.observability.masking import PiiPolicy
from isthmus.store import QuarantineEntry, QuarantineFilter, QuarantineStatus, StateStore

PAGE_SIZE: Final = 1000
ORDER: Final = "oldest first"


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


class ExportError(TerminalError):
    """An export cannot be written where it was asked to go; nothing was written there."""

    error_class = ErrorClass.CONFIG


class PurgeRefusedError(TerminalError):
    """A purge without a bound or without confirmation; nothing was deleted."""

    error_class = ErrorClass.CONFIG


@dataclass(frozen=True)
class Selection:
    """Which quarantined records a user asked for; ``status=None`` selects every status."""

    integration: str | None = None
    run_id: int | None = None
    rule: str | None = None
    field: str | None = None
    status: QuarantineStatus | None = QuarantineStatus.OPEN
    older_than: dt.timedelta | None = None

    @property
    def status_label(self) -> str:
        return "all" if self.status is None else self.status.value


@dataclass(frozen=True)
class ShownEntry:
    """A quarantined record as it may be shown: value and record masked unless asked not to.

    The fields are the columns of an export, in order.
    """

    id: int
    run_id: int
    integration: str
    tenant: str
    mapping: str
    stream: str
    entity: str
    origin: str
    position: int
    record_id: str | None
    rule: str
    field: str | None
    value: str | None
    message: str
    record: str
    created_at: dt.datetime
    status: str
    resolved_run_id: int | None

    def to_dict(self) -> dict[str, str | int | None]:
        row = {name: getattr(self, name) for name in EXPORT_COLUMNS}
        row["created_at"] = self.created_at.isoformat()
        return row


EXPORT_COLUMNS: Final = tuple(f.name for f in fields(ShownEntry))


@dataclass(frozen=True)
class QuarantineListing:
    entries: tuple[ShownEntry, ...]
    total: int  # how many records the selection holds; ``entries`` holds at most ``limit``
    limit: int
    status: str
    masked: bool
    order: str = ORDER

    def to_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "shown": len(self.entries),
            "limit": self.limit,
            "status": self.status,
            "order": self.order,
            "masked": self.masked,
            "records": [e.to_dict() for e in self.entries],
        }


@dataclass(frozen=True)
class PurgeResult:
    selected: int  # how many records the selection held
    deleted: int
    dry_run: bool


def store_filter(store: StateStore, selection: Selection, *, now: dt.datetime) -> QuarantineFilter:
    """The store's filter for a selection; NotFoundError when it names a run that never was."""
    if selection.run_id is not None and store.get_run(selection.run_id) is None:
        raise NotFoundError(
            f"no run {selection.run_id} in the state store",
            hint="`isthmus runs` lists recent runs and their ids",
        )
    cutoff = now - selection.older_than if selection.older_than is not None else None
    return QuarantineFilter(
        integration=selection.integration,
        run_id=selection.run_id,
        rule=selection.rule,
        field=selection.field,
        status=selection.status,
        older_than=cutoff,
    )


def shown_entry(entry: QuarantineEntry, policy: PiiPolicy | None) -> ShownEntry:
    """``entry`` masked by ``policy``; ``None`` shows it as stored (explicitly unmasked)."""
    assert entry.id is not None, "entries read from the store have ids"
    value, record = entry.value, entry.record
    if policy is not None:
        value, record = policy.shown_value(entry), policy.shown_record(entry)
    return ShownEntry(
        id=entry.id,
        run_id=entry.run_id,
        integration=entry.integration,
        tenant=entry.tenant,
        mapping=entry.mapping,
        stream=entry.stream,
        entity=entry.entity,
        origin=entry.origin,
        position=entry.position,
        record_id=entry.record_id,
        rule=entry.rule,
        field=entry.field,
        value=value,
        message=entry.message,
        record=record,
        created_at=entry.created_at,
        status=entry.status,
        resolved_run_id=entry.resolved_run_id,
    )


def list_quarantine(
    store: StateStore,
    selection: Selection,
    policy: PiiPolicy | None,
    *,
    limit: int,
    now: dt.datetime,
) -> QuarantineListing:
    """The first ``limit`` selected records, oldest first, and how many there are in all."""
    where = store_filter(store, selection, now=now)
    found = store.find_quarantine(where, limit=limit)
    return QuarantineListing(
        entries=tuple(shown_entry(e, policy) for e in found),
        total=store.count_quarantine(where),
        limit=limit,
        status=selection.status_label,
        masked=policy is not None,
    )


def iter_quarantine(
    store: StateStore, where: QuarantineFilter, *, page_size: int = PAGE_SIZE
) -> Iterator[QuarantineEntry]:
    """Every selected record, oldest first, read ``page_size`` at a time."""
    after_id = 0
    while True:
        page = store.find_quarantine(replace(where, after_id=after_id), limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        last = page[-1].id
        assert last is not None
        after_id = last


def write_rows(rows: Iterable[ShownEntry], sink: TextIO, fmt: ExportFormat) -> int:
    """Write rows as JSON Lines or as CSV with a header row; how many rows were written."""
    count = 0
    if fmt is ExportFormat.CSV:
        writer = csv.DictWriter(sink, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.to_dict())
            count += 1
    else:
        for row in rows:
            sink.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


def export_quarantine(
    store: StateStore,
    selection: Selection,
    policy: PiiPolicy | None,
    fmt: ExportFormat,
    sink: TextIO,
    *,
    now: dt.datetime,
    page_size: int = PAGE_SIZE,
) -> int:
    """Stream the selected records to ``sink``, oldest first; how many were written."""
    where = store_filter(store, selection, now=now)
    entries = iter_quarantine(store, where, page_size=page_size)
    return write_rows((shown_entry(e, policy) for e in entries), sink, fmt)


def export_quarantine_file(
    store: StateStore,
    selection: Selection,
    policy: PiiPolicy | None,
    fmt: ExportFormat,
    path: Path,
    *,
    now: dt.datetime,
    page_size: int = PAGE_SIZE,
) -> int:
    """Export into ``path`` through a temporary file beside it, renamed into place when whole.

    The file is readable by its owner only: even masked, quarantined records are sensitive.
    """
    where = store_filter(store, selection, now=now)
    _check_target(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _export_error(path, exc) from exc
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            entries = iter_quarantine(store, where, page_size=page_size)
            count = write_rows((shown_entry(e, policy) for e in entries), handle, fmt)
        temporary.replace(path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _export_error(path, exc) from exc
        raise
    return count


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise ExportError(
            f"cannot export to {path}: it is a folder",
            hint="pass --out with a file name, e.g. --out quarantine.csv",
        )
    if not path.parent.is_dir():
        raise ExportError(
            f"cannot export to {path}: the folder {path.parent} does not exist",
            hint="create the folder first, or pass --out with a file in an existing folder",
        )


def _export_error(path: Path, exc: OSError) -> ExportError:
    return ExportError(
        f"cannot export to {path}: {exc.strerror or exc}; nothing was written",
        hint="pass --out with a file in a folder you can write to",
    )


def purge_quarantine(
    store: StateStore,
    selection: Selection,
    *,
    now: dt.datetime,
    dry_run: bool,
    confirmed: bool,
) -> PurgeResult:
    """Delete the selected records for good; only with an age or a run, and confirmation.

    A dry run counts and deletes nothing; so does a purge that is not confirmed, which raises
    :class:`PurgeRefusedError` naming how many records it would have deleted.
    """
    if selection.older_than is None and selection.run_id is None:
        raise PurgeRefusedError(
            "a purge needs an age or a run: nothing was deleted",
            hint="pass --older-than 30d, --run RUN_ID, or both",
        )
    where = store_filter(store, selection, now=now)
    selected = store.count_quarantine(where)
    if dry_run or selected == 0:
        return PurgeResult(selected, 0, dry_run)
    if not confirmed:
        raise PurgeRefusedError(
            f"this purge would delete {selected:,} quarantined record(s); nothing was deleted "
            "without --yes",
            hint="pass --yes to delete them for good, or --dry-run to only count them",
        )
    return PurgeResult(selected, store.purge_quarantine(where), dry_run=False)
