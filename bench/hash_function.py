"""How long the mapping function hash() takes per batch: SHA-256 is the one function that runs
Python per value (neither Polars nor Arrow computes it), so its cost is measured here.

    .venv/bin/python bench/hash_function.py [ROWS]

Prints the seconds per million values for hash() and, for scale, for lower() on the same
batch (a whole-column Polars expression).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

from isthmus.diagnostics import Location
from isthmus.mapping import compile_expression
from isthmus.types import STRING

LOCATION = Location(Path("bench.yaml"), 1, 1)


def seconds(text: str, frame: pl.DataFrame, repeats: int = 3) -> float:
    compiled, diagnostics = compile_expression(text, {"email": STRING}, LOCATION)
    assert compiled is not None, diagnostics
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        frame.select(compiled.expr)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    emails = [f"person.{n}@example-{n % 97}.com" for n in range(rows)]
    frame = pl.DataFrame({"email": pl.Series(emails, dtype=pl.String)})
    per_million = 1_000_000 / rows
    for text in ("hash(email)", "lower(email)"):
        taken = seconds(text, frame)
        print(f"{text:<14} {rows:>9} rows  {taken:7.3f} s  {taken * per_million:7.3f} s/M rows")


if __name__ == "__main__":
    main()
