"""The regular expression, text and list functions: results on small batches, refusals."""

from __future__ import annotations

import pytest
from support_functions import Problem, evaluate, problem, values_of

from isthmus.types import INTEGER, STRING, list_of


def test_regex_match_finds_the_pattern_anywhere_unless_anchored():
    values = ["order-12", "12", "", None]
    assert values_of("regex_match(x, '[0-9]+')", STRING, values) == [True, True, False, None]
    assert values_of("regex_match(x, '^[0-9]+$')", STRING, values) == [False, True, False, None]


def test_regex_extract_returns_a_group_and_null_without_a_match():
    values = ["ann@example.com", "no at sign", None]
    assert values_of("regex_extract(x, '@(.+)$')", STRING, values) == ["example.com", None, None]
    assert values_of("regex_extract(x, '[a-z]+@', group=0)", STRING, values) == [
        "ann@",
        None,
        None,
    ]
    named = "regex_extract(x, '(?<user>[a-z]+)@(?<host>[a-z]+)', 2)"
    assert values_of(named, STRING, values) == ["example", None, None]


def test_regex_replace_replaces_every_match_with_groups_and_dollars():
    values = ["a-b-c", "", None]
    assert values_of("regex_replace(x, '-', '')", STRING, values) == ["abc", "", None]
    swapped = "regex_replace(x, '([a-z])-([a-z])', '${2}_$1$$')"
    assert values_of(swapped, STRING, values) == ["b_a$-c", "", None]


def test_split_and_join_are_each_others_inverse():
    values = ["a,,b", "", None, "é"]
    assert values_of("split(x, ',')", STRING, values) == [["a", "", "b"], [""], None, ["é"]]
    assert values_of("join(split(x, ','), ',')", STRING, values) == values


def test_join_writes_items_as_text_and_skips_null_items():
    assert values_of("join(x, '; ')", list_of(INTEGER), [[1, None, -2], [], None]) == [
        "1; -2",
        "",
        None,
    ]
    got, _ = evaluate("join(['a', 'b'], ' ')", {"x": (STRING, ["1", "2"])})
    assert got == ["a b", "a b"]


def test_length_counts_characters_not_bytes_and_items_of_a_list():
    assert values_of("length(x)", STRING, ["é€𝄞", "", None]) == [3, 0, None]
    assert values_of("length(x)", list_of(STRING), [["a", None], [], None]) == [2, 0, None]


def test_substring_counts_from_zero_and_a_negative_start_from_the_end():
    values = ["abcdef", "ab", "", None]
    assert values_of("substring(x, 1, 3)", STRING, values) == ["bcd", "b", "", None]
    assert values_of("substring(x, -3)", STRING, values) == ["def", "ab", "", None]
    assert values_of("substring(x, -4, length=2)", STRING, values) == ["cd", "ab", "", None]
    assert values_of("substring(x, 9)", STRING, values) == ["", "", "", None]


def test_mask_hides_all_but_the_last_characters():
    values = ["4111111111111111", "123", "", None, "né€𝄞x"]
    assert values_of("mask(x)", STRING, values) == ["************1111", "123", "", None, "*é€𝄞x"]
    assert values_of("mask(x, 0, '•')", STRING, ["abc"]) == ["•••"]
    assert values_of("mask(x, keep=2, char='#')", STRING, ["né€𝄞x"]) == ["###𝄞x"]


def test_first_and_last_give_an_item_or_null_for_an_empty_list():
    lists = [[3, None, 5], [], None, [None, 1]]
    assert values_of("first(x)", list_of(INTEGER), lists) == [3, None, None, None]
    assert values_of("last(x)", list_of(INTEGER), lists) == [5, None, None, 1]
    assert values_of("first(split(x, ' '))", STRING, ["Ann Lee", None]) == ["Ann", None]


SCHEMA = {"x": STRING, "n": INTEGER, "l": list_of(STRING)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "regex_match(x, '(')",
            Problem(
                "bad-arguments",
                "regex_match() argument 'pattern' is not a valid regular expression: "
                "unclosed group",
                15,
                "escape a literal character with \\ (e.g. \\( or \\.); look-around and "
                "backreferences are not supported",
            ),
        ),
        (
            "regex_replace(x, '(?=a)', '')",
            Problem(
                "bad-arguments",
                "regex_replace() argument 'pattern' is not a valid regular expression: "
                "look-around, including look-ahead and look-behind, is not supported",
                17,
                "escape a literal character with \\ (e.g. \\( or \\.); look-around and "
                "backreferences are not supported",
            ),
        ),
        (
            "regex_match(x, n)",
            Problem(
                "bad-arguments",
                "regex_match() argument 2 (pattern) must be a constant, not n",
                15,
                "write a literal value, e.g. a quoted string or a number",
            ),
        ),
        (
            "regex_extract(x, '[0-9]+')",
            Problem(
                "bad-arguments",
                "regex_extract() argument 'group' is 1, but the pattern has 0 groups",
                17,
                "group=0 is the whole match; put the part to extract in parentheses",
            ),
        ),
        (
            "regex_extract(x, '(a)(b)', group=3)",
            Problem(
                "bad-arguments",
                "regex_extract() argument 'group' is 3, but the pattern has 2 groups",
                33,
                "group=0 is the whole match; put the part to extract in parentheses",
            ),
        ),
        (
            "regex_replace(x, '(?<id>[0-9]+)', '#$name')",
            Problem(
                "bad-arguments",
                "regex_replace() argument 'replacement' refers to group '$name', which the "
                "pattern does not have",
                34,
                "the pattern's groups: 0, 1, id; write $$ for a literal $, and ${1}x for "
                "group 1 followed by x",
            ),
        ),
        (
            "regex_match(n, 'a')",
            Problem(
                "type-mismatch",
                "regex_match() argument 1 (value) expects string, found integer (n)",
                12,
                "convert it: to_string(n)",
            ),
        ),
        (
            "split(x, '')",
            Problem(
                "bad-arguments",
                "split() argument 'sep' is empty",
                9,
                "split on a character or text such as ',' or '; '",
            ),
        ),
        (
            "join(x, ',')",
            Problem(
                "type-mismatch",
                "join() argument 1 (items) expects list[T], found string (x)",
                5,
                None,
            ),
        ),
        (
            "length(n)",
            Problem(
                "type-mismatch",
                "length() argument 1 (value) expects string or list[T], found integer (n)",
                7,
                "convert it: to_string(n)",
            ),
        ),
        (
            "substring(x, 0, -1)",
            Problem(
                "bad-arguments",
                "substring() argument 'length' is -1; it must be 0 or more",
                16,
                "a negative start counts from the end: substring(x, -4) is the last four",
            ),
        ),
        (
            "substring(x)",
            Problem(
                "bad-arguments",
                "substring() needs argument 2 (start): integer",
                0,
                "signature: substring(value: string, start: integer, "
                "length: integer or None = None) -> string",
            ),
        ),
        (
            "mask(x, -1)",
            Problem(
                "bad-arguments",
                "mask() argument 'keep' is -1; it must be 0 or more",
                8,
                "keep=0 hides every character",
            ),
        ),
        (
            "mask(x, char='')",
            Problem(
                "bad-arguments",
                "mask() argument 'char' is ''; it must be exactly one character",
                13,
                "for example char='*' or char='•'",
            ),
        ),
        (
            "first(x)",
            Problem(
                "type-mismatch",
                "first() argument 1 (items) expects list[T], found string (x)",
                6,
                None,
            ),
        ),
    ],
)
def test_calls_the_text_functions_refuse(text: str, expected: Problem):
    assert problem(text, SCHEMA) == expected


def test_first_of_a_list_of_lists_is_refused():
    nested = {"ll": list_of(list_of(STRING))}
    assert problem("last(ll)", nested) == Problem(
        "type-mismatch",
        "last() argument 1 (items) expects list[T], found list[list[string]] (ll)",
        5,
        None,
    )
