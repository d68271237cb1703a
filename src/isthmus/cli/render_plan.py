"""How `isthmus plan` and `isthmus checkpoint` look on a terminal and as JSON: what a run
will do, and where it starts from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.text import Text

from isthmus.cli.render import out, table, utc

if TYPE_CHECKING:
    from isthmus.execution.checkpoints import CheckpointView
    from isthmus.execution.plan import Plan


def plan_json(plan: Plan) -> dict[str, Any]:
    return asdict(plan)


def plan_table(plan: Plan) -> None:
    out.print(
        Text.assemble(
            (f"plan of {plan.integration}", "bold"),
            f" (tenant {plan.tenant})  template {plan.template} {plan.version}  "
            f"config {plan.config_hash[:12]}",
        )
    )
    out.print(
        f"commit {plan.commit}  at most {plan.max_concurrent_streams} stream(s) at once  "
        f"batches of {plan.batch_size:,} records  {plan.retry_attempts} attempt(s) per unit "
        f"of commit  timeout {plan.timeout or '-'}"
    )
    shown = table(
        "order", "level", "mapping", "stream", "entity", "read mode", "write mode", "deletes",
        "cursor field", "depends on",
    )  # fmt: skip
    for order, s in enumerate(plan.streams, start=1):
        shown.add_row(
            str(order),
            str(s.level),
            s.mapping,
            s.stream,
            s.entity,
            s.read,
            s.write,
            s.deletes,
            s.cursor_field or "-",
            ", ".join(s.depends_on) or "-",
        )
    out.print(shown)


def checkpoints_json(integration: str, views: Sequence[CheckpointView]) -> dict[str, Any]:
    return {
        "integration": integration,
        "streams": [
            {
                "stream": v.stream,
                "read": v.read,
                "checkpoint": v.token,
                "state_store_copy": v.copy,
                "in_sync": v.in_sync,
                "run_id": v.run_id,
                "saved_at": v.saved_at.isoformat() if v.saved_at else None,
            }
            for v in views
        ],
    }


def checkpoints(integration: str, views: Sequence[CheckpointView]) -> None:
    out.print(
        Text.assemble(
            (f"checkpoints of {integration}", "bold"),
            " (the destination's checkpoint is what the next run starts from; the state store "
            "keeps a copy)",
        )
    )
    for view in views:
        heading = Text.assemble((view.stream, "bold"), f"  read {view.read}  ")
        if view.token is None and view.copy is None:
            out.print(heading.append("no checkpoint: the next run reads from the start"))
            continue
        saved = (
            f"saved by run {view.run_id} at {utc(view.saved_at)}"
            if view.run_id is not None
            else "no copy in the state store"
        )
        agree = (
            Text("the state store's copy agrees", style="green")
            if view.in_sync
            else Text("the state store's copy DIFFERS", style="bold red")
        )
        out.print(Text.assemble(heading, f"{saved}  ", agree))
        starts = "none: the next run reads from the start" if view.token is None else None
        out.print(f"  checkpoint:       {starts or _token(view.token or {})}")
        if not view.in_sync:
            out.print(f"  state store copy: {'none' if view.copy is None else _token(view.copy)}")


def _token(token: dict[str, Any]) -> str:
    return json.dumps(token, sort_keys=True, default=str)


def checkpoint_reset(run_id: int, note: str | None) -> None:
    out.print(f"{note or 'checkpoints reset'}")
    out.print(f"recorded as run {run_id} (trigger reset); `isthmus runs` lists it")
