"""A Rich progress bar fed by the engine's run observer."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from isthmus.execution import StreamCounts
from isthmus.store import StreamRecord


class ProgressObserver:
    """One bar per stream, in bytes read; the counts so far beside it."""

    def __init__(self, integration: str, console: Console | None = None) -> None:
        self.integration = integration
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.progress.start()

    def stream_started(self, mapping: str, total_bytes: int | None) -> None:
        self.tasks[mapping] = self.progress.add_task(
            f"{self.integration} {mapping}", total=total_bytes, counts=""
        )

    def batch_done(self, mapping: str, bytes_read: int, counts: StreamCounts) -> None:
        text = f"read {counts.records_read:,} loaded {counts.loaded:,} rejected {counts.rejected:,}"
        self.progress.update(self.tasks[mapping], advance=bytes_read, counts=text)

    def stream_finished(self, mapping: str, record: StreamRecord) -> None:
        task = self.tasks[mapping]
        total = self.progress.tasks[task].total
        self.progress.update(task, completed=total or 0)

    def close(self) -> None:
        self.progress.stop()
