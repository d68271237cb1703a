"""Registers the regular expression, text and list functions.

Patterns use the syntax of Rust's regex crate, which Polars runs: Perl-like classes and
quantifiers, named groups ``(?<name>...)``, no look-around and no backreferences. A pattern
Polars cannot compile would fail every batch, so it is refused at type-check time.
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from isthmus.mapping import lowering_text
from isthmus.mapping.errors import ArgumentError
from isthmus.mapping.models import Binding
from isthmus.mapping.registry import (
    ANY_LIST,
    BAD_ARGUMENTS,
    FunctionSpec,
    option,
    register,
    returns,
    value,
)
from isthmus.types import BOOLEAN, INTEGER, NULL, STRING, DataType, Kind, list_of

# $name (the longest run of letters, digits and _), ${name}, or $$ for a literal $
_REFERENCE = re.compile(r"\$(?:\$|\{([^}]*)\}|([0-9A-Za-z_]*))")


def pattern_groups(binding: Binding) -> tuple[str, ...]:
    """The pattern's capture groups by name (their number when unnamed), or a problem."""
    pattern = str(binding.options["pattern"])
    groups = _compiled_groups(pattern)
    if isinstance(groups, str):
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"{binding.function}() argument 'pattern' is not a valid regular expression: {groups}",
            binding.option_nodes["pattern"],
            hint="escape a literal character with \\ (e.g. \\( or \\.); look-around and "
            "backreferences are not supported",
        )
    return groups


def check_group(binding: Binding, groups: tuple[str, ...]) -> None:
    group = binding.options.get("group")
    if isinstance(group, int) and 0 <= group <= len(groups):
        return
    node = binding.option_nodes.get("group", binding.option_nodes["pattern"])
    raise ArgumentError(
        BAD_ARGUMENTS,
        f"regex_extract() argument 'group' is {group!r}, but the pattern has "
        f"{len(groups)} group{'' if len(groups) == 1 else 's'}",
        node,
        hint="group=0 is the whole match; put the part to extract in parentheses",
    )


def check_replacement(binding: Binding, groups: tuple[str, ...]) -> None:
    """Refuse a $reference to a group the pattern does not have (it would silently be '')."""
    replacement = str(binding.options["replacement"])
    known = {"0", *groups, *(str(number) for number in range(1, len(groups) + 1))}
    for found in _REFERENCE.finditer(replacement):
        if found.group(0) == "$$":
            continue
        name = found.group(1) if found.group(1) is not None else found.group(2)
        if name not in known:
            raise ArgumentError(
                BAD_ARGUMENTS,
                f"regex_replace() argument 'replacement' refers to group {found.group(0)!r}, "
                f"which the pattern does not have",
                binding.option_nodes["replacement"],
                hint=f"the pattern's groups: {', '.join(sorted(known))}; write $$ for a "
                "literal $, and ${1}x for group 1 followed by x",
            )


@lru_cache(maxsize=512)
def _compiled_groups(pattern: str) -> tuple[str, ...] | str:
    """The group names Polars compiles the pattern to, or why it cannot."""
    try:
        schema = pl.select(pl.lit("", dtype=pl.String).str.extract_groups(pattern)).schema
    except pl.exceptions.PolarsError as exc:
        return _reason(str(exc))
    dtype = next(iter(schema.values()))
    assert isinstance(dtype, pl.Struct)
    return tuple(field.name for field in dtype.fields)


def _reason(message: str) -> str:
    """The regex crate's own words: the line after 'error: ' in Polars' message."""
    for line in message.splitlines():
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    return message.splitlines()[0] if message else "it does not compile"


_TEXT = value(STRING, doc="the text")
_PATTERN = option("pattern", (STRING,), "a regular expression", required=True)


def _matched(binding: Binding) -> DataType:
    pattern_groups(binding)
    return BOOLEAN


def _extracted(binding: Binding) -> DataType:
    check_group(binding, pattern_groups(binding))
    return STRING


def _replaced(binding: Binding) -> DataType:
    check_replacement(binding, pattern_groups(binding))
    return STRING


def _split(binding: Binding) -> DataType:
    if binding.options["sep"] == "":
        raise ArgumentError(
            BAD_ARGUMENTS,
            "split() argument 'sep' is empty",
            binding.option_nodes["sep"],
            hint="split on a character or text such as ',' or '; '",
        )
    return list_of(STRING)


def _substring(binding: Binding) -> DataType:
    size = binding.options.get("length")
    if isinstance(size, int) and size < 0:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"substring() argument 'length' is {size}; it must be 0 or more",
            binding.option_nodes["length"],
            hint="a negative start counts from the end: substring(x, -4) is the last four",
        )
    return STRING


def _masked(binding: Binding) -> DataType:
    keep, char = binding.options["keep"], binding.options["char"]
    if isinstance(keep, int) and keep < 0:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"mask() argument 'keep' is {keep}; it must be 0 or more",
            binding.option_nodes["keep"],
            hint="keep=0 hides every character",
        )
    if not isinstance(char, str) or len(char) != 1:
        raise ArgumentError(
            BAD_ARGUMENTS,
            f"mask() argument 'char' is {char!r}; it must be exactly one character",
            binding.option_nodes["char"],
            hint="for example char='*' or char='•'",
        )
    return STRING


def _item(binding: Binding) -> DataType:
    found = binding.values[0].type
    return found.item if found.kind is Kind.LIST and found.item is not None else NULL


register(
    FunctionSpec(
        "regex_match",
        (_TEXT, _PATTERN),
        "boolean",
        _matched,
        lowering_text.regex_match,
        "Whether the pattern matches anywhere in the text (anchor it with ^...$ for the "
        "whole text).",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "regex_extract",
        (_TEXT, _PATTERN, option("group", (INTEGER,), "the group to return; 0: the match", 1)),
        "string",
        _extracted,
        lowering_text.regex_extract,
        "The text of the pattern's group in its first match; null when it does not match.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "regex_replace",
        (
            _TEXT,
            _PATTERN,
            option(
                "replacement",
                (STRING,),
                "the new text; $1 or ${name} insert a group, $$ a $",
                required=True,
            ),
        ),
        "string",
        _replaced,
        lowering_text.regex_replace,
        "The text with every match of the pattern replaced.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "split",
        (_TEXT, option("sep", (STRING,), "the separator", required=True)),
        "list[string]",
        _split,
        lowering_text.split,
        "The parts of the text between separators ('a,,b' -> ['a', '', 'b']).",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "join",
        (
            value(ANY_LIST, name="items", doc="the list"),
            option("sep", (STRING,), "what goes between items", required=True),
        ),
        "string",
        returns(STRING),
        lowering_text.join,
        "The list's items as text (as to_string writes them) with sep between; null items "
        "are skipped.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "length",
        (value(STRING, ANY_LIST),),
        "integer",
        returns(INTEGER),
        lowering_text.length,
        "The number of characters of a text (not bytes), or of items of a list.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "substring",
        (
            _TEXT,
            option("start", (INTEGER,), "0-based; negative counts from the end", required=True),
            option("length", (INTEGER,), "at most this many characters; None: to the end"),
        ),
        "string",
        _substring,
        lowering_text.substring,
        "Part of the text from start (0-based; -3 is the third character from the end), "
        "length characters at most.",
        can_fail=False,
    )
)
register(
    FunctionSpec(
        "mask",
        (
            _TEXT,
            option("keep", (INTEGER,), "how many last characters stay visible", 4),
            option("char", (STRING,), "the character shown instead", "*"),
        ),
        "string",
        _masked,
        lowering_text.mask,
        "The text with all but its last keep characters replaced by char, for personal data.",
        can_fail=False,
    )
)
for _name, _lowering, _which in (
    ("first", lowering_text.first, "first"),
    ("last", lowering_text.last, "last"),
):
    register(
        FunctionSpec(
            _name,
            (value(ANY_LIST, name="items", doc="the list"),),
            "the items' type",
            _item,
            _lowering,
            f"The list's {_which} item; null for an empty list.",
            can_fail=False,
        )
    )
