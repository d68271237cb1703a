"""The Polars implementations of the regular expression, text and list functions.

Lengths and positions count characters (Unicode code points), not bytes.
"""

from __future__ import annotations

import polars as pl

from isthmus.mapping.lowering import text_of
from isthmus.mapping.models import CallInput, Lowered
from isthmus.types import INTEGER, Kind


def regex_match(call: CallInput) -> Lowered:
    return Lowered(call.values[0].str.contains(str(call.options["pattern"])))


def regex_extract(call: CallInput) -> Lowered:
    pattern, group = str(call.options["pattern"]), int(call.options["group"] or 0)
    return Lowered(call.values[0].str.extract(pattern, group))  # null where nothing matches


def regex_replace(call: CallInput) -> Lowered:
    pattern, replacement = str(call.options["pattern"]), str(call.options["replacement"])
    return Lowered(call.values[0].str.replace_all(pattern, replacement))


def split(call: CallInput) -> Lowered:
    return Lowered(call.values[0].str.split(str(call.options["sep"])))


def join(call: CallInput) -> Lowered:
    items, item_type = call.values[0], call.types[0].item
    if item_type is not None and item_type.kind is not Kind.STRING:
        items = items.list.eval(text_of(pl.element(), item_type))  # as to_string writes them
    return Lowered(items.list.join(str(call.options["sep"]), ignore_nulls=True))


def length(call: CallInput) -> Lowered:
    value = call.values[0]
    counted = value.str.len_chars() if call.types[0].kind is Kind.STRING else value.list.len()
    return Lowered(counted.cast(INTEGER.to_polars()))


def substring(call: CallInput) -> Lowered:
    """From ``start`` (0-based; a negative one counts back from the end, and stops at the
    text's first character), at most ``length`` characters (to the end without one)."""
    value, start = call.values[0], int(call.options["start"] or 0)
    size = call.options.get("length")
    count = None if size is None else int(size)
    if start >= 0:
        return Lowered(value.str.slice(start, count))
    offset = pl.max_horizontal(value.str.len_chars().cast(pl.Int64) + start, pl.lit(0, pl.Int64))
    return Lowered(value.str.slice(offset, count))


def mask(call: CallInput) -> Lowered:
    value, keep, char = call.values[0], int(call.options["keep"] or 0), str(call.options["char"])
    chars = value.str.len_chars()
    hidden = pl.max_horizontal(chars.cast(pl.Int64) - keep, pl.lit(0, pl.Int64))
    return Lowered(value.str.slice(hidden).str.pad_start(chars, char))


def first(call: CallInput) -> Lowered:
    return Lowered(call.values[0].list.first())  # null for an empty list


def last(call: CallInput) -> Lowered:
    return Lowered(call.values[0].list.last())
