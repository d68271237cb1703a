"""A REST source wired to a running mock CRM, with a fake clock: what the REST tests share."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from isthmus.config.secrets import Secret
from isthmus.connectors.base import SourceBatch, SourceContext, StreamRequest, resolved
from isthmus.connectors.rest import RestConnection, RestOptions, RestSource, RestStream
from isthmus.demo.mockcrm import MockCredentials, MockCrm
from isthmus.testing import FakeClock
from isthmus.types import DataType, parse_type

CREDENTIALS = MockCredentials()
SECRETS = {
    "crm_token": CREDENTIALS.token,
    "crm_key": CREDENTIALS.api_key,
    "crm_user": CREDENTIALS.username,
    "crm_password": CREDENTIALS.password,
    "crm_client_id": CREDENTIALS.client_id,
    "crm_client_secret": CREDENTIALS.client_secret,
}
# The source options' auth for each of the mock's auth modes.
AUTH = {
    "bearer": {"type": "bearer", "token": "${secret:crm_token}"},
    "api_key_header": {
        "type": "api_key",
        "in": "header",
        "name": "X-API-Key",
        "value": "${secret:crm_key}",
    },
    "api_key_query": {
        "type": "api_key",
        "in": "query",
        "name": "api_key",
        "value": "${secret:crm_key}",
    },
    "basic": {
        "type": "basic",
        "username": "${secret:crm_user}",
        "password": "${secret:crm_password}",
    },
    "oauth2": {
        "type": "oauth2_client_credentials",
        "token_url": "/oauth/token",
        "client_id": "${secret:crm_client_id}",
        "client_secret": "${secret:crm_client_secret}",
    },
    "none": {"type": "none"},
}
CONTACT_SCHEMA: dict[str, Any] = {
    "Id": "string",
    "FirstName": "string",
    "LastName": "string",
    "Email": "string",
    "Account": {"Id": "string", "Name": "string"},
    "LastModifiedDate": "string",
    "LeadScore": "string",
    "OptOut": "boolean",
    "Tags": "list[string]",
}


@dataclass
class Harness:
    """Builds sources against one mock CRM and reads streams to the end."""

    crm: MockCrm
    clock: FakeClock = field(default_factory=FakeClock)
    sources: list[RestSource] = field(default_factory=list)

    def source(
        self,
        *,
        auth: str | dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> RestSource:
        spec = AUTH[auth or self.crm.auth] if not isinstance(auth, dict) else auth
        values = SECRETS if secrets is None else secrets
        context = SourceContext(
            options=RestOptions.model_validate({"auth": spec, **options}),
            connection=RestConnection(base_url=base_url or self.crm.url),
            project_root=Path("."),
            secrets={name: Secret(name, value) for name, value in values.items()},
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
        )
        source = RestSource(context, rng=random.Random(1), transport=transport)
        self.sources.append(source)
        return source

    def read(
        self,
        source: RestSource,
        stream: dict[str, Any] | None = None,
        *,
        schema: dict[str, Any] | None = None,
        batch_size: int = 1000,
        checkpoint: dict[str, Any] | None = None,
        name: str = "contacts",
        cursor: str | None = None,
    ) -> list[SourceBatch]:
        request = StreamRequest(
            name=name,
            fields=fields(schema or CONTACT_SCHEMA),
            options=RestStream.model_validate(
                stream or {"path": "/contacts", "record_selector": "data"}
            ),
            primary_key="Id",
            checkpoint=checkpoint,
            batch_size=batch_size,
            cursor=cursor,
        )
        return [resolved(item) for item in source.read(request)]

    def close(self) -> None:
        for source in self.sources:
            source.close()

    secrets = SECRETS
    auth = AUTH

    @staticmethod
    def ids(batches: list[SourceBatch]) -> list[str]:
        return [value for b in batches for value in b.records.column("Id").to_pylist()]

    @staticmethod
    def rows(batches: list[SourceBatch]) -> list[dict[str, Any]]:
        return [row for b in batches for row in b.records.to_pylist()]


def fields(schema: dict[str, Any]) -> dict[str, DataType]:
    return {name: parse_type(spec) for name, spec in schema.items()}


@pytest.fixture
def mock_crm() -> Iterator[Callable[..., Harness]]:
    """Start a mock CRM with the given settings; returns a harness around it."""
    started: list[Harness] = []

    def start(**settings: Any) -> Harness:
        settings.setdefault("contacts", 60)
        settings.setdefault("page_size", 25)
        crm = MockCrm(**settings).start()
        harness = Harness(crm)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        harness.close()
        harness.crm.stop()
