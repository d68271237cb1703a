"""Diagnostic codes of custom functions: the modules ``functions:`` lists, and their use."""

from __future__ import annotations

import os
from pathlib import Path

from support_diagnostics import Case, append_to, write_file

SETTINGS = "isthmus.yaml"
ACME = "integrations/acme/crm.yaml"

SHOUT = '''\
import polars as pl

from isthmus.mapping.custom import custom_function


@custom_function(name="shout", params={"text": "string"}, returns="string")
def shout(text: pl.Series) -> pl.Series:
    """The text in upper case."""
    return text.str.to_uppercase()
'''


def _declare(root: Path, entry: str) -> None:
    append_to(root, SETTINGS, f"functions: [{entry}]\n")


def _absolute(root: Path) -> None:
    write_file(root, "functions/shout.py", SHOUT)
    _declare(root, str(root / "functions/shout.py"))


def _parent(root: Path) -> None:
    write_file(root.parent, "shared/shout.py", SHOUT)
    _declare(root, "../shared/shout.py")


def _symlink_out(root: Path) -> None:
    write_file(root.parent, "outside/shout.py", SHOUT)
    (root / "functions").mkdir()
    os.symlink(root.parent / "outside", root / "functions/linked")
    _declare(root, "functions/linked/shout.py")


def _missing(root: Path) -> None:
    _declare(root, "functions/nowhere.py")


def _not_python(root: Path) -> None:
    write_file(root, "functions/shout.txt", SHOUT)
    _declare(root, "functions/shout.txt")


def _syntax_error(root: Path) -> None:
    write_file(root, "functions/broken.py", "def shout(:\n")
    _declare(root, "functions/broken.py")


def _clashing(root: Path) -> None:
    write_file(root, "functions/lower.py", SHOUT.replace('name="shout"', 'name="lower"'))
    _declare(root, "functions/lower.py")


def _used_without_exception(root: Path) -> None:
    write_file(root, "functions/shout.py", SHOUT)
    _declare(root, "functions/shout.py")
    append_to(
        root, ACME, "overrides:\n  mappings:\n    accounts:\n      fields: {name: shout(Name)}\n"
    )


CASES = [
    Case("custom-function-path", _absolute, SETTINGS, "functions: [", 12, name="absolute"),
    Case("custom-function-path", _parent, SETTINGS, "../shared/shout.py", name="parent"),
    Case("custom-function-path", _symlink_out, SETTINGS, "functions/linked", name="symlink"),
    Case("custom-function-path", _missing, SETTINGS, "functions/nowhere.py", name="missing"),
    Case("custom-function-path", _not_python, SETTINGS, "functions/shout.txt", name="not-python"),
    Case("custom-function-load", _syntax_error, SETTINGS, "functions/broken.py", name="syntax"),
    Case("custom-function-load", _clashing, SETTINGS, "functions/lower.py", name="clash"),
    Case("custom-function-requires-exception", _used_without_exception, ACME, "shout(Name)"),
]
