"""Secret references: configuration names a secret, and only reveal() ever shows its value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.config.errors import SecretError
from isthmus.config.secrets import Secret, read_secret, secret_names, substitute
from isthmus.diagnostics import Diagnostic, Location
from isthmus.errors import IsthmusError

WriteFiles = Callable[[dict[str, str]], Path]

VALUE = "s3cr3t-Value-42"


# --- finding references -------------------------------------------------------------------


def test_secret_names_finds_references_in_nested_dicts_and_lists() -> None:
    options = {
        "auth": {"type": "bearer", "token": "${secret:crm_token}"},
        "headers": [{"X-Key": "key=${secret:api_key}; id=${secret:client_id}"}],
        "retries": 3,
        "verify": True,
        "nothing": None,
    }
    assert secret_names(options) == {"crm_token", "api_key", "client_id"}


def test_secret_names_of_values_without_references_is_empty() -> None:
    assert secret_names({}) == set()
    assert secret_names([]) == set()
    assert secret_names("plain ${not_a_secret} and $secret:x") == set()
    assert secret_names(42) == set()


def test_a_name_used_twice_is_found_once() -> None:
    assert secret_names(["${secret:t}", {"a": "${secret:t}"}]) == {"t"}


# --- reading bindings ---------------------------------------------------------------------


def test_an_env_binding_reads_the_variable(tmp_path: Path) -> None:
    secret = read_secret(
        "crm_token", "env:ACME_TOKEN", base=tmp_path, environ={"ACME_TOKEN": VALUE}
    )
    assert secret.name == "crm_token"
    assert secret.reveal() == VALUE


def test_an_env_binding_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISTHMUS_TEST_SECRET", VALUE)
    assert read_secret("t", "env:ISTHMUS_TEST_SECRET", base=tmp_path).reveal() == VALUE


def test_a_file_binding_reads_a_path_relative_to_the_base_folder_stripped(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text(f"  {VALUE}\n", encoding="utf-8")
    secret = read_secret("crm_token", "file:secrets/token", base=tmp_path, environ={})
    assert secret.reveal() == VALUE


def test_a_file_binding_with_an_absolute_path_ignores_the_base(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(VALUE, encoding="utf-8")
    secret = read_secret("t", f"file:{path}", base=tmp_path / "elsewhere", environ={})
    assert secret.reveal() == VALUE


def test_an_unset_variable_raises_naming_the_secret_and_variable_but_no_value(
    tmp_path: Path,
) -> None:
    environ = {"ACME_TOKEN_OLD": VALUE, "OTHER": VALUE}
    with pytest.raises(SecretError) as caught:
        read_secret("crm_token", "env:ACME_TOKEN", base=tmp_path, environ=environ)
    error = caught.value
    assert isinstance(error, IsthmusError)
    assert error.message == (
        "secret 'crm_token' is bound to environment variable ACME_TOKEN, which is not set"
    )
    assert error.hint == (
        "export ACME_TOKEN=... before running, or bind 'crm_token' to another variable"
    )
    assert VALUE not in str(error)
    assert VALUE not in repr(error)


def test_an_unreadable_file_raises_naming_the_secret_and_the_resolved_path(
    tmp_path: Path,
) -> None:
    with pytest.raises(SecretError) as caught:
        read_secret("crm_token", "file:secrets/missing", base=tmp_path, environ={})
    error = caught.value
    assert error.message == (
        f"secret 'crm_token' is bound to file {tmp_path / 'secrets/missing'}, which cannot be "
        "read (No such file or directory)"
    )
    assert error.hint == "check the path and its permissions"
    assert error.__cause__ is None


def test_a_binding_that_is_neither_env_nor_file_raises(tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        read_secret("crm_token", "vault:kv/crm", base=tmp_path, environ={})
    assert caught.value.message == (
        "secret 'crm_token' is bound to something that is neither env: nor file:"
    )
    assert caught.value.hint == "bind secrets as env:VARIABLE or file:PATH"


def test_a_literal_passed_as_a_binding_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        read_secret("crm_token", VALUE, base=tmp_path, environ={})
    assert VALUE not in str(caught.value)


# --- substituting -------------------------------------------------------------------------


def secrets_map() -> dict[str, Secret]:
    return {"crm_token": Secret("crm_token", VALUE), "user": Secret("user", "svc")}


def test_substitute_replaces_each_reference_with_a_secret_in_nested_values() -> None:
    options = {
        "auth": {"type": "bearer", "token": "${secret:crm_token}"},
        "headers": ["Bearer ${secret:crm_token}", "plain"],
        "retries": 3,
    }
    result = substitute(options, secrets_map())
    token = result["auth"]["token"]
    header = result["headers"][0]
    assert isinstance(token, Secret)
    assert isinstance(header, Secret)
    assert token.reveal() == VALUE
    assert header.reveal() == f"Bearer {VALUE}"
    assert result["auth"]["type"] == "bearer"
    assert result["headers"][1] == "plain"
    assert result["retries"] == 3


def test_a_string_with_several_references_becomes_one_secret_naming_them_all() -> None:
    result = substitute("${secret:user}:${secret:crm_token}", secrets_map())
    assert isinstance(result, Secret)
    assert result.name == "user+crm_token"
    assert result.reveal() == f"svc:{VALUE}"


def test_a_secret_shows_stars_in_repr_str_and_formatting_never_the_value() -> None:
    result = substitute({"auth": {"token": "Bearer ${secret:crm_token}"}}, secrets_map())
    secret = result["auth"]["token"]
    assert repr(secret) == "Secret('crm_token', '***')"
    assert str(secret) == "Secret('crm_token', '***')"
    assert f"{secret}" == "Secret('crm_token', '***')"
    for shown in (repr(result), str(result), f"{result!s}", f"{[secret]}"):
        assert VALUE not in shown
        assert "***" in shown


def test_a_secret_has_no_instance_dict_that_would_expose_the_value() -> None:
    secret = Secret("crm_token", VALUE)
    assert not hasattr(secret, "__dict__")
    assert secret.reveal() == VALUE


def test_secrets_with_equal_values_are_equal_and_hash_alike() -> None:
    assert Secret("a", VALUE) == Secret("b", VALUE)
    assert Secret("a", VALUE) != Secret("a", "other")
    assert Secret("a", VALUE) != VALUE
    assert len({Secret("a", VALUE), Secret("b", VALUE)}) == 1


def test_substituting_an_unbound_reference_raises_naming_it() -> None:
    with pytest.raises(SecretError) as caught:
        substitute({"token": "${secret:missing}"}, secrets_map())
    assert caught.value.message == "secret 'missing' is used but not bound"
    assert caught.value.hint == "bind it under connection.secrets: missing: env:VARIABLE"


def test_values_without_references_pass_through_substitute_unchanged() -> None:
    value = {"a": ["x", 1, None, True], "b": {"c": "$secret"}}
    assert substitute(value, {}) == value


# --- bindings checked at load time --------------------------------------------------------

PROJECT = """\
project: demo
core: {database: "sqlite:///core.db"}
state: {database: "sqlite:///state.db"}
"""

INTEGRATION = """\
integration: acme-crm
tenant: acme
template: crm-contacts@^2
owner: {team: onboarding, contact: ops@example.com}
connection:
  root: data/acme
  secrets:
    crm_token: {binding}
"""


def integration_diagnostics(write_files: WriteFiles, binding: str) -> tuple[list[Diagnostic], Path]:
    root = write_files(
        {
            "isthmus.yaml": PROJECT,
            "integrations/acme/crm.yaml": INTEGRATION.replace("{binding}", binding),
        }
    )
    project = load_project(root)
    return project.diagnostics, root / "integrations/acme/crm.yaml"


@pytest.mark.parametrize("binding", ["env:ACME_CRM_TOKEN", "file:secrets/acme_token"])
def test_env_and_file_bindings_in_a_connection_load(write_files: WriteFiles, binding: str) -> None:
    diagnostics, _ = integration_diagnostics(write_files, binding)
    assert diagnostics == []


@pytest.mark.parametrize("binding", [VALUE, "env:", "https://user:pw@crm.example", "vault:x"])
def test_a_connection_binding_that_is_not_env_or_file_is_invalid_value_at_load(
    write_files: WriteFiles, binding: str
) -> None:
    diagnostics, path = integration_diagnostics(write_files, f'"{binding}"')
    assert diagnostics == [
        Diagnostic(
            "invalid-value",
            "connection.secrets: secret 'crm_token' must be bound to env:VARIABLE or "
            "file:PATH, not a value",
            Location(path, 8, 5),
        )
    ]
    for literal in (VALUE, "user:pw"):
        assert literal not in str(diagnostics[0])


def test_a_literal_secret_in_the_project_file_is_invalid_value_at_load(
    write_files: WriteFiles,
) -> None:
    root = write_files({"isthmus.yaml": PROJECT + f"secrets:\n  db_password: {VALUE}\n"})
    codes = [d.code for d in load_project(root).diagnostics]
    assert codes == ["invalid-value"]
