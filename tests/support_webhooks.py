"""A small project whose contacts arrive as webhook deliveries, and a sender's signing, for
the web endpoint's tests and the end-to-end test of `isthmus serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isthmus.connectors.webhook_signing import sign, signing_key

ACME_SECRET = "whsec_c2lnbmluZy1zZWNyZXQtb2YtYWNtZS0xMjM0NQ=="  # base64 of a made-up key
GLOBEX_SECRET = "globex-plain-signing-secret"
ENVIRON = {"ACME_HOOK_SECRET": ACME_SECRET}
MAX_BODY = 2048

HOOK_FILES = {
    "isthmus.yaml": """
project: hooks
core: {database: "sqlite:///.isthmus/core.db"}
state: {database: "sqlite:///.isthmus/state.db"}
""",
    "core/contact.yaml": """
entity: contact
tenant_key: tenant_id
primary_key: [tenant_id, contact_id]
fields:
  contact_id: {type: string, required: true}
  email: {type: string, required: true, pii: true}
  age: {type: integer, min: 0, max: 150}
  city: {type: string}
""",
    "templates/crm-events-1.0.0.yaml": f"""
template: crm-events
version: 1.0.0
description: Contacts a CRM pushes as signed webhook deliveries.
owner: {{team: core, contact: core@example.com}}
source:
  connector: webhook
  options: {{signing_secret: "${{secret:hook_secret}}", max_body_bytes: {MAX_BODY}}}
streams:
  contacts:
    primary_key: id
    schema: {{id: string, email: string, age: string, address: {{city: string}}}}
mappings:
  contacts:
    stream: contacts
    entity: contact
    read: incremental
    write: upsert
    fields: {{contact_id: id, email: lower(trim(email)), age: to_int(age), city: address.city}}
sync: {{max_rejected_fraction: 0.5, batch_size: 2}}
""",
    "templates/contact-files-1.0.0.yaml": """
template: contact-files
version: 1.0.0
description: Contacts from JSON Lines files.
owner: {team: core, contact: core@example.com}
source: {connector: file}
streams:
  contacts: {path: contacts.jsonl, primary_key: id, schema: {id: string, email: string}}
mappings:
  contacts:
    stream: contacts
    entity: contact
    fields: {contact_id: id, email: email}
""",
    "integrations/acme/hooks.yaml": """
integration: acme-hooks
tenant: acme
template: crm-events@^1
owner: {team: ops, contact: ops@example.com}
connection:
  secrets: {hook_secret: env:ACME_HOOK_SECRET}
""",
    "integrations/globex/hooks.yaml": """
integration: globex-hooks
tenant: globex
template: crm-events@^1
owner: {team: ops, contact: ops@example.com}
connection:
  secrets: {hook_secret: file:secrets/globex_hook}
""",
    "integrations/acme/files.yaml": """
integration: acme-files
tenant: acme
template: contact-files@^1
owner: {team: ops, contact: ops@example.com}
connection: {root: data/acme}
""",
}


def write_hook_project(root: Path) -> Path:
    for name, text in HOOK_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.lstrip(), encoding="utf-8")
    (root / "secrets").mkdir()
    (root / "secrets/globex_hook").write_text(GLOBEX_SECRET + "\n", encoding="utf-8")
    return root


def body_of(record: Any) -> bytes:
    return record if isinstance(record, bytes) else json.dumps(record).encode("utf-8")


def signed(
    event_id: str, record: Any, timestamp: float, secret: str = ACME_SECRET
) -> tuple[bytes, dict[str, str]]:
    """A delivery's body and headers, signed as a Standard Webhooks sender signs them."""
    body = body_of(record)
    headers = sign(signing_key(secret), event_id, int(timestamp), body)
    return body, {**headers, "content-type": "application/json"}
