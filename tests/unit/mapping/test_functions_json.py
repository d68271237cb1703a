"""parse_json and json_get: results, row failures on text that is not JSON, refusals."""

from __future__ import annotations

import pytest
from support_functions import Failure, Problem, problem, run, values_of

from isthmus.types import INTEGER, JSON, STRING

DOC = '{"a": {"b": [1, "x\\"y\\n", {"c": null}, true]}, "n": 1.5, "s": "1"}'


def test_parse_json_keeps_json_text_and_fails_on_anything_else():
    texts = ['{"a": 1}', " null ", '"text"', "{'a': 1}", "[1,]", "NaN", "", None]
    got, failures = run("parse_json(x)", STRING, texts)
    assert got == ['{"a": 1}', " null ", '"text"', None, None, None, None, None]
    assert failures == [
        Failure(3, "parse_json", "x", "{'a': 1}"),
        Failure(4, "parse_json", "x", "[1,]"),
        Failure(5, "parse_json", "x", "NaN"),
        Failure(6, "parse_json", "x", ""),
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b[0]", "1"),
        ("a.b[1]", '"x\\"y\\n"'),  # a string as JSON text: quoted and escaped
        ("s", '"1"'),  # the string "1", not the number
        ("a.b[2]", '{"c":null}'),
        ("a.b[3]", "true"),
        ("n", "1.5"),
        ("a.b[2].c", None),  # JSON null
        ("a.b[9]", None),  # past the list's end
        ("a.missing", None),
        ("n.deeper", None),  # a number has no fields
    ],
)
def test_json_get_gives_the_json_text_at_the_path_or_null(path: str, expected: str | None):
    assert values_of(f"json_get(x, {path!r})", JSON, [DOC, None]) == [expected, None]


def test_json_get_keeps_nested_strings_intact():
    doc = '{"a": {"k\\"ey": "v\\u0001w", "k": "\\"", "l": ["é"]}}'
    assert values_of("json_get(x, 'a')", JSON, [doc]) == [
        '{"k\\"ey":"v\\u0001w","k":"\\"","l":["é"]}'
    ]


def test_json_get_fails_on_a_value_that_is_not_json():
    got, failures = run("json_get(x, 'a')", JSON, ["{bad", '{"a": 2}'])
    assert got == [None, "2"]
    assert failures == [Failure(0, "json_get", "x", "{bad")]


def test_json_get_reads_a_list_document_by_index():
    assert values_of("json_get(parse_json(x), '[1].id')", STRING, ['[{"id": 1}, {"id": 2}]']) == [
        "2"
    ]


SCHEMA = {"j": JSON, "x": STRING, "n": INTEGER}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "json_get(x, 'a')",
            Problem(
                "type-mismatch",
                "json_get() argument 1 (value) expects json, found string (x)",
                9,
                "convert it: parse_json(x)",
            ),
        ),
        (
            "json_get(j, 'a..b')",
            Problem(
                "bad-arguments",
                "json_get() argument 'path' 'a..b' is not a path like 'a.b[0].c'",
                12,
                "join names with dots and write [N] for a list's N-th item, counted from 0",
            ),
        ),
        (
            "json_get(j, 'a[-1]')",
            Problem(
                "bad-arguments",
                "json_get() argument 'path' 'a[-1]' is not a path like 'a.b[0].c'",
                12,
                "join names with dots and write [N] for a list's N-th item, counted from 0",
            ),
        ),
        (
            "json_get(j, x)",
            Problem(
                "bad-arguments",
                "json_get() argument 2 (path) must be a constant, not x",
                12,
                "write a literal value, e.g. a quoted string or a number",
            ),
        ),
        (
            "parse_json(n)",
            Problem(
                "type-mismatch",
                "parse_json() argument 1 (value) expects string, found integer (n)",
                11,
                "convert it: to_string(n)",
            ),
        ),
    ],
)
def test_calls_the_json_functions_refuse(text: str, expected: Problem):
    assert problem(text, SCHEMA) == expected
