"""A custom function's call compiled to Polars, and the run-time checks on what it returns.

The call is one ``pl.map_batches`` over the whole batch: the function gets one Series per
argument, cast to the declared types, and must return a Series of the declared type and the
batch's length. Anything else is a mistake in the function's code, not in the data, so it
fails the run with :class:`CustomFunctionRunError` naming the function, instead of
quarantining rows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import NoReturn

import polars as pl

from isthmus.errors import ErrorClass, TerminalError
from isthmus.mapping.models import CallInput, Lowered
from isthmus.mapping.registry import Compiler
from isthmus.types import DataType


class CustomFunctionRunError(TerminalError):
    """A custom function raised, or returned something other than its declared result."""

    error_class = ErrorClass.CONFIG

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        raised = _raised_before(message) if hint is None else None
        if raised is not None:
            # Polars raises a function's error again as type(error)(str(error) + its own
            # note); keep the message and hint the error was raised with.
            message, hint = raised.message, raised.hint
            self.__cause__ = raised.__cause__
        super().__init__(message, hint=hint)


# The errors raised last, by their text, so the copy Polars makes can be recognised.
_RAISED: dict[str, CustomFunctionRunError] = {}
_REMEMBERED = 16


def _raise(error: CustomFunctionRunError) -> NoReturn:
    _RAISED.pop(str(error), None)
    _RAISED[str(error)] = error
    while len(_RAISED) > _REMEMBERED:
        del _RAISED[next(iter(_RAISED))]
    raise error


def _raised_before(message: str) -> CustomFunctionRunError | None:
    for text, error in list(_RAISED.items()):
        if message.startswith(text) and message != text:
            return error
    return None


@dataclass(frozen=True)
class CustomCall:
    """What a custom function's calls need: the callable and its declared types."""

    name: str
    function: Callable[..., pl.Series]
    params: tuple[DataType, ...]
    result: DataType
    can_fail: bool

    def where(self) -> str:
        """The function's file, for hints."""
        try:
            source = inspect.getsourcefile(self.function)
        except TypeError:
            source = None
        return f"{self.name}() in {source}" if source else f"{self.name}()"


def custom_compiler(call: CustomCall) -> Compiler:
    """The registry's compiler for ``call``'s function."""

    def lower(inputs: CallInput) -> Lowered:
        values = [
            value.cast(param.to_polars())
            for value, param in zip(inputs.values, call.params, strict=True)
        ]
        expr = pl.map_batches(
            values, _checked(call), return_dtype=call.result.to_polars(), returns_scalar=False
        )
        if not call.can_fail:
            return Lowered(expr)
        all_set = reduce(lambda a, b: a & b, [value.is_not_null() for value in values])
        return Lowered(expr, all_set & expr.is_null(), lambda result: all_set & result.is_null())

    return lower


def _checked(call: CustomCall) -> Callable[[Sequence[pl.Series]], pl.Series]:
    dtype = call.result.to_polars()

    def run(batch: Sequence[pl.Series]) -> pl.Series:
        length = _batch_length(batch)
        arguments = [_broadcast(series, length) for series in batch]
        try:
            result = call.function(*arguments)
        except Exception as exc:
            error = CustomFunctionRunError(
                f"custom function {call.name}() raised {type(exc).__name__}: {exc}",
                hint=f"fix {call.where()}; for a value it cannot handle, return null there "
                "(declare can_fail=True to quarantine those rows)",
            )
            error.__cause__ = exc
            _raise(error)
        return _result(call, result, length, dtype)

    return run


def _batch_length(batch: Sequence[pl.Series]) -> int:
    # A constant argument arrives as one value; the batch's columns say its length.
    lengths = {len(series) for series in batch} - {1}
    return lengths.pop() if lengths else 1


def _broadcast(series: pl.Series, length: int) -> pl.Series:
    if len(series) == length:
        return series
    return series.slice(0, 0) if length == 0 else series.extend_constant(series[0], length - 1)


def _result(call: CustomCall, result: object, length: int, dtype: pl.DataType) -> pl.Series:
    if not isinstance(result, pl.Series):
        _raise(
            CustomFunctionRunError(
                f"custom function {call.name}() returned a {type(result).__name__}, not a "
                "polars Series",
                hint=f"fix {call.where()}: return one pl.Series of {call.result} values",
            )
        )
    if len(result) != length:
        _raise(
            CustomFunctionRunError(
                f"custom function {call.name}() returned {len(result)} value(s) for a batch "
                f"of {length} row(s); it must return one value per row",
                hint=f"fix {call.where()}: return a Series as long as its arguments",
            )
        )
    if result.dtype == pl.Null:  # all null: fits any declared type
        return result.cast(dtype)
    if result.dtype != dtype:
        _raise(
            CustomFunctionRunError(
                f"custom function {call.name}() returned {result.dtype} values, but it is "
                f"declared to return {call.result} ({dtype})",
                hint=f"fix {call.where()}: cast its result with .cast(pl.{dtype}), or declare "
                "returns= as the type it returns",
            )
        )
    return result
