"""The process settings the `isthmus` command makes before any library loads: they only
work if nothing imports Polars before main() runs."""

from __future__ import annotations

import os
import subprocess
import sys

from isthmus.cli.app import POLARS_ALLOCATOR


def python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**{k: v for k, v in os.environ.items() if k != POLARS_ALLOCATOR[0]}, **env},
    )
    return done.stdout.strip()


def test_the_command_line_module_imports_no_polars_before_main_runs() -> None:
    loaded = python("import sys, isthmus.cli.app; print('polars' in sys.modules)")
    assert loaded == "False"


SHOW_AFTER_MAIN = """
import os, sys
from isthmus.cli.app import POLARS_ALLOCATOR, main
sys.argv = ["isthmus", "--version"]
try:
    main()
except SystemExit:
    pass
print("\\n" + os.environ.get(POLARS_ALLOCATOR[0], "unset"))
"""


def test_main_configures_polars_allocator_before_polars_loads() -> None:
    assert python(SHOW_AFTER_MAIN).splitlines()[-1] == POLARS_ALLOCATOR[1]


def test_an_allocator_setting_of_the_user_wins() -> None:
    chosen = python(SHOW_AFTER_MAIN, **{POLARS_ALLOCATOR[0]: "narenas:4"})
    assert chosen.splitlines()[-1] == "narenas:4"
