"""Diagnostic codes of integrations: secrets, credentials, connections, write-back targets."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from isthmus.diagnostics import Severity
from support_diagnostics import Case, append_to, replace_in

INITECH = "integrations/initech/crm.yaml"
API = "templates/crm-api-1.0.0.yaml"

# The API template's write-back, sent to files instead: a file write-back needs its own
# connection (its folder), which the integration does not give.
FILE_WRITEBACK = """\
writeback:
  connector: file
  options: {format: csv}
  targets:
    contact_status:
      entity: customer
      read: full
      path: /exports/contacts.csv
      fields: {Id: customer_id, Status: upper(status)}
sync:
"""


def _file_writeback(root: Path) -> None:
    path = root / API
    text = path.read_text(encoding="utf-8")
    start, end = text.index("writeback:\n"), text.index("sync:\n")
    path.write_text(text[:start] + FILE_WRITEBACK + text[end + len("sync:\n") :], "utf-8")


def _unbind(root: Path) -> None:
    replace_in(root, INITECH, "    crm_token: file:secrets/initech-crm-token\n", "")
    replace_in(root, INITECH, "  secrets:\n", "  secrets: {}\n")


CASES = [
    Case(
        "unbound-secret",
        _unbind,
        INITECH,
        "secrets:",
    ),
    Case(
        "unused-secret",
        partial(append_to, relative=INITECH, text="    spare: env:SPARE\n"),
        INITECH,
        "spare:",
        severity=Severity.WARNING,
    ),
    Case(
        "credential-not-a-secret",
        partial(
            replace_in,
            relative=API,
            old="path: /accounts\n    record_selector: data\n    params: {limit: 100}",
            new="path: /accounts\n    record_selector: data\n"
            "    params: {limit: 100, api_key: k-123}",
        ),
        API,
        "k-123",
    ),
    Case(
        "missing-connection",
        _file_writeback,
        INITECH,
        "connection:",
    ),
    Case(
        "unknown-field",
        partial(replace_in, relative=API, old="path: /contacts/{Id}", new="path: /contacts/{Idx}"),
        API,
        "/contacts/{Idx}",
    ),
    Case(
        "invalid-cursor",
        partial(
            replace_in,
            relative=API,
            old="      cursor_field: updated_at\n      method: PATCH",
            new="      cursor_field: opt_out\n      method: PATCH",
        ),
        API,
        "cursor_field: opt_out",
        offset=len("cursor_field: "),
    ),
    Case(
        "duplicate-name",
        partial(replace_in, relative=API, old="    contact_status:\n", new="    contacts:\n"),
        API,
        "    contacts:\n      # The core",
        offset=len("    "),
    ),
]
