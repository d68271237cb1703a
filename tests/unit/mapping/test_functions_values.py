"""default, nullif, is_null and hash: results on small batches, and the calls refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from support_functions import Problem, evaluate, problem, values_of

from isthmus.mapping import FUNCTIONS, get_function
from isthmus.mapping.models import CallInput
from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    NULL,
    STRING,
    TIMESTAMP,
    DataType,
)


def test_default_replaces_only_nulls_in_the_common_type():
    assert values_of("default(x, 'none')", STRING, ["a", None, ""]) == ["a", "none", ""]
    got, failures = evaluate("default(i, f)", {"i": (INTEGER, [1, None]), "f": (FLOAT, [9.5, 2.5])})
    assert (got, failures) == ([1.0, 2.5], [])


def test_nullif_turns_a_placeholder_into_null():
    assert values_of("nullif(x, 'N/A')", STRING, ["a", "N/A", None, "n/a"]) == [
        "a",
        None,
        None,
        "n/a",
    ]
    got, _ = evaluate("nullif(x, y)", {"x": (INTEGER, [1, 2, 3]), "y": (INTEGER, [1, None, 4])})
    assert got == [None, 2, 3]  # a null other keeps the value: nothing equals null


def test_nullif_keeps_its_first_arguments_type():
    got, _ = evaluate("nullif(i, f)", {"i": (INTEGER, [1, 2]), "f": (FLOAT, [1.0, 2.5])})
    assert got == [None, 2]


def test_is_null_is_true_or_false_never_null():
    assert values_of("is_null(x)", STRING, ["a", None, ""]) == [False, True, False]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_is_the_sha256_of_the_values_text_and_null_stays_null():
    assert values_of("hash(x)", STRING, ["ünï", "", None]) == [_sha("ünï"), _sha(""), None]
    assert values_of("hash(x)", INTEGER, [-7]) == [_sha("-7")]
    assert values_of("hash(x)", DECIMAL, [Decimal("12.50")]) == [_sha("12.5")]
    assert values_of("hash(x)", DATE, [date(2024, 5, 1)]) == [_sha("2024-05-01")]
    stamp = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert values_of("hash(x)", TIMESTAMP, [stamp]) == [_sha("2024-05-01T12:00:00Z")]


def test_hash_of_a_constant_fills_the_batch():
    got, _ = evaluate("hash('a')", {"x": (STRING, ["1", "2"])})
    assert got == [_sha("a")] * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "default(x, 1)",
            Problem(
                "type-mismatch",
                "default() needs arguments of one type, found string (x) and integer (1)",
                11,
                "convert it: to_string(1)",
            ),
        ),
        (
            "nullif(x, True)",
            Problem(
                "type-mismatch",
                "nullif() needs arguments of one type, found string (x) and boolean (True)",
                10,
                "convert it: to_string(True)",
            ),
        ),
        (
            "default(x)",
            Problem(
                "bad-arguments",
                "default() needs argument 2 (fallback): any scalar",
                0,
                "signature: default(value: any scalar, fallback: any scalar) -> "
                "the arguments' common type",
            ),
        ),
        (
            "is_null(split(x, ','))",
            Problem(
                "type-mismatch",
                "is_null() argument 1 (value) expects any scalar, found list[string] "
                "(split(x, ','))",
                8,
                None,
            ),
        ),
        (
            "hash(x, 'sha1')",
            Problem(
                "bad-arguments",
                "hash() takes 1 argument by position, got 2",
                8,
                "signature: hash(value: any scalar) -> string",
            ),
        ),
    ],
)
def test_calls_the_null_functions_refuse(text: str, expected: Problem):
    assert problem(text, {"x": STRING}) == expected


def test_none_of_them_fails_a_row():
    for name in ("default", "nullif", "is_null", "hash"):
        spec = get_function(name)
        assert spec is not None
        assert not spec.can_fail


def test_the_registry_marks_the_functions_that_read_a_null_argument():
    tolerant = {name for name, spec in FUNCTIONS.items() if spec.null_tolerant}
    assert tolerant == {"concat", "coalesce", "default", "nullif", "is_null"}


# The arguments below: the column x (text), the literal None, and the literal 'z'.
ARGUMENTS: dict[str, tuple[pl.Expr, DataType]] = {
    "x": (pl.col("x"), STRING),
    "None": (pl.lit(None), NULL),
    "'z'": (pl.lit("z"), STRING),
}


@pytest.mark.parametrize(
    ("call", "result", "expected"),
    [
        ("default(None, 'z')", STRING, ["z", "z"]),
        ("default(x, None)", STRING, ["a", None]),
        ("nullif(x, None)", STRING, ["a", None]),
        ("is_null(None)", BOOLEAN, [True, True]),
    ],
)
def test_a_null_literal_argument_is_read_not_propagated(
    call: str, result: DataType, expected: list[object]
):
    """What these calls compute once the compiler hands them their null argument (the
    registry marks them null_tolerant, so it does not fold them to null)."""
    name, _, rest = call.partition("(")
    spec = get_function(name)
    assert spec is not None
    written = [ARGUMENTS[text.strip()] for text in rest.rstrip(")").split(",")]
    inputs = CallInput(tuple(e for e, _ in written), tuple(t for _, t in written), {}, None, result)
    lowered = spec.compile(inputs)
    frame = pl.DataFrame({"x": ["a", None]})
    out = frame.select(lowered.expr.cast(result.to_polars()).alias("v"), pl.col("x"))
    assert out["v"].to_list() == expected
