"""A planted secret, bound from the environment, appears nowhere isthmus writes: not in the
command's output or logs, not in an error, not in the state store or the core database, not
in the generated docs, not in an export of the quarantine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from isthmus.demo import create_demo_project
from isthmus.demo.mockcrm import Faults, MockCredentials, MockCrm
from support import edit_yaml

PLANTED = "planted-Secret-7Qw93xZt"


@pytest.fixture
def crm() -> Iterator[MockCrm]:
    credentials = MockCredentials(token=PLANTED)
    faults = Faults(error_next=2, rate_limit_next=1, retry_after_s=0)
    with MockCrm(seed=21, accounts=40, contacts=400, credentials=credentials, faults=faults) as s:
        yield s


def isthmus(root: Path, *args: str, token: str = PLANTED) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INITECH_CRM_TOKEN": token, "COLUMNS": "160", "ISTHMUS_LOG_LEVEL": "debug"}
    return subprocess.run(
        [sys.executable, "-m", "isthmus", *args, "--project", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def every_byte_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_a_planted_secret_appears_nowhere(crm: MockCrm, tmp_path: Path) -> None:
    root = create_demo_project(tmp_path / "demo").root
    (root / "secrets/initech-crm-token").unlink()  # bound from the environment instead
    edit_yaml(
        root / "integrations/initech/crm.yaml",
        lambda d: d["connection"].update(
            base_url=crm.url, secrets={"crm_token": "env:INITECH_CRM_TOKEN"}
        ),
    )
    outputs: list[subprocess.CompletedProcess[str]] = [
        isthmus(root, "validate"),
        isthmus(root, "run", "initech-crm"),
        isthmus(root, "run", "initech-crm", "--format", "json"),
        isthmus(root, "run", "initech-crm", token="wrong-token"),  # refused: an auth error
        isthmus(root, "runs", "show", "1", "--format", "json"),
        isthmus(root, "quarantine", "export", "--unmasked"),
        isthmus(root, "docs", "--out", str(tmp_path / "site")),
    ]
    ran = outputs
    assert [o.returncode for o in ran] == [0, 0, 0, 1, 0, 0, 0], [o.stderr for o in ran]
    assert "check the credentials of secret crm_token" in ran[3].stdout + ran[3].stderr
    text = "".join(o.stdout + o.stderr for o in ran)
    assert PLANTED not in text
    assert PLANTED.encode() not in every_byte_under(root)  # state store, core database, files
    assert PLANTED.encode() not in every_byte_under(tmp_path / "site")
