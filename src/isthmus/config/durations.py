"""Durations as configuration writes them: a number and a unit, ``30s``, ``15m``, ``2h``,
``1d``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> dt.timedelta:
    """``"15m"`` as a timedelta; ValueError with a message fit for a diagnostic."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit: 30s, 15m, 2h or 1d"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _checked(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_checked)]
