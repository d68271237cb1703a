"""The Polars implementations of parse_json and json_get.

Polars checks JSON strictly (RFC 8259: no NaN, no trailing commas, no lone surrogates;
numbers within a float's range; at most 128 levels of nesting). Its JSONPath lookup returns a
string's content rather than its JSON text, so strings are marked first: a marker character
starts every string of the document, keys included (the path's keys carry it too), and a
result starting with it was a string, whose JSON text is then written back.
"""

from __future__ import annotations

import re

import polars as pl

from isthmus.mapping.lowering import failing
from isthmus.mapping.models import CallInput, Lowered

JSON_WHITESPACE = " \t\n\r"  # the only whitespace JSON allows around a value
MARKER = "\x01"  # never raw in valid JSON, where control characters in strings are escaped
_STRING = r'"((?:[^"\\]|\\.)*)"'
_MARKED_STRING = r'"\\u0001((?:[^"\\]|\\.)*)"'  # how Polars writes a marked string back
# JSON text of a string's content: the escapes json.dumps writes
_CONTROL = [chr(code) for code in range(0x20)]
_SPECIAL = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_ESCAPED_FROM = ["\\", '"', *_CONTROL]
_ESCAPED_TO = ["\\\\", '\\"', *(_SPECIAL.get(c, f"\\u{ord(c):04x}") for c in _CONTROL)]


def is_json(text: pl.Expr) -> pl.Expr:
    """Whether each value is JSON text (the document 'null' too); null stays null."""
    bare = text.str.strip_chars(JSON_WHITESPACE)
    return text.str.json_path_match("$").is_not_null() | (bare == "null")


def parse_json(call: CallInput) -> Lowered:
    value = call.values[0]
    return failing(value, pl.when(is_json(value)).then(value))


def json_get(call: CallInput) -> Lowered:
    """The JSON text at the path; null where the path leads nowhere (or to a JSON null)."""
    document = call.values[0]
    valid = is_json(document)
    marked = document.str.replace_all(_STRING, '"\\u0001$1"')
    found = marked.str.json_path_match(json_path(str(call.options["path"])))
    string = pl.concat_str(
        [pl.lit('"'), found.str.slice(1).str.replace_many(_ESCAPED_FROM, _ESCAPED_TO), pl.lit('"')]
    )
    other = found.str.replace_all(_MARKED_STRING, '"$1"')  # an object or list: unmark inside
    result = pl.when(found.str.starts_with(MARKER)).then(string).otherwise(other)
    failed = document.is_not_null() & ~valid
    return Lowered(pl.when(valid).then(result), failed, lambda _result: failed)


def json_path(path: str) -> str:
    """The JSONPath of a checked path like ``a.b[0].c``, keys marked as the document's are."""
    parts = [
        f"[{part}]" if isinstance(part, int) else f"['{MARKER}{part}']" for part in segments(path)
    ]
    return "$" + "".join(parts)


# The paths json_get() takes: names joined by dots, [N] for a list's N-th item (from 0),
# like customer.emails[0].address; a name is any text without . [ ] ' " or a backslash.
_NAME = r"[^.\[\]'\"\\]+"
PATH = re.compile(rf"(?:{_NAME}|\[[0-9]+\])(?:\.{_NAME}|\[[0-9]+\])*")
_SEGMENT = re.compile(rf"\.?({_NAME})|\[([0-9]+)\]")


def segments(path: str) -> list[str | int]:
    """The names and indexes of a path that :data:`PATH` matches, in order."""
    found = (m.groups("") for m in _SEGMENT.finditer(path))
    return [name if name else int(index) for name, index in found]
