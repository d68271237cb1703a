"""`isthmus mock-crm`: a mock CRM API to point REST integrations at, in the foreground.

The mock is imported when the command runs, so `isthmus --help` does not load it.
"""

from __future__ import annotations

import signal
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from isthmus.demo.mockcrm import MockCrm


class AuthChoice(StrEnum):
    bearer = "bearer"
    api_key_header = "api_key_header"
    api_key_query = "api_key_query"
    basic = "basic"
    oauth2 = "oauth2"
    none = "none"


class PaginationChoice(StrEnum):
    cursor = "cursor"
    page_number = "page_number"
    offset_limit = "offset_limit"
    link_header = "link_header"
    next_url = "next_url"
    none = "none"


def register(app: typer.Typer) -> None:
    app.command("mock-crm")(mock_crm)


def mock_crm(
    port: Annotated[
        int, typer.Option("--port", help="The port on 127.0.0.1; 0 picks a free one.")
    ] = 8787,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated records.")] = 7,
    accounts: Annotated[int, typer.Option("--accounts", help="Accounts to generate.", min=0)] = 20,
    contacts: Annotated[int, typer.Option("--contacts", help="Contacts to generate.", min=0)] = 200,
    auth: Annotated[
        AuthChoice, typer.Option("--auth", help="The credentials the API asks for.")
    ] = AuthChoice.bearer,
    pagination: Annotated[
        PaginationChoice, typer.Option("--pagination", help="How lists are paged.")
    ] = PaginationChoice.cursor,
    page_size: Annotated[
        int, typer.Option("--page-size", help="Records per page by default.", min=1)
    ] = 100,
    token_ttl: Annotated[
        float, typer.Option("--token-ttl", help="Seconds an OAuth 2 token stays valid.", min=1)
    ] = 3600.0,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="A fault as name=value, repeatable: rate_limit_every=N, rate_limit_next=K, "
            "retry_after_s=S, retry_after_format=seconds|http_date, error_next=K, "
            "error_status=5xx, slow_next=K, slow_s=S, malformed_page=P, "
            "malformed_resource=contacts|accounts, repeat_last=true, lost_write_replies=K.",
        ),
    ] = None,
) -> None:
    """Serve a mock CRM API (accounts, contacts, write-back) until Ctrl-C or SIGTERM."""
    from isthmus.demo.mockcrm import Faults, MockCrm, parse_fault

    try:
        changes = dict(parse_fault(text) for text in fault or [])
        faults = Faults().changed(changes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    try:
        crm = MockCrm(
            port=port,
            seed=seed,
            accounts=accounts,
            contacts=contacts,
            auth=auth.value,
            pagination=pagination.value,
            page_size=page_size,
            token_ttl_s=token_ttl,
            faults=faults,
        )
    except OSError as exc:
        typer.echo(f"error: cannot listen on 127.0.0.1:{port}: {exc.strerror}", err=True)
        typer.echo("hint: choose another --port, or 0 for a free one", err=True)
        raise typer.Exit(1) from None
    _serve(crm)


def _serve(crm: MockCrm) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with crm:
            for line in _banner(crm):
                typer.echo(line)
            while not stop.wait(0.5):
                pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    typer.echo("mock CRM stopped")


def _banner(crm: MockCrm) -> list[str]:
    report = crm.report
    lines = [
        f"mock CRM listening on {crm.url}  (Ctrl-C to stop)",
        f"  auth:       {crm.auth}: {crm.credentials.describe(crm.auth)}",
        f"  pagination: {crm.pagination}, {crm.page_size} records a page",
        f"  data:       {len(crm.accounts)} accounts, {len(crm.contacts)} contacts",
    ]
    if report.contacts is not None:
        lines.append(
            f"              {report.contacts.total_spoiled} spoiled contacts, "
            f"{report.contacts.distinct_good_ids} distinct good ids"
        )
    from isthmus.demo.mockcrm import Faults

    defaults = Faults().to_dict()
    active = {k: v for k, v in crm.faults.to_dict().items() if v != defaults[k]}
    if active:
        lines.append("  faults:     " + ", ".join(f"{k}={v}" for k, v in active.items()))
    lines.append(
        "  endpoints:  GET /accounts, GET /contacts, POST /contacts, PUT|PATCH /contacts/{id}, "
        "POST /contacts/batch, POST /oauth/token"
    )
    return lines
