"""Turn pydantic's validation errors into diagnostics that point into the YAML file."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from isthmus.config.documents import Locator, PathKey
from isthmus.diagnostics import Diagnostic


def model_diagnostics(
    error: ValidationError, document: Locator, model: type[BaseModel], base: PathKey = ()
) -> list[Diagnostic]:
    """One diagnostic per pydantic error, located at the offending key or value."""
    return [_one(detail, document, model, base) for detail in error.errors()]


def _one(
    detail: ErrorDetails, document: Locator, model: type[BaseModel], base: PathKey
) -> Diagnostic:
    loc = tuple(part for part in detail["loc"] if not _is_internal(part))
    path = (*base, *loc)
    kind = detail["type"]
    dotted = _dotted(path) or "the top level"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
        if allowed:
            listing = f"allowed keys here: {', '.join(allowed)}"
            hint = f"{hint} ({listing})" if hint else listing
        return Diagnostic(
            "unknown-key",
            f"unknown key {key!r} in {_dotted(path[:-1]) or 'file'}",
            document.location(path, at_key=True),
            hint=hint,
        )
    if kind == "missing":
        return Diagnostic(
            "missing-key",
            f"required key {str(loc[-1])!r} is missing in {_dotted(path[:-1]) or 'the file'}",
            document.location(path[:-1], at_key=True),
            hint=f"add {str(loc[-1])!r}; see the README for an example",
        )
    message = detail["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return Diagnostic(
        "invalid-value", f"{dotted}: {message}", document.location(path), hint=_value_hint(detail)
    )


def _value_hint(detail: ErrorDetails) -> str | None:
    if detail["type"] == "string_pattern_mismatch":
        ctx = detail.get("ctx") or {}
        return f"the value must match {ctx.get('pattern')}"
    if detail["type"] == "literal_error":
        ctx = detail.get("ctx") or {}
        return f"use one of {ctx.get('expected')}"
    return None


def _is_internal(part: int | str) -> bool:
    # pydantic names union members and tagged choices in loc; the YAML file has no such keys.
    return isinstance(part, str) and (
        part.startswith(("function-", "union[", "tagged-union["))
        or part in {"str", "int", "float", "bool", "list[...]", "dict[...]"}
    )


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model accepts at ``loc``, for a "did you mean" hint."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _step(annotation: Any, part: int | str) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) == 1:
            return models[0]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation
