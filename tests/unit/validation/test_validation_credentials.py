"""A key named like a credential holds a secret reference, never a value, wherever a
connector is configured; the value is never repeated in the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from isthmus.config import load_project
from isthmus.demo import create_demo_project
from isthmus.validation import validate_project
from isthmus.validation.credentials import is_credential_key
from support import edit_yaml

PASTED = "sk_live_51Hx9PastedByMistake"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return create_demo_project(tmp_path / "demo").root


def diagnostics(root: Path) -> list[Any]:
    return [d for d in validate_project(load_project(root)) if d.is_error]


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("password", True),
        ("access_token", True),
        ("client_secret", True),
        ("apiKey", True),
        ("api-key", True),
        ("token_url", False),
        ("secret_name", False),
        ("tokens_per_second", False),
    ],
)
def test_credential_keys_are_named_by_their_last_word(key: str, credential: bool) -> None:
    assert is_credential_key(key) is credential


def test_the_demo_has_no_credential_value(demo: Path) -> None:
    assert [d for d in diagnostics(demo) if d.code == "credential-not-a-secret"] == []


def test_a_token_pasted_into_a_streams_params_is_an_error_that_does_not_repeat_it(
    demo: Path,
) -> None:
    template = demo / "templates/crm-api-1.0.0.yaml"
    edit_yaml(template, lambda d: d["streams"]["contacts"]["params"].update(access_token=PASTED))
    [found] = diagnostics(demo)
    assert found.code == "credential-not-a-secret"
    assert found.message == (
        "streams.contacts.params.access_token is named like a credential but holds a value, "
        "not a secret reference (the value is not shown)"
    )
    assert found.hint == (
        "write access_token: ${secret:NAME} and bind NAME in the integration's "
        "connection.secrets to env:VARIABLE or file:PATH"
    )
    assert found.location.file == template
    assert PASTED not in f"{found.message} {found.hint}"


def test_a_credential_the_connector_refuses_itself_is_reported_once(demo: Path) -> None:
    edit_yaml(
        demo / "templates/crm-api-1.0.0.yaml",
        lambda d: d["source"]["options"]["auth"].update(token=PASTED),
    )
    [found] = diagnostics(demo)
    assert found.code == "invalid-value"  # the REST options' own refusal, not a second one
    assert "a credential must be a secret reference" in found.message
    assert PASTED not in f"{found.message} {found.hint}"
