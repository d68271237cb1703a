"""The Polars implementations of the date functions, format_timestamp and now_utc.

A date is a calendar day without a zone. Dates and timestamps outside the years 1-9999 fail:
no consumer of a batch (Python's datetime among them) can hold them.
"""

from __future__ import annotations

import polars as pl

from isthmus.mapping.lowering import failing, trimmed
from isthmus.mapping.models import CallInput, Lowered
from isthmus.mapping.registry import NOW_COLUMN
from isthmus.types import Kind

ISO_DATE = r"^(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"


def to_date(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    if kind is Kind.TIMESTAMP:
        return Lowered(value.dt.date())  # timestamps are UTC: the UTC calendar day
    if kind is Kind.DATE:
        return Lowered(value)
    return failing(value, _iso_date(trimmed(value)))


def parse_date(call: CallInput) -> Lowered:
    value, fmt = call.values[0], call.options.get("fmt")
    text = trimmed(value)
    if fmt is None:
        return failing(value, _iso_date(text))
    parsed = text.str.strptime(pl.Date, str(fmt), strict=False)
    return failing(value, pl.when(parsed.dt.year().is_between(1, 9999)).then(parsed))


def _iso_date(text: pl.Expr) -> pl.Expr:
    # chrono's %Y and %m also read '+2024' and '5': the pattern holds them to YYYY-MM-DD
    shaped = pl.when(text.str.contains(ISO_DATE)).then(text)
    return shaped.str.to_date("%Y-%m-%d", strict=False)


def format_timestamp(call: CallInput) -> Lowered:
    value, kind = call.values[0], call.types[0].kind
    fmt, tz = str(call.options["fmt"]), str(call.options["tz"])
    if kind is Kind.DATE:  # its midnight, in no zone but UTC's: a day is not an instant
        midnight = value.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return Lowered(midnight.dt.strftime(fmt))
    return Lowered(value.dt.convert_time_zone(tz).dt.strftime(fmt))


def now_utc(call: CallInput) -> Lowered:
    return Lowered(pl.col(NOW_COLUMN))
