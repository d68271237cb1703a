"""A per-record Python reference of every mapping function, written from the documented
semantics (the function reference), independently of the Polars implementation.

Each reference takes one record's argument values (None for null) and the call's constants,
and returns an :data:`Outcome`: the value and whether the row failed. Regexes, the whitespace
set and the text forms are spelled out here again on purpose.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Any
from zoneinfo import ZoneInfo

Outcome = tuple[Any, bool]  # (value, whether the row failed)
OK_NULL: Outcome = (None, False)
FAILED: Outcome = (None, True)
WHITE_SPACE = (  # the Unicode White_Space property
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NINE_PLACES = Decimal("1e-9")
DECIMAL_LIMIT = Decimal(10) ** 29
_WIDE = Context(prec=200)  # enough digits that quantizing never overflows the context


def null_in(function: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """A function whose result is null, and not a failure, when its first input is null."""

    def wrapped(value: Any, *rest: Any, **options: Any) -> Outcome:
        return OK_NULL if value is None else function(value, *rest, **options)

    return wrapped


# ---- text forms ---------------------------------------------------------------------------


def float_text(value: float) -> str:
    """How a float is written: Python's repr, exponents unpadded, 1e-5 written out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if int(exponent) == -5:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if int(exponent) > 0 else '-'}{abs(int(exponent))}"


def text_of(value: Any) -> str:
    """A value's text, as to_string() writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, Decimal):
        return format(value.normalize(_WIDE), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---- text ---------------------------------------------------------------------------------

lower = null_in(lambda v: (v.lower(), False))
upper = null_in(lambda v: (v.upper(), False))
trim = null_in(lambda v: (v.strip(WHITE_SPACE), False))
to_string = null_in(lambda v: (text_of(v), False))


def concat(*values: Any) -> Outcome:
    return "".join("" if v is None else text_of(v) for v in values), False


def coalesce(*values: Any) -> Outcome:
    return next((v for v in values if v is not None), None), False


# ---- conversions --------------------------------------------------------------------------

INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?", re.ASCII)
INT64 = range(-(2**63), 2**63)
BOOLEAN_WORDS = dict.fromkeys(("true", "t", "yes", "y", "1"), True) | dict.fromkeys(
    ("false", "f", "no", "n", "0"), False
)


@null_in
def to_int(value: Any) -> Outcome:
    if isinstance(value, str):
        text = value.strip(WHITE_SPACE)
        if INTEGER_TEXT.fullmatch(text) and int(text) in INT64:
            return int(text), False
        return FAILED
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return FAILED
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return FAILED
    number = int(value)
    return (number, False) if number in INT64 else FAILED


@null_in
def to_float(value: Any) -> Outcome:
    if isinstance(value, str):
        text = value.strip(WHITE_SPACE)
        if FLOAT_TEXT.fullmatch(text) and math.isfinite(float(text)):
            return float(text), False
        return FAILED
    return float(value), False


@null_in
def to_bool(value: Any) -> Outcome:
    if isinstance(value, str):
        word = value.strip(WHITE_SPACE).lower()
        return (BOOLEAN_WORDS[word], False) if word in BOOLEAN_WORDS else FAILED
    if isinstance(value, bool):
        return value, False
    return {1: (True, False), 0: (False, False)}.get(value, FAILED)


def _nine_places(number: Decimal) -> Outcome:
    if number.copy_abs() >= DECIMAL_LIMIT:
        return FAILED
    rounded = number.quantize(NINE_PLACES, rounding=ROUND_HALF_EVEN, context=_WIDE)
    return FAILED if rounded.copy_abs() >= DECIMAL_LIMIT else (rounded, False)


@null_in
def to_decimal(value: Any) -> Outcome:
    if isinstance(value, str):
        text = value.strip(WHITE_SPACE)
        return _nine_places(Decimal(text)) if DECIMAL_TEXT.fullmatch(text) else FAILED
    if isinstance(value, float):
        if not math.isfinite(value):
            return FAILED
        return _nine_places(Decimal(0) if abs(value) < 1e-10 else Decimal(float_text(value)))
    return _nine_places(Decimal(value))


# ---- numbers ------------------------------------------------------------------------------


@null_in
def round_number(value: Any, digits: int = 0) -> Outcome:
    """Halves away from zero; a float's half judged on value * 10^digits as a float."""
    if isinstance(value, bool | int):
        return value, False
    if isinstance(value, Decimal):
        step = Decimal(1).scaleb(-digits)
        rounded = value.quantize(step, rounding=ROUND_HALF_UP, context=_WIDE)
        return FAILED if rounded.copy_abs() >= DECIMAL_LIMIT else (rounded, False)
    scale = 10.0**digits
    scaled = value * scale
    if not math.isfinite(scaled):
        return value, False
    if abs(scaled) >= 2.0**52:  # every float this large is whole already
        return scaled / scale, False
    whole = float(Decimal(scaled).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_WIDE))
    return whole / scale, False


@null_in
def absolute(value: Any) -> Outcome:
    if isinstance(value, int) and value == -(2**63):
        return FAILED
    return (value.copy_abs() if isinstance(value, Decimal) else abs(value)), False


# ---- null handling and hash --------------------------------------------------------------


def default(value: Any, fallback: Any) -> Outcome:
    return (fallback if value is None else value), False


def nullif(value: Any, other: Any) -> Outcome:
    if value is None or other is None:
        return value, False
    same = value == other or (_is_nan(value) and _is_nan(other))  # NaN equals NaN here
    return (None if same else value), False


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def is_null(value: Any) -> Outcome:
    return value is None, False


hash_value = null_in(lambda v: (hashlib.sha256(text_of(v).encode("utf-8")).hexdigest(), False))


# ---- dates and timestamps ---------------------------------------------------------------

ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
ISO_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-5][0-9])"
    r"(?::([0-5][0-9])(?:\.([0-9]+))?)?(Z|([+-])([0-9]{2}):?([0-5][0-9]))?)?",
    re.ASCII,
)


def _iso_date(text: str) -> Outcome:
    match = ISO_DATE.fullmatch(text.strip(WHITE_SPACE))
    if match is None:
        return FAILED
    try:
        return date(*(int(part) for part in match.groups())), False
    except ValueError:
        return FAILED  # year 0, month 13, 30 February


@null_in
def to_date(value: Any) -> Outcome:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date(), False
    if isinstance(value, date):
        return value, False
    return _iso_date(value)


DAY_MONTH_YEAR = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})", re.ASCII)


@null_in
def parse_date(value: str, fmt: str | None = None) -> Outcome:
    """Without fmt, ISO text; the one fmt the properties use is '%d/%m/%Y'."""
    if fmt is None:
        return _iso_date(value)
    assert fmt == "%d/%m/%Y"
    match = DAY_MONTH_YEAR.fullmatch(value.strip(WHITE_SPACE))
    if match is None:
        return FAILED
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day), False
    except ValueError:
        return FAILED


@null_in
def parse_timestamp(value: str, tz: str = "UTC") -> Outcome:
    match = ISO_TIMESTAMP.fullmatch(value.strip(WHITE_SPACE))
    if match is None:
        return FAILED
    year, month, day, hour, minute, second, fraction, zone, sign, oh, om = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "").ljust(6, "0")[:6]),
        )
        if zone is None:
            local = naive.replace(tzinfo=ZoneInfo(tz))
            if local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) != naive:
                return FAILED  # a wall time the zone skips
            return local.astimezone(UTC), False
        if int(oh or 0) > 23:
            return FAILED
        offset = timedelta(hours=int(oh or 0), minutes=int(om or 0))
        return (naive - offset if sign != "-" else naive + offset).replace(tzinfo=UTC), False
    except (ValueError, OverflowError):
        return FAILED


@null_in
def format_timestamp(value: date, fmt: str = "%Y-%m-%dT%H:%M:%SZ", tz: str = "UTC") -> Outcome:
    """The formats the properties use: the default and '%Y-%m-%d %H:%M %z'."""
    if isinstance(value, datetime):
        local = value.astimezone(ZoneInfo(tz))
    else:  # a date: its midnight, in UTC
        local = datetime(value.year, value.month, value.day, tzinfo=UTC)
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if fmt == "%Y-%m-%dT%H:%M:%SZ":
        return f"{day}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}Z", False
    assert fmt == "%Y-%m-%d %H:%M %z"
    offset = local.strftime("%z")
    return f"{day} {local.hour:02d}:{local.minute:02d} {offset}", False


def now_utc(now: datetime) -> Outcome:
    return now, False


# ---- regular expressions, text and lists -----------------------------------------------


@null_in
def regex_match(value: str, pattern: str) -> Outcome:
    return re.search(pattern, value) is not None, False


@null_in
def regex_extract(value: str, pattern: str, group: int = 1) -> Outcome:
    found = re.search(pattern, value)
    return (None if found is None else found.group(group)), False


def python_replacement(replacement: str) -> str:
    """A $1 / ${name} / $$ replacement in Python's re.sub syntax."""
    parts = re.split(r"(\$\$|\$\{[^}]*\}|\$[0-9A-Za-z_]*)", replacement)
    out = []
    for part in parts:
        if part == "$$":
            out.append("$")
        elif part.startswith("${"):
            out.append(f"\\g<{part[2:-1]}>")
        elif part.startswith("$") and len(part) > 1:
            out.append(f"\\g<{part[1:]}>")
        else:
            out.append(part.replace("\\", "\\\\"))
    return "".join(out)


@null_in
def regex_replace(value: str, pattern: str, replacement: str) -> Outcome:
    return re.sub(pattern, python_replacement(replacement), value), False


split = null_in(lambda value, sep: (value.split(sep), False))
join = null_in(lambda items, sep: (sep.join(text_of(i) for i in items if i is not None), False))
length = null_in(lambda value: (len(value), False))
first = null_in(lambda items: (items[0] if items else None, False))
last = null_in(lambda items: (items[-1] if items else None, False))


@null_in
def substring(value: str, start: int, length: int | None = None) -> Outcome:
    begin = start if start >= 0 else max(len(value) + start, 0)
    rest = value[begin:]
    return (rest if length is None else rest[:length]), False


@null_in
def mask(value: str, keep: int = 4, char: str = "*") -> Outcome:
    hidden = max(len(value) - keep, 0)
    return char * hidden + value[hidden:], False


def lookup(
    value: Any, table: dict[Any, Any], default: Any = None, ignore_case: bool = False
) -> Outcome:
    if value is None:
        return OK_NULL
    folded = {k.lower() if ignore_case else k: v for k, v in table.items()}
    key = value.lower() if ignore_case else value
    if key in folded:
        return folded[key], False
    return default, default is None


# ---- json ---------------------------------------------------------------------------------


class NotJsonError(ValueError):
    pass


def _refuse(text: str) -> Any:
    raise NotJsonError(text)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotJsonError(text)
    return number


def _number(text: str) -> int | float:
    """An integer as Polars keeps it: exact within 64 bits, else the nearest float."""
    number = int(text)
    if -(2**63) <= number < 2**64:
        return number
    return _finite(text)


def strict_json(text: str) -> Any:
    """The value of RFC 8259 JSON text; NotJsonError for anything else (NaN, lone surrogates,
    numbers past a float's range)."""
    try:
        value = json.loads(
            text, parse_constant=_refuse, parse_float=_finite, parse_int=_number, strict=True
        )
    except (ValueError, RecursionError) as exc:
        raise NotJsonError(text) from exc
    _no_surrogates(value)
    return value


def _no_surrogates(value: Any) -> None:
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        texts += list(value)
        for inner in value.values():
            _no_surrogates(inner)
    elif isinstance(value, list):
        for inner in value:
            _no_surrogates(inner)
    if any(0xD800 <= ord(c) <= 0xDFFF for t in texts for c in t):
        raise NotJsonError("a lone surrogate")


@null_in
def parse_json(value: str) -> Outcome:
    try:
        strict_json(value)
    except NotJsonError:
        return FAILED
    return value, False


PATH_PART = re.compile(r"\.?([^.\[\]'\"\\]+)|\[([0-9]+)\]")


@null_in
def json_get(document: str, path: str) -> Outcome:
    """The value at the path as a Python value (compared with the JSON text's value)."""
    try:
        current = strict_json(document)
    except NotJsonError:
        return FAILED
    for name, index in (m.groups() for m in PATH_PART.finditer(path)):
        if name is not None and isinstance(current, dict) and name in current:
            current = current[name]
        elif index is not None and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return OK_NULL
    return current, False
