"""Loading a project's custom function modules: ``functions: [functions/scoring.py]``.

Each entry is a Python file inside the project, loaded on its own (not on ``sys.path``) and
without writing bytecode into the project. Its ``@custom_function`` declarations register
as it runs. Loading the same file again changes nothing; loading it after it changed
replaces what it registered. A file that cannot be found, lies outside the project, does
not import or registers a wrong declaration is a :class:`ModuleProblem`, never an exception.
"""

from __future__ import annotations

import hashlib
import re
import sys
import traceback
import types
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath, PureWindowsPath

from isthmus.mapping import custom

PATH_CODE = "custom-function-path"
LOAD_CODE = "custom-function-load"


@dataclass(frozen=True)
class ModuleProblem:
    code: str
    message: str
    hint: str


def load_function_modules(root: Path, entries: list[str]) -> list[ModuleProblem | None]:
    """Load the project's module files (relative to its folder ``root``); per entry, its
    problem or None.

    Custom functions that modules of another project loaded are removed: the registry holds
    the functions of the project loaded last (and those registered from Python directly).
    """
    with custom.LOCK:
        wanted = {module_name(path) for path in _module_paths(root, entries)}
        for origin in custom.loaded_modules() - wanted:
            custom.unregister_module(origin)
        return [_load(root, entry) for entry in entries]


def _module_paths(root: Path, entries: list[str]) -> list[Path]:
    return [path for path, _ in map(partial(_module_path, root), entries) if path is not None]


def _load(root: Path, entry: str) -> ModuleProblem | None:
    path, problem = _module_path(root, entry)
    if path is None:
        assert problem is not None
        return problem
    try:
        source = path.read_bytes()
    except OSError as exc:
        return ModuleProblem(
            PATH_CODE,
            f"functions module {entry} cannot be read: {exc.strerror}",
            "check the file's permissions",
        )
    name = module_name(path)
    digest = hashlib.sha256(source).hexdigest()
    if custom.loaded_digest(name) == digest:
        return None
    custom.unregister_module(name)
    problem = _execute(entry, path, name, source)
    if problem is None:
        custom.mark_loaded(name, digest)
    else:
        custom.unregister_module(name)  # all or nothing: no half-registered module
    return problem


def module_name(path: Path) -> str:
    """The name a module file loads under: one per file, so reloading it replaces itself."""
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return f"isthmus_functions_{stem}_{digest}"


def _module_path(root: Path, entry: str) -> tuple[Path | None, ModuleProblem | None]:
    """The file ``entry`` names, if it is a Python file inside the project."""
    written = PurePosixPath(entry.replace("\\", "/"))
    if written.is_absolute() or PureWindowsPath(entry).is_absolute() or ".." in written.parts:
        return None, ModuleProblem(
            PATH_CODE,
            f"functions module {entry} is not a path inside the project "
            "(absolute paths and .. are refused)",
            "write the path relative to the project folder, e.g. functions/scoring.py",
        )
    if written.suffix != ".py":
        return None, ModuleProblem(
            PATH_CODE,
            f"functions module {entry} is not a Python file",
            "name a .py file, e.g. functions/scoring.py",
        )
    base = root.resolve()
    path = (base / written).resolve()
    if not path.is_relative_to(base):
        return None, ModuleProblem(
            PATH_CODE,
            f"functions module {entry} leads outside the project (through a symbolic link, "
            f"to {path})",
            "keep the module's file inside the project folder",
        )
    if not path.is_file():
        return None, ModuleProblem(
            PATH_CODE,
            f"functions module {entry} does not exist in the project",
            "create the file, or correct the path (it is relative to the project folder)",
        )
    return path, None


def _execute(entry: str, path: Path, name: str, source: bytes) -> ModuleProblem | None:
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and pickling look their module up there
    try:
        with custom.loading(name):
            exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the project's code
    except custom.CustomFunctionError as exc:
        del sys.modules[name]
        return ModuleProblem(
            LOAD_CODE,
            f"functions module {entry} could not register a custom function{_line(exc, path)}: "
            f"{exc.message}",
            exc.hint or "fix the declaration",
        )
    except Exception as exc:  # the module's own error, whatever it is, is what to report
        del sys.modules[name]
        text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return ModuleProblem(
            LOAD_CODE,
            f"functions module {entry} failed to load{_line(exc, path)}: "
            f"{type(exc).__name__}: {text}",
            f"fix the error in {entry}",
        )
    return None


def _line(exc: BaseException, path: Path) -> str:
    """`` (line N)``: the module's line the error came from, when it came from the module."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path) and exc.lineno:
        return f" (line {exc.lineno})"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return f" (line {lines[-1]})" if lines and lines[-1] else ""
