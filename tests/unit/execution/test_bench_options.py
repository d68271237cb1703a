"""bench/run_bench.py's options: a batch size other than the template's is written into the
fresh copy of the project each run uses, and one that is not a count of records is refused."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from isthmus.config import load_project
from isthmus.execution import clock

RUN_BENCH = Path(__file__).parents[3] / "bench/run_bench.py"


@pytest.fixture
def run_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_bench", RUN_BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "run_bench", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "out")
    return module


def batch_size(root: Path) -> int:
    [template] = load_project(root).templates["crm-contacts"].values()
    return template.model.sync.batch_size


@pytest.mark.parametrize("wanted", [None, 7, 25_000])
def test_the_copy_of_the_project_batches_as_asked(
    run_bench: ModuleType, tmp_path: Path, wanted: int | None
) -> None:
    data = tmp_path / "contacts.jsonl"
    data.write_text("")
    folder = run_bench._project("sqlite-1m", data, "sqlite:///a.db", "sqlite:///b.db", wanted)
    assert batch_size(folder) == (wanted or run_bench.TEMPLATE_BATCH_SIZE)
    assert batch_size(run_bench.PROJECT) == run_bench.TEMPLATE_BATCH_SIZE  # left as it was


@pytest.mark.parametrize("wrong", ["0", "-5", "ten", "1.5", ""])
def test_a_batch_size_that_is_not_a_count_of_records_is_refused(wrong: str) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN_BENCH), "--batch-size", wrong],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"a batch size is a whole number of records, not {wrong!r}" in done.stderr
    assert done.stdout == ""  # refused before generating or running anything


def test_a_row_gives_the_medians_of_wall_time_memory_and_cpu_time(run_bench: ModuleType) -> None:
    measures = [run_bench.Measure(s, s * 100, s * 3) for s in (4.0, 2.0, 3.0)]
    row = run_bench._row("1m", "sqlite", "isthmus run", measures, {"records": 1_500_000})
    assert row == ["1m", "sqlite", "isthmus run", "3.00 s", "500k rows/s", "300 MiB", "9.00 s"]


def test_the_cpu_time_measured_is_the_childs(run_bench: ModuleType) -> None:
    """A child that only sleeps uses next to no CPU; one that computes uses some. Both take
    about the same wall time, so the figure cannot be the wall time or this process's."""
    idle = run_bench._measured([sys.executable, "-c", "import time; time.sleep(0.3)"])
    busy = run_bench._measured(
        [
            sys.executable,
            "-c",
            "import time\nend = time.time() + 0.3\nwhile time.time() < end: pass",
        ]
    )
    assert busy.cpu_seconds > idle.cpu_seconds
    assert idle.cpu_seconds < idle.seconds


def test_a_failing_child_stops_the_bench_with_what_it_said_however_much(
    run_bench: ModuleType,
) -> None:
    """200 kB on standard error is more than a pipe holds: read from a pipe only after the
    child ended, the child would have waited for a reader forever."""
    talker = "import sys; sys.stderr.write('why ' * 50_000 + 'the end'); sys.exit(3)"
    with pytest.raises(SystemExit) as stopped:
        run_bench._measured([sys.executable, "-c", talker])
    message = str(stopped.value)
    assert "failed (3)" in message
    assert message.endswith("why the end")


def test_isthmus_is_compiled_before_anything_is_measured(run_bench: ModuleType) -> None:
    cached = Path(importlib.util.cache_from_source(clock.__file__))
    cached.unlink(missing_ok=True)
    run_bench._compile_isthmus()
    assert cached.is_file()  # a measured run loads it instead of compiling the source
