"""Values written in fixture files: read in a core field's type, compared, and shown.

YAML decides a value's type by how it is written (``42`` is a number, ``'42'`` text,
``2024-01-05`` a date). An expected value must already be of the field's type, so a
number written where text is expected is a problem in the file, not a silent mismatch.
Records are different: they stand for what a source delivers, so a YAML date or timestamp
in a record is passed on as its ISO-8601 text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from isthmus.types import DataType, Kind

# Floats are compared with this relative tolerance: 0.1 + 0.2 is 0.3 in a fixture.
FLOAT_TOLERANCE = 1e-9


class ValueTypeError(ValueError):
    """Why a written value cannot be a value of the field's type; the message says how to fix
    it."""


def typed_value(value: Any, data_type: DataType) -> Any:
    """``value`` as YAML read it, in the Python type of ``data_type``'s values; raises
    ValueTypeError when it cannot be one. Null is a value of every type."""
    if value is None:
        return None
    reader = _READERS.get(data_type.kind)
    if reader is None:
        raise ValueTypeError(f"has type {data_type}, which a fixture cannot compare")
    return reader(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueTypeError(f"is text, but {shown(value)} is not: quote it, '{_plain(value)}'")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueTypeError(f"is a boolean: write true or false, not {shown(value)}")


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueTypeError(f"is an integer, but {shown(value)} is not one")


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueTypeError(f"is a number, but {shown(value)} is not one: write it unquoted")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("nan")
        if number.is_finite():
            return number
    raise ValueTypeError(f"is a decimal number, but {shown(value)} is not one")


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.datetime.fromisoformat(value.strip())
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    raise ValueTypeError(
        f"is a timestamp, but {shown(value)} is not one: write it like 2024-01-05T10:00:00Z"
    )


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueTypeError(f"is a date, but {shown(value)} is not one: write it like 2024-01-05")


def same(expected: Any, actual: Any, data_type: DataType) -> bool:
    """Whether a mapped value equals the expected one (already in the field's type)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if data_type.kind is Kind.FLOAT:
        return math.isclose(expected, actual, rel_tol=FLOAT_TOLERANCE)
    if data_type.kind is Kind.JSON:
        try:
            return bool(json.loads(actual) == expected)
        except (TypeError, ValueError):
            return False
    return bool(expected == actual)


def value_matches(expected: Any, actual: str | None) -> bool:
    """Whether a rejection's offending value (as text, the way the quarantine keeps it) is the
    value a fixture expects: text as written, a number by its value."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool):
        return actual.strip().lower() == str(expected).lower()
    if isinstance(expected, int | float):
        try:
            return math.isclose(float(actual), expected, rel_tol=FLOAT_TOLERANCE)
        except ValueError:
            return False
    if isinstance(expected, dt.datetime | dt.date):
        return actual == _plain(expected)
    return bool(actual == expected)


def record_value(value: Any) -> Any:
    """A record's value as a source would deliver it in JSON: dates and timestamps as their
    ISO-8601 text, at any depth."""
    if isinstance(value, dict):
        return {key: record_value(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [record_value(inner) for inner in value]
    if isinstance(value, dt.datetime | dt.date):
        return _plain(value)
    return value


def shown(value: Any) -> str:
    """A value as a diff shows it: text quoted, null as null, timestamps in ISO-8601."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return _plain(value)
    if isinstance(value, dict | list):
        return json.dumps(record_value(value), ensure_ascii=False, default=str)
    return str(value)


def _plain(value: Any) -> str:
    """A value's text without quotes; a UTC timestamp ends in Z."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_READERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.STRING: _text,
    Kind.BOOLEAN: _boolean,
    Kind.INTEGER: _integer,
    Kind.FLOAT: _float,
    Kind.DECIMAL: _decimal,
    Kind.TIMESTAMP: _timestamp,
    Kind.DATE: _date,
    Kind.JSON: record_value,
}
