"""parse_timestamp: text to a UTC instant, as ISO-8601 or by a strftime (chrono) format.

ISO-8601 here means a date, optionally a time after ``T`` or a space (hours and minutes,
optional seconds and fraction), and optionally an offset (``Z``, ``+HH:MM``, ``+HHMM``).
A value without an offset is read in the call's zone; an instant that zone skips (a DST gap)
fails, and one it repeats takes the earlier reading.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.lowering import failing, trimmed
from isthmus.mapping.models import CallInput, Lowered, Node

ISO_PATTERN = (
    r"^(?<Y>[0-9]{4})-(?<m>[0-9]{2})-(?<d>[0-9]{2})"
    r"(?:[T ](?<H>[0-9]{2}):(?<M>[0-5][0-9])(?::(?<S>[0-5][0-9])(?:\.(?<f>[0-9]+))?)?"
    r"(?<z>Z|(?<sign>[+-])(?<oh>[0-9]{2}):?(?<om>[0-5][0-9]))?)?$"
)
INSTANT = pl.Datetime("us", "UTC")
# The common shape: date, T, time with seconds, optional fraction, an offset. Seconds are
# 00-59 here, so a leap second (:60, which chrono would roll into the next minute) takes the
# general path and fails there; years 0000, 0001 and 9999 take it too (COMMON_YEARS), because
# an offset can push them out of the years a datetime holds.
COMMON_ISO = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:?[0-5][0-9])$"
)
COMMON_YEARS = ("0002", "9998")  # compared as text: a plain pattern is twice as fast
COMMON_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
# The directives chrono reads; anything else after a % would make every row fail.
_DIRECTIVE = re.compile(
    r"%(?:[-_0]?[YCymbBhdeaAwuUWGgVjDxFvHkIlPpMSRTXrZcstn+]|\.?[369]?f|:{0,3}z|#z|%)"
)
_OFFSET_DIRECTIVE = re.compile(r"%(?::{0,3}|#)z")


def parse_timestamp(call: CallInput) -> Lowered:
    value = call.values[0]
    fmt, tz = call.options.get("fmt"), str(call.options.get("tz") or "UTC")
    text = trimmed(value)
    if fmt is not None:
        return failing(value, _in_range(_formatted(text, str(fmt), tz)))
    return failing(value, _iso(text, tz))


def _in_range(parsed: pl.Expr) -> pl.Expr:
    """Years 1-9999: what Python's datetime, and so every consumer of the batch, can hold."""
    return pl.when(parsed.dt.year().is_between(1, 9999)).then(parsed)


def _iso(text: pl.Expr, tz: str) -> pl.Expr:
    """Most exports write a full timestamp with an offset: those rows take chrono's parser
    (about 15x faster than the general path); the general path runs on the others alone."""
    low, high = COMMON_YEARS
    common = text.str.contains(COMMON_ISO) & text.str.slice(0, 4).is_between(
        pl.lit(low), pl.lit(high)
    )
    fast = (
        pl.when(common)
        .then(text)
        .str.to_datetime(COMMON_FORMAT, strict=False, time_unit="us", time_zone="UTC")
    )
    # The fast path's years (2-9998) stay in range whatever the offset; the general path's
    # are checked, which costs little since it sees only the other rows.
    general = _only_where_set(
        lambda rest: _in_range(_iso_general(rest, tz)), pl.when(common.not_()).then(text)
    )
    return pl.coalesce(fast, general)


def _only_where_set(parse: Callable[[pl.Expr], pl.Expr], text: pl.Expr) -> pl.Expr:
    """``parse`` computed on the rows where ``text`` is set, in one call per batch.

    Even on nulls the twenty-odd steps of the general path cost a pass over the whole batch
    each; gathering the few rows it must read first makes it nearly free when none need it.
    """

    def run(values: pl.Series) -> pl.Series:
        parsed = pl.repeat(None, values.len(), dtype=INSTANT, eager=True).alias(values.name)
        rows = values.is_not_null().arg_true()
        if rows.is_empty():
            return parsed
        some = pl.DataFrame({"text": values.gather(rows)}).select(parse(pl.col("text")))
        return parsed.scatter(rows, some.to_series())

    return text.map_batches(run, return_dtype=INSTANT)


def _iso_general(text: pl.Expr, tz: str) -> pl.Expr:
    parts = text.str.extract_groups(ISO_PATTERN)

    def part(name: str) -> pl.Expr:
        return parts.struct.field(name)

    fraction = pl.concat_str([part("f").fill_null(""), pl.lit("000000")]).str.slice(0, 6)
    clock = [part(name).fill_null("00") for name in ("H", "M", "S")]
    naive_text = pl.concat_str([part("Y"), part("m"), part("d"), *clock, fraction], separator="|")
    naive = (
        pl.when(part("Y") != "0000")  # year 0 is not a year a datetime holds
        .then(naive_text)
        .str.strptime(pl.Datetime("us"), "%Y|%m|%d|%H|%M|%S|%6f", strict=False)
    )
    hours, minutes = part("oh").cast(pl.Int64), part("om").cast(pl.Int64)
    sign = pl.when(part("sign") == "-").then(pl.lit(-1, pl.Int64)).otherwise(pl.lit(1, pl.Int64))
    offset = (
        pl.when(part("z") == "Z").then(pl.lit(0, pl.Int64)).otherwise(sign * (hours * 60 + minutes))
    )
    at_offset = naive.dt.replace_time_zone("UTC") - pl.duration(minutes=offset)
    valid_offset = hours.fill_null(0) <= 23
    return (
        pl.when(part("z").is_null()).then(_localized(naive, tz)).when(valid_offset).then(at_offset)
    )


def _formatted(text: pl.Expr, fmt: str, tz: str) -> pl.Expr:
    parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False)
    if _OFFSET_DIRECTIVE.search(fmt.replace("%%", "")):
        return parsed.dt.convert_time_zone("UTC")  # the value carries its own offset
    return _localized(parsed, tz)


def _localized(naive: pl.Expr, tz: str) -> pl.Expr:
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def check_format(fmt: str, node: Node, function: str = "parse_timestamp") -> None:
    """Refuse a format with a directive chrono does not read (or write)."""
    rest = _DIRECTIVE.sub("", fmt)
    if "%" in rest:
        at = rest.index("%")
        raise ArgumentError(
            "bad-arguments",
            f"{function}() argument 'fmt' has an unknown directive near {rest[at : at + 3]!r}",
            node,
            hint="use strftime directives such as %Y-%m-%d %H:%M:%S, %z for an offset",
        )


def check_zone(tz: str, node: Node, function: str = "parse_timestamp") -> None:
    """Refuse a zone that is not an IANA name, before anything runs."""
    if tz not in _zones() or not _polars_knows(tz):
        close = difflib.get_close_matches(tz, sorted(_zones()), n=3)
        raise ArgumentError(
            "bad-arguments",
            f"{function}() argument 'tz' is {tz!r}, which is not an IANA time zone name",
            node,
            hint=f"did you mean {' or '.join(close)}?"
            if close
            else "use a name like 'UTC' or 'Europe/Berlin'",
        )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


@lru_cache(maxsize=256)
def _polars_knows(tz: str) -> bool:
    try:
        pl.select(pl.lit(None, dtype=pl.Datetime("us")).dt.replace_time_zone(tz))
    except pl.exceptions.PolarsError:
        return False
    return True
