"""The JSON text of fields declared ``json``, in frames parsed from JSON Lines.

A source hands a json field to the engine as the JSON text of whatever value the record
holds there. Polars, reading a field with a String schema, gives a number or a boolean as
its JSON text, but a string as its bare characters (``"red"`` arrives as ``red``, which is
not JSON, and ``"{}"`` would pass for an object), and writes an object or a list without
escaping backslashes or control characters (the string ``\\n`` would come back a newline).
So a second whole-block read, with those fields as Binary, which takes strings only, finds
the rows holding a string, which are encoded back to JSON; and a JSONPath match on each
line writes objects and lists as proper JSON. All of it is vectorized.

JSON numbers pass through 64-bit floats: one of more than 15 significant digits arrives
rounded (inside an object or a list, to within one unit of its last place). A source that
sends exact decimals sends them as JSON strings.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import polars as pl

from isthmus.types import DataType, Kind

JsonPath = tuple[str, ...]  # a field, and the fields of the objects it is nested in
LeafText = Callable[[pl.Expr], pl.Expr]  # a leaf's JSON text, from its value as first read
PROBE = "__isthmus_json_probe"
MATCH = "__isthmus_json_match"


def json_paths(fields: Mapping[str, DataType]) -> tuple[JsonPath, ...]:
    """The paths of every json field, top-level or nested in objects (not in lists)."""
    found: list[JsonPath] = []
    for name, data_type in fields.items():
        if data_type.kind is Kind.JSON:
            found.append((name,))
        elif data_type.kind is Kind.STRUCT:
            found.extend((name, *inner) for inner in json_paths(dict(data_type.fields)))
    return tuple(found)


def with_json_strings(
    data: bytes, frame: pl.DataFrame, paths: tuple[JsonPath, ...]
) -> pl.DataFrame:
    """``frame``, read from ``data``, with each json field holding its value's JSON text."""
    if not paths:
        return frame
    probe = pl.read_ndjson(io.BytesIO(data), schema=_probe_schema(paths), ignore_errors=True)
    lines = _lines(data)
    if probe.height != frame.height or lines.len() != frame.height:
        raise ValueError("the json fields' second read met a different number of records")
    helpers = [_at(pl.col(path[0]), path[1:]).alias(f"{PROBE}{i}") for i, path in enumerate(paths)]
    matched = [
        lines.str.json_path_match(_json_path(path)).alias(f"{MATCH}{i}")
        for i, path in enumerate(paths)
    ]
    frame = frame.with_columns(probe.select(helpers)).with_columns(matched)
    for index, path in enumerate(paths):
        text = _json_text(pl.col(f"{PROBE}{index}"), pl.col(f"{MATCH}{index}"))
        frame = frame.with_columns(_replaced(pl.col(path[0]), path[1:], text).alias(path[0]))
    return frame.drop(f"{kind}{i}" for i in range(len(paths)) for kind in (PROBE, MATCH))


def _lines(data: bytes) -> pl.Series:
    """The records' lines, as Polars reads them (it skips blank ones), split in one call."""
    split = pl.Series([data.decode("utf-8", errors="replace")]).str.split("\n").explode()
    return split.filter(split.str.strip_chars() != "")


def _json_path(path: JsonPath) -> str:
    """The JSONPath of a field, each name quoted: ``$['Meta']['tag']``."""
    return "$" + "".join("['" + name.replace("'", "\\'") + "']" for name in path)


def _json_text(string: pl.Expr, matched: pl.Expr) -> LeafText:
    """How a leaf's text is made from its first read (``current``), the probe (set where the
    value is a string) and its JSONPath match: a string quoted, an object or a list as the
    match wrote it, a number or a boolean as first read (which writes numbers exactly)."""
    return lambda current: (
        pl.when(string.is_not_null())
        .then(json_value(string.cast(pl.String)))
        .when(current.str.starts_with("{") | current.str.starts_with("["))
        .then(pl.coalesce(matched, current))
        .otherwise(current)
    )


def json_value(values: pl.Expr) -> pl.Expr:
    """The JSON text of each value; null for a null (Polars encodes structs, not single
    values: encode ``{"v": value}`` and cut the value out)."""
    encoded = pl.struct(values.alias("v")).struct.json_encode()
    return pl.when(values.is_not_null()).then(encoded.str.slice(5).str.head(-1))


def _probe_schema(paths: tuple[JsonPath, ...]) -> dict[str, pl.DataType]:
    tree: dict[str, object] = {}
    for path in paths:
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        node[path[-1]] = None
    return {name: _probe_type(inner) for name, inner in tree.items()}


def _probe_type(node: object) -> pl.DataType:
    if node is None:
        return pl.Binary()  # takes a JSON string, and turns anything else to null
    assert isinstance(node, dict)
    return pl.Struct({name: _probe_type(inner) for name, inner in node.items()})


def _at(expr: pl.Expr, rest: JsonPath) -> pl.Expr:
    for part in rest:
        expr = expr.struct.field(part)
    return expr


def _replaced(current: pl.Expr, rest: JsonPath, text: LeafText) -> pl.Expr:
    """``current`` with the leaf at ``rest`` (a field of its objects) made by ``text``."""
    if not rest:
        return text(current)
    inner = _replaced(pl.field(rest[0]), rest[1:], text).alias(rest[0])
    return current.struct.with_fields(inner)
