"""Custom functions: a project's own Python functions, callable from mapping expressions.

A custom function gets one Polars Series per argument (the whole batch, already of the
declared types) and returns one Series of the declared type and the same length::

    import polars as pl
    from isthmus.mapping.custom import custom_function

    @custom_function(name="score_band", params={"score": "float"}, returns="string")
    def score_band(score: pl.Series) -> pl.Series:
        \"\"\"'hot' from a score of 50 up, 'cold' below.\"\"\"
        return (score >= 50).replace_strict({True: "hot", False: "cold"}, return_dtype=pl.String)

It joins the mapping language's registry (type-checked like a built-in function) and is
compiled to ``pl.map_batches``, checked at run time by :mod:`custom_lowering`. With
``can_fail=True`` a null result for arguments that are all set is a row failure, which
quarantines the row. Which registered functions are custom, and which module registered
each, is kept here: the registry's own shapes stay those of the built-in functions.
"""

from __future__ import annotations

import inspect
import keyword
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

import polars as pl

from isthmus.mapping.custom_lowering import CustomCall, CustomFunctionRunError, custom_compiler
from isthmus.mapping.errors import MappingError
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import FUNCTIONS, FunctionSpec, Parameter, ParamKind, register
from isthmus.types import SCALAR_BY_NAME, DataType

__all__ = [
    "CustomFunctionError",
    "CustomFunctionRunError",
    "custom_function",
    "custom_function_names",
    "is_custom_function",
    "isolated_custom_functions",
    "on_registry_change",
    "register_custom_function",
    "unregister_custom_function",
]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PARAM_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TYPE_NAMES = ", ".join(SCALAR_BY_NAME)

F = TypeVar("F", bound=Callable[..., pl.Series])


class CustomFunctionError(MappingError):
    """A custom function's declaration is wrong (its name, parameters, types or callable)."""


# custom function name -> the module that registered it; each is also in FUNCTIONS
_CUSTOM: dict[str, str] = {}
# module name -> digest of the source it was last loaded from (see custom_modules)
_LOADED: dict[str, str] = {}
_CHANGED: list[Callable[[], None]] = []
_loading: list[str | None] = [None]  # the module being loaded: it registers what runs now
LOCK = threading.RLock()  # loading and registering from several threads (the web server)


def custom_function(
    *,
    name: str,
    params: Mapping[str, str],
    returns: str,
    can_fail: bool = False,
    doc: str | None = None,
) -> Callable[[F], F]:
    """Register the decorated callable as the custom function ``name``; see the module doc.

    ``params`` maps each argument's name to its type name (string, integer, float, decimal,
    boolean, timestamp, date, json), in call order; ``returns`` is the result's type name;
    ``doc`` (default: the docstring's first line) is what the function reference shows.
    Raises CustomFunctionError for a declaration that is wrong.
    """

    def decorate(function: F) -> F:
        register_custom_function(
            function, name=name, params=params, returns=returns, can_fail=can_fail, doc=doc
        )
        return function

    return decorate


def register_custom_function(
    function: Callable[..., pl.Series],
    *,
    name: str,
    params: Mapping[str, str],
    returns: str,
    can_fail: bool = False,
    doc: str | None = None,
) -> FunctionSpec:
    """Register ``function`` as the custom function ``name`` (what the decorator does).

    The same module registering the same name again (a module loaded again after a change)
    replaces its function; any other clash is an error.
    """
    with LOCK:  # checked and registered at once: two threads may register the same name
        origin = _loading[0] or getattr(function, "__module__", None) or "?"
        _check_name(name, origin)
        spec = _spec(function, name, params, returns, can_fail, doc)
        register(spec)
        _CUSTOM[name] = origin
        _changed()
    return spec


def _spec(
    function: Callable[..., pl.Series],
    name: str,
    params: Mapping[str, str],
    returns: str,
    can_fail: bool,
    doc: str | None,
) -> FunctionSpec:
    types = _parameter_types(name, params)
    result = _type_of(name, returns, "the result (returns=)")
    if not isinstance(can_fail, bool):
        raise CustomFunctionError(f"custom function {name}(): can_fail must be True or False")
    _check_callable(name, function, len(types))
    described = _doc(name, function, doc)
    call = CustomCall(name, function, tuple(types.values()), result, can_fail)
    return FunctionSpec(
        name=name,
        params=tuple(
            Parameter(param, ParamKind.VALUE, (data_type,), f"a {data_type} value")
            for param, data_type in types.items()
        ),
        returns=str(result),
        result=_returns(result),
        compile=custom_compiler(call),
        doc=described,
        can_fail=can_fail,
    )


def unregister_custom_function(name: str) -> None:
    """Remove the custom function ``name``; a module that registered it loads again next time."""
    with LOCK:
        origin = _CUSTOM.pop(name, None)
        if origin is None:
            raise CustomFunctionError(f"no custom function named {name!r} is registered")
        FUNCTIONS.pop(name, None)
        _LOADED.pop(origin, None)
        _changed()


def unregister_module(origin: str) -> None:
    """Remove every custom function module ``origin`` registered (before loading it again)."""
    with LOCK:
        for name in [n for n, registered_by in _CUSTOM.items() if registered_by == origin]:
            del _CUSTOM[name]
            FUNCTIONS.pop(name, None)
        _LOADED.pop(origin, None)
        _changed()


def custom_function_names() -> frozenset[str]:
    """The names of the custom functions registered now."""
    return frozenset(_CUSTOM)


def is_custom_function(name: str) -> bool:
    return name in _CUSTOM


def loaded_digest(origin: str) -> str | None:
    """The source digest module ``origin`` was loaded from, if it loaded and still counts."""
    return _LOADED.get(origin)


def mark_loaded(origin: str, digest: str) -> None:
    _LOADED[origin] = digest


def loaded_modules() -> frozenset[str]:
    """The modules loaded from a project's files whose functions are registered."""
    return frozenset(_LOADED)


@contextmanager
def loading(origin: str) -> Iterator[None]:
    """Registrations inside count as module ``origin``'s, whatever module defined the
    callable (a module may register a function it imports)."""
    with LOCK:
        _loading[0] = origin
        try:
            yield
        finally:
            _loading[0] = None


def on_registry_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever a custom function is registered or removed (caches)."""
    _CHANGED.append(callback)


@contextmanager
def isolated_custom_functions() -> Iterator[None]:
    """Whatever is registered or loaded inside is gone after: the registry is process-wide,
    and tests must not leave functions behind for the next one."""
    with LOCK:
        custom, loaded = dict(_CUSTOM), dict(_LOADED)
        functions = dict(FUNCTIONS)
    try:
        yield
    finally:
        with LOCK:
            FUNCTIONS.clear()
            FUNCTIONS.update(functions)
            _CUSTOM.clear()
            _CUSTOM.update(custom)
            _LOADED.clear()
            _LOADED.update(loaded)
            _changed()


def _changed() -> None:
    for callback in _CHANGED:
        callback()


def _returns(result: DataType) -> Callable[[Binding], DataType]:
    return lambda _binding: result


def _check_name(name: object, origin: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise CustomFunctionError(
            f"custom function name {name!r} is not a valid name",
            hint="use lower-case letters, digits and _, starting with a letter, e.g. score_band",
        )
    if name in FUNCTIONS and name not in _CUSTOM:
        raise CustomFunctionError(
            f"custom function {name}() clashes with the built-in function {name}()",
            hint="give the custom function another name",
        )
    other = _CUSTOM.get(name)
    if other is not None and other != origin:
        raise CustomFunctionError(
            f"custom function {name}() is already registered by module {other}",
            hint="give one of them another name",
        )


def _parameter_types(name: str, params: object) -> dict[str, DataType]:
    if not isinstance(params, Mapping) or not params:
        raise CustomFunctionError(
            f"custom function {name}(): params must map each argument's name to its type, "
            f"e.g. {{'value': 'string'}}; found {params!r}",
            hint="a custom function takes at least one argument",
        )
    types: dict[str, DataType] = {}
    for param, type_name in params.items():
        if not isinstance(param, str) or not PARAM_PATTERN.match(param) or keyword.iskeyword(param):
            raise CustomFunctionError(
                f"custom function {name}(): parameter name {param!r} is not a valid name",
                hint="use lower-case letters, digits and _, e.g. value",
            )
        types[param] = _type_of(name, type_name, f"parameter {param!r}")
    return types


def _type_of(name: str, type_name: object, what: str) -> DataType:
    found = SCALAR_BY_NAME.get(type_name) if isinstance(type_name, str) else None
    if found is None:
        raise CustomFunctionError(
            f"custom function {name}(): unknown type {type_name!r} for {what}",
            hint=f"use one of {TYPE_NAMES}",
        )
    return found


def _check_callable(name: str, function: object, count: int) -> None:
    if not callable(function):
        raise CustomFunctionError(f"custom function {name}(): {function!r} is not callable")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some built-in callables have none; the call will tell
        return
    try:
        signature.bind(*range(count))
    except TypeError as exc:
        raise CustomFunctionError(
            f"custom function {name}(): params declares {count} argument(s), but the Python "
            f"function {getattr(function, '__name__', function)}{signature} cannot take them: "
            f"{exc}",
            hint="declare one params entry per positional argument of the function",
        ) from None


def _doc(name: str, function: object, doc: object) -> str:
    text = doc if doc is not None else inspect.getdoc(function)
    if text is not None and not isinstance(text, str):
        raise CustomFunctionError(f"custom function {name}(): doc must be text, not {text!r}")
    first = (text or "").strip().split("\n\n", 1)[0]
    described = " ".join(first.split())
    if not described:
        raise CustomFunctionError(
            f"custom function {name}() has no description",
            hint="pass doc='what it returns', or give the function a docstring",
        )
    return described
