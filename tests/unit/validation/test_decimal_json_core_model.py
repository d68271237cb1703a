"""Core fields declared decimal or json: which constraints apply to them, how the row checks
compare decimals exactly, and a json field kept out of primary keys."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from isthmus.config import load_project
from isthmus.config.models import CoreField
from isthmus.config.schemas import json_schema
from isthmus.diagnostics import Diagnostic
from isthmus.types import DECIMAL
from isthmus.validation import validate_project
from isthmus.validation.constraints import field_checks

PROJECT = """\
project: core-only
core: {database: "sqlite:///core.db"}
state: {database: "sqlite:///state.db"}
"""


def diagnose(
    root: Path, fields: str, primary_key: str = "[tenant_id, payment_id]"
) -> list[Diagnostic]:
    """A payment entity whose ``fields`` lines start on line 6, validated alone."""
    (root / "isthmus.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "core").mkdir()
    entity = (
        "entity: payment\n"
        "tenant_key: tenant_id\n"
        f"primary_key: {primary_key}\n"
        "fields:\n"
        "  payment_id: {type: string, required: true}\n" + fields
    )
    (root / "core/payment.yaml").write_text(entity, encoding="utf-8")
    return validate_project(load_project(root))


def summary(diagnostics: list[Diagnostic], root: Path) -> list[tuple[str, str, str]]:
    found = []
    for d in diagnostics:
        assert d.location is not None
        where = (
            f"{d.location.file.relative_to(root).as_posix()}:{d.location.line}:{d.location.column}"
        )
        found.append((d.code, where, d.message))
    return found


def test_decimal_and_json_fields_with_the_constraints_they_take_validate(tmp_path: Path) -> None:
    fields = (
        "  amount: {type: decimal, required: true, min: -1000.5, max: 1e20}\n"
        "  details: {type: json, required: true, pii: true}\n"
    )
    assert diagnose(tmp_path, fields) == []


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "  amount: {type: decimal, pattern: '^[0-9]+$'}\n",
            "payment.amount: pattern does not apply to a decimal field",
        ),
        (
            "  amount: {type: decimal, max_length: 10}\n",
            "payment.amount: max_length does not apply to a decimal field",
        ),
        (
            "  amount: {type: decimal, enum: [1, 2]}\n",
            "payment.amount: enum does not apply to a decimal field",
        ),
        (
            "  details: {type: json, min: 0}\n",
            "payment.details: min does not apply to a json field",
        ),
        (
            "  details: {type: json, max: 9}\n",
            "payment.details: max does not apply to a json field",
        ),
        (
            "  details: {type: json, pattern: '^[{]'}\n",
            "payment.details: pattern does not apply to a json field",
        ),
        (
            "  details: {type: json, max_length: 100}\n",
            "payment.details: max_length does not apply to a json field",
        ),
        (
            "  details: {type: json, enum: ['{}']}\n",
            "payment.details: enum does not apply to a json field",
        ),
    ],
)
def test_a_constraint_that_does_not_apply_is_a_constraint_type_mismatch_naming_it(
    tmp_path: Path, field: str, message: str
) -> None:
    key = message.split(": ")[1].split(" ", maxsplit=1)[0]
    # at the key, but enum at its list (as for the other kinds)
    column = field.index("[") + 1 if key == "enum" else field.index(f"{key}:") + 1
    found = diagnose(tmp_path, field)
    assert summary(found, tmp_path) == [
        ("constraint-type-mismatch", f"core/payment.yaml:6:{column}", message)
    ]
    assert found[0].hint == f"remove {key}, or change the field's type"


def test_a_json_field_in_the_primary_key_is_an_invalid_value_at_the_key(tmp_path: Path) -> None:
    found = diagnose(tmp_path, "  details: {type: json, required: true}\n", "[tenant_id, details]")
    assert summary(found, tmp_path) == [
        (
            "invalid-value",
            "core/payment.yaml:3:26",
            "entity 'payment': primary key field 'details' is json, and a key compares values "
            "exactly while one JSON value has many texts",
        )
    ]
    assert found[0].hint == "key the entity by a string, integer or decimal field"


def test_a_decimal_primary_key_is_fine(tmp_path: Path) -> None:
    assert diagnose(tmp_path, "  seq: {type: decimal, required: true}\n", "[tenant_id, seq]") == []


def test_min_and_max_compare_decimals_exactly_at_the_bounds() -> None:
    spec = CoreField.model_validate({"type": "decimal", "min": 0, "max": 100})
    values = ["-0.000000001", "0", "100", "100.000000001", None, "12345678901234567890.123456789"]
    frame = pl.DataFrame({"amount": values}).with_columns(
        pl.col("amount").cast(DECIMAL.to_polars())
    )
    checks = {c.rule: c for c in field_checks("amount", spec, required=True)}

    flags = frame.select(
        **{rule: check.failed.fill_null(False) for rule, check in checks.items()},
        value=checks["min"].value,
    )

    assert flags["required"].to_list() == [False, False, False, False, True, False]
    assert flags["min"].to_list() == [True, False, False, False, False, False]
    assert flags["max"].to_list() == [False, False, False, True, False, True]
    assert flags["value"].to_list()[0] == "-0.000000001"
    assert checks["min"].message == "is below the minimum 0"


def test_the_entity_json_schema_offers_decimal_and_json_field_types() -> None:
    schema = json_schema("entity")
    field_type = schema["$defs"]["CoreField"]["properties"]["type"]
    assert field_type["enum"] == [
        "string",
        "integer",
        "float",
        "decimal",
        "boolean",
        "timestamp",
        "date",
        "json",
    ]
