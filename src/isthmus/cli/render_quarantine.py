"""How `isthmus quarantine list`, `export` and `purge` look on a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from isthmus.cli.render import err, out, table

if TYPE_CHECKING:
    from isthmus.observability.quarantine import PurgeResult, QuarantineListing

QUARANTINE_WIDTHS = {"integration": 20, "origin:position": 36, "rule": 16, "field": 16, "value": 30}


def quarantine_table(listing: QuarantineListing) -> None:
    if not listing.entries:
        out.print(f"no quarantined records match (status {listing.status})")
        return
    more = f" of {listing.total:,} (--limit N shows more)" if listing.total > listing.limit else ""
    masked = "values masked" if listing.masked else "values NOT masked"
    out.print(
        f"{listing.total:,} quarantined record(s) match (status {listing.status}); showing "
        f"{len(listing.entries):,}{more}, {listing.order}; {masked}"
    )
    headers = ("id", "run", "integration", "origin:position", "rule", "field", "value", "message")
    rows = [
        [_one_line(cell) for cell in (
            str(e.id), str(e.run_id), e.integration, f"{e.origin}:{e.position}", e.rule,
            e.field or "-", '""' if e.value == "" else e.value or "-", e.message,
        )]
        for e in listing.entries
    ]  # fmt: skip
    widths = _fitted_widths(headers, rows)
    shown = table(*headers)
    for row in rows:
        shown.add_row(*(_cut(cell, w) for cell, w in zip(row, widths, strict=True)))
    out.print(shown)


def _fitted_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Widths that fit the terminal, so Rich never squeezes a column: each column's widest cell
    (capped), then the widest column narrowed in turn, never below its header."""
    widths = [
        min(QUARANTINE_WIDTHS.get(name, 10**6), max(len(name), *(cell_len(r[i]) for r in rows)))
        for i, name in enumerate(headers)
    ]
    room = out.width - 2 * (len(widths) - 1)
    while sum(widths) > room:
        narrowable = [i for i, name in enumerate(headers) if widths[i] > len(name)]
        if not narrowable:
            break
        widths[max(narrowable, key=widths.__getitem__)] -= 1
    return widths


def _cut(cell: str, width: int) -> Text:
    text = Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text


def _one_line(text: str) -> str:
    """A cell never breaks its row: control characters (newlines, tabs) are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def unmasked_warning() -> None:
    warning = "warning: --unmasked shows personal data as stored; do not share this output"
    err.print(Text(warning, style="yellow"))


def export_written(count: int, path: Path, fmt: str, *, masked: bool) -> None:
    note = "personal data masked" if masked else "personal data NOT masked"
    out.print(f"wrote {count:,} quarantined record(s) to {path} ({fmt}, {note})")


def purge_result(result: PurgeResult) -> None:
    if result.dry_run:
        out.print(f"dry run: {result.selected:,} quarantined record(s) would be deleted")
    elif result.selected == 0:
        out.print("no quarantined records match: nothing deleted")
    else:
        out.print(f"deleted {result.deleted:,} quarantined record(s)")
