"""The bulk-load benchmark (bench/bulk_load.py) loads what it generates, exactly: a small run
of its own steps on SQLite, so the benchmark cannot rot between the times it is run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[3] / "bench/bulk_load.py"


@pytest.fixture(scope="module")
def bulk_load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bulk_load", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bulk_load"] = module
    spec.loader.exec_module(module)
    return module


def test_the_narrow_rows_are_distinct_and_typed(bulk_load: ModuleType) -> None:
    rows = bulk_load.narrow_rows(1_000)
    assert rows.num_rows == 1_000
    assert rows.column_names == ["tenant_id", "id", "n", "x", "at"]
    assert len(set(rows.column("id").to_pylist())) == 1_000


def test_a_load_in_batches_leaves_exactly_the_rows_generated(
    bulk_load: ModuleType, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'core.db'}"
    elapsed, counted = bulk_load.load_once(url, bulk_load.narrow_rows(2_500), 1_000, "narrow_0")
    assert counted == 2_500
    assert elapsed > 0
