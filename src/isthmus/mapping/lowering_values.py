"""The Polars implementations of default, nullif, is_null and hash."""

from __future__ import annotations

import hashlib

import polars as pl

from isthmus.mapping.lowering import text_of
from isthmus.mapping.models import CallInput, Lowered
from isthmus.types import common_type


def default(call: CallInput) -> Lowered:
    dtype = call.result.to_polars()
    return Lowered(pl.coalesce([value.cast(dtype) for value in call.values]))


def nullif(call: CallInput) -> Lowered:
    subject, other = call.values
    shared = common_type(list(call.types))
    assert shared is not None  # the result rule refused arguments of no common type
    dtype = shared.to_polars()
    equal = subject.cast(dtype) == other.cast(dtype)  # null when either is: keeps subject
    return Lowered(pl.when(equal).then(pl.lit(None, dtype=dtype)).otherwise(subject))


def is_null(call: CallInput) -> Lowered:
    return Lowered(call.values[0].is_null())


def sha256(call: CallInput) -> Lowered:
    # Neither Polars nor Arrow computes SHA-256, so this is the one function that runs Python
    # per value: hashlib over the whole batch's text in one call per batch. It costs about
    # 1.7 s per million short values, 15x lower() (bench/hash_function.py).
    text = text_of(call.values[0], call.types[0])
    return Lowered(text.map_batches(_sha256_hex, return_dtype=pl.String, is_elementwise=True))


def _sha256_hex(texts: pl.Series) -> pl.Series:
    digests = [
        None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()
        for text in texts.to_list()
    ]
    return pl.Series(texts.name, digests, dtype=pl.String)
