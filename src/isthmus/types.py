"""The data types of isthmus: what a source field, a mapping expression and a core field can be.

One vocabulary shared by configuration (declared schemas), the mapping language (type checks)
and the connectors (Arrow schemas), so a type means the same thing in all of them.
Timestamps are always UTC instants with microsecond precision. A decimal is exact, with
``DECIMAL_PRECISION`` digits of which ``DECIMAL_SCALE`` follow the point (money, rates). A
json value is the JSON text of any value (object, array, string, number, boolean or null).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import polars as pl


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    JSON = "json"
    NULL = "null"
    STRUCT = "struct"
    LIST = "list"


SCALAR_KINDS = frozenset(
    {
        Kind.STRING,
        Kind.INTEGER,
        Kind.FLOAT,
        Kind.DECIMAL,
        Kind.BOOLEAN,
        Kind.TIMESTAMP,
        Kind.DATE,
        Kind.JSON,
    }
)
NUMERIC_KINDS = frozenset({Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL})
DECIMAL_PRECISION = 38
DECIMAL_SCALE = 9


@dataclass(frozen=True, slots=True)
class DataType:
    kind: Kind
    item: DataType | None = None
    fields: tuple[tuple[str, DataType], ...] = ()

    def __str__(self) -> str:
        if self.kind is Kind.LIST:
            return f"list[{self.item}]"
        if self.kind is Kind.STRUCT:
            inner = ", ".join(f"{name}: {t}" for name, t in self.fields)
            return f"struct{{{inner}}}"
        return self.kind.value

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALAR_KINDS

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def field(self, name: str) -> DataType | None:
        """The type of a named field of a struct, or None when there is no such field."""
        return dict(self.fields).get(name)

    def to_polars(self) -> pl.DataType:
        """The Polars dtype that holds values of this type."""
        if self.kind is Kind.LIST:
            assert self.item is not None
            return pl.List(self.item.to_polars())
        if self.kind is Kind.STRUCT:
            return pl.Struct({name: t.to_polars() for name, t in self.fields})
        return _SCALAR_DTYPES[self.kind]

    def to_text_polars(self) -> pl.DataType:
        """The dtype a source reads this type as: every scalar as text, shapes kept.

        Sources read scalars as text so that one malformed value never fails a whole batch;
        the engine then converts each field to its declared type and rejects the rows whose
        value does not convert, naming the field.
        """
        if self.kind is Kind.LIST:
            assert self.item is not None
            return pl.List(self.item.to_text_polars())
        if self.kind is Kind.STRUCT:
            return pl.Struct({name: t.to_text_polars() for name, t in self.fields})
        return pl.String()


STRING = DataType(Kind.STRING)
INTEGER = DataType(Kind.INTEGER)
FLOAT = DataType(Kind.FLOAT)
DECIMAL = DataType(Kind.DECIMAL)
BOOLEAN = DataType(Kind.BOOLEAN)
TIMESTAMP = DataType(Kind.TIMESTAMP)
DATE = DataType(Kind.DATE)
JSON = DataType(Kind.JSON)
NULL = DataType(Kind.NULL)

_SCALAR_DTYPES: dict[Kind, pl.DataType] = {
    Kind.STRING: pl.String(),
    Kind.INTEGER: pl.Int64(),
    Kind.FLOAT: pl.Float64(),
    Kind.DECIMAL: pl.Decimal(DECIMAL_PRECISION, DECIMAL_SCALE),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.TIMESTAMP: pl.Datetime("us", "UTC"),
    Kind.DATE: pl.Date(),
    Kind.JSON: pl.String(),  # the value's JSON text
    Kind.NULL: pl.Null(),
}

SCALAR_BY_NAME: dict[str, DataType] = {
    t.kind.value: t for t in (STRING, INTEGER, FLOAT, DECIMAL, BOOLEAN, TIMESTAMP, DATE, JSON)
}


def list_of(item: DataType) -> DataType:
    return DataType(Kind.LIST, item=item)


def struct_of(fields: dict[str, DataType]) -> DataType:
    return DataType(Kind.STRUCT, fields=tuple(fields.items()))


def parse_type(spec: Any) -> DataType:
    """Read a declared type: ``"string"``, ``"list[string]"``, ``[string]`` or a mapping of fields.

    Raises ValueError with a message fit for a diagnostic.
    """
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("list[") and text.endswith("]"):
            return list_of(parse_type(text[5:-1]))
        if text in SCALAR_BY_NAME:
            return SCALAR_BY_NAME[text]
        known = ", ".join([*SCALAR_BY_NAME, "list[T]", "a mapping of fields"])
        raise ValueError(f"unknown type {spec!r}; expected one of {known}")
    if isinstance(spec, list):
        if len(spec) != 1:
            raise ValueError("a list type names exactly one item type, e.g. [string]")
        return list_of(parse_type(spec[0]))
    if isinstance(spec, dict):
        if not spec:
            raise ValueError("a nested object declares at least one field")
        return struct_of({str(name): parse_type(inner) for name, inner in spec.items()})
    raise ValueError(f"a type is a name, a one-item list or a mapping, not {spec!r}")


def common_type(types: list[DataType]) -> DataType | None:
    """The type that holds values of every given type (null fits anywhere), or None if none does."""
    concrete = [t for t in types if t.kind is not Kind.NULL]
    if not concrete:
        return NULL
    first = concrete[0]
    if all(t == first for t in concrete):
        return first
    if all(t.is_numeric for t in concrete):
        # integers widen to the other kind; decimal and float together are float (inexact)
        kinds = {t.kind for t in concrete} - {Kind.INTEGER}
        return DECIMAL if kinds == {Kind.DECIMAL} else FLOAT
    return None


def assignable(source: DataType, target: DataType) -> bool:
    """Whether a value of ``source`` can be stored in a ``target`` field without a conversion."""
    if source == target or source.kind is Kind.NULL:
        return True
    # an integer fits a float or a decimal exactly; a decimal into a float is a conversion
    return source.kind is Kind.INTEGER and target.kind in (Kind.FLOAT, Kind.DECIMAL)
