"""The public API is exactly what isthmus/__init__.py declares, and all of it imports."""

from __future__ import annotations

import subprocess
import sys

import isthmus

EXPECTED = [
    "Diagnostic",
    "IsthmusError",
    "Location",
    "NotFoundError",
    "Project",
    "RunReport",
    "RunSettings",
    "Severity",
    "StateStore",
    "ValidationFailedError",
    "__version__",
    "load_project",
    "run_integration",
    "validate_project",
    "write_catalog",
]


def test_the_declared_public_names_are_the_expected_ones() -> None:
    assert sorted(isthmus.__all__) == sorted(EXPECTED)


def test_the_lazy_exports_match_the_declared_names() -> None:
    assert sorted([*isthmus._EXPORTS, "__version__"]) == sorted(isthmus.__all__)


def test_every_public_name_imports() -> None:
    for name in isthmus.__all__:
        assert getattr(isthmus, name) is not None


def test_help_does_not_load_the_engine() -> None:
    probe = (
        "import sys; from isthmus.cli.app import app; "
        "print(sorted(m for m in ('polars', 'sqlalchemy', 'pyarrow') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
