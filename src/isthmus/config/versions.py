"""Semantic versions and the version ranges integrations use to pick a template.

Ranges follow npm's spelling, which most engineers already read fluently: ``2.1.0`` (exact),
``^2`` / ``^2.1`` (same major), ``~2.1`` (same minor), ``2.x``, ``*``, and comparators
(``>=2.1 <3``). A pre-release version matches only a range that names a pre-release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")
_PARTIAL = re.compile(r"^(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a semantic version like 2.1.0")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "")

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its pre-releases; pre-release parts compare numerically first.
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease.split("."))
        return (
            self.major,
            self.minor,
            self.patch,
            0 if self.prerelease else 1,
            parts if self.prerelease else (),
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core


@dataclass(frozen=True, slots=True)
class _Bound:
    op: str
    version: Version

    def admits(self, version: Version) -> bool:
        if self.op == ">=":
            return version >= self.version
        if self.op == ">":
            return version > self.version
        if self.op == "<=":
            return version <= self.version
        if self.op == "<":
            return version < self.version
        return version == self.version


@dataclass(frozen=True, slots=True)
class VersionRange:
    text: str
    bounds: tuple[_Bound, ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        text = text.strip()
        if text in ("", "*", "x", "X"):
            return cls(text or "*", ())
        bounds: list[_Bound] = []
        for part in text.replace(",", " ").split():
            bounds.extend(_parse_part(part))
        return cls(text, tuple(bounds))

    def admits(self, version: Version) -> bool:
        if version.prerelease and not any(b.version.prerelease for b in self.bounds):
            return False
        return all(bound.admits(version) for bound in self.bounds)

    def best(self, versions: list[Version]) -> Version | None:
        """The highest version the range admits, or None."""
        admitted = [v for v in versions if self.admits(v)]
        return max(admitted) if admitted else None

    def __str__(self) -> str:
        return self.text


def _parse_part(part: str) -> list[_Bound]:
    for op in (">=", "<=", ">", "<", "="):
        if part.startswith(op):
            return _comparator(op, part[len(op) :])
    if part.startswith("^"):
        return _caret(part[1:])
    if part.startswith("~"):
        return _tilde(part[1:])
    return _xrange(part)


def _comparator(op: str, text: str) -> list[_Bound]:
    """A comparator on a partial version covers the whole partial range, as npm reads it:
    ``<=2`` is ``<3.0.0``, ``>2.1`` is ``>=2.2.0``, ``=2`` is ``>=2.0.0 <3.0.0``."""
    numbers, _ = _pieces(text)
    if len(numbers) == 3 or not numbers:
        return [_Bound(op if op != "=" else "==", _floor(text))] if numbers else []
    following = (
        Version(numbers[0] + 1, 0, 0)
        if len(numbers) == 1
        else Version(numbers[0], numbers[1] + 1, 0)
    )
    if op == ">=":
        return [_Bound(">=", _floor(text))]
    if op == ">":
        return [_Bound(">=", following)]
    if op == "<":
        return [_Bound("<", _floor(text))]
    if op == "<=":
        return [_Bound("<", following)]
    return [_Bound(">=", _floor(text)), _Bound("<", following)]


def _pieces(text: str) -> tuple[list[int], str]:
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version range like ^2, ~2.1 or 2.1.0")
    numbers: list[int] = []
    for piece in match.groups()[:3]:
        if piece is None or piece in ("x", "X", "*"):
            break
        numbers.append(int(piece))
    return numbers, match.group(4) or ""


def _floor(text: str) -> Version:
    numbers, pre = _pieces(text)
    padded = [*numbers, 0, 0, 0][:3]
    return Version(padded[0], padded[1], padded[2], pre)


def _caret(text: str) -> list[_Bound]:
    numbers, _ = _pieces(text)
    low = _floor(text)
    if not numbers:
        return []
    if numbers[0] > 0 or len(numbers) == 1:
        high = Version(numbers[0] + 1, 0, 0)
    elif len(numbers) == 2 or numbers[1] > 0:
        high = Version(0, numbers[1] + 1, 0)
    else:
        high = Version(0, 0, numbers[2] + 1)
    return [_Bound(">=", low), _Bound("<", high)]


def _tilde(text: str) -> list[_Bound]:
    numbers, _ = _pieces(text)
    low = _floor(text)
    if not numbers:
        return []
    high = (
        Version(numbers[0] + 1, 0, 0)
        if len(numbers) == 1
        else Version(numbers[0], numbers[1] + 1, 0)
    )
    return [_Bound(">=", low), _Bound("<", high)]


def _xrange(text: str) -> list[_Bound]:
    numbers, _ = _pieces(text)
    if len(numbers) == 3:
        return [_Bound("==", _floor(text))]
    if not numbers:
        return []
    return _tilde(text) if len(numbers) == 2 else _caret(text)
