"""Expected versus actual for one fixture case, as a list of readable differences.

Rows are compared in order: the n-th expected row with the n-th accepted record's row, on
the fields the expected row lists. Rejections are compared by record: rule and field, and
the value when the case gives one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from isthmus.validation.fixtures_model import (
    MALFORMED,
    ActualRejection,
    ExpectedRejection,
    Outcome,
    ResolvedCase,
)
from isthmus.validation.fixtures_values import same, shown, value_matches

ROW_KINDS = ("row-field", "missing-row", "unexpected-row")


@dataclass(frozen=True)
class Difference:
    """One way the outcome differs from what the case expects. ``expected`` and ``actual``
    are values as the diff shows them."""

    kind: str  # a ROW_KINDS member, or missing-/unexpected-/wrong-rejection, rejection-value
    text: str
    row: int | None = None  # the expected row's number, from 1
    record: int | None = None
    field: str | None = None
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(case: ResolvedCase, outcome: Outcome) -> list[Difference]:
    found: list[Difference] = []
    if case.rows is not None:
        found += _row_differences(case, outcome)
    if case.rejected is not None:
        found += _rejection_differences(case.rejected, outcome.rejections)
    return found


def _row_differences(case: ResolvedCase, outcome: Outcome) -> list[Difference]:
    assert case.rows is not None
    entity = case.mapping.entity
    expected, actual = case.rows, outcome.rows
    found: list[Difference] = []
    for index in range(max(len(expected), len(actual))):
        number = index + 1
        if index >= len(actual):
            found.append(
                Difference(
                    "missing-row",
                    f"row {number}: expected {_fields(expected[index])}, but only "
                    f"{len(actual)} record(s) were accepted",
                    row=number,
                )
            )
            continue
        record = outcome.row_records[index]
        if index >= len(expected):
            key = {k: actual[index][k] for k in entity.primary_key if k != entity.tenant_key}
            found.append(
                Difference(
                    "unexpected-row",
                    f"row {number} (record {record}): not expected: {_fields(key)}",
                    row=number,
                    record=record,
                )
            )
            continue
        for name, value in expected[index].items():
            got = actual[index][name]
            data_type = entity.field_type(name)
            assert data_type is not None
            if not same(value, got, data_type):
                found.append(
                    Difference(
                        "row-field",
                        f"row {number} (record {record}) {name}: expected {shown(value)}, "
                        f"actual {shown(got)}",
                        row=number,
                        record=record,
                        field=name,
                        expected=shown(value),
                        actual=shown(got),
                    )
                )
    return found


def _rejection_differences(
    expected: list[ExpectedRejection], actual: list[ActualRejection]
) -> list[Difference]:
    wanted = {e.record: e for e in expected}
    got = {a.record: a for a in actual}
    found: list[Difference] = []
    for record in sorted(wanted.keys() | got.keys()):
        want, have = wanted.get(record), got.get(record)
        if have is None:
            assert want is not None
            found.append(
                Difference(
                    "missing-rejection",
                    f"record {record}: expected to be rejected by {_check(want.rule, want.field)}"
                    f"{_value(want)}, but it was accepted",
                    record=record,
                    field=want.field,
                )
            )
        elif want is None:
            found.append(
                Difference(
                    "unexpected-rejection",
                    f"record {record}: rejected by {_actual(have)}; not expected",
                    record=record,
                    field=have.field,
                    actual=shown(have.value),
                )
            )
        elif (want.rule, want.field) != (have.rule, have.field):
            found.append(
                Difference(
                    "wrong-rejection",
                    f"record {record}: expected rejection by {_check(want.rule, want.field)}, "
                    f"actual {_actual(have)}",
                    record=record,
                    field=want.field,
                )
            )
        elif want.checks_value and not value_matches(want.value, have.value):
            found.append(
                Difference(
                    "rejection-value",
                    f"record {record}: rejected by {_check(want.rule, want.field)} as expected, "
                    f"but with value {shown(have.value)}, not {shown(want.value)}",
                    record=record,
                    field=want.field,
                    expected=shown(want.value),
                    actual=shown(have.value),
                )
            )
    return found


def diff_text(differences: list[Difference]) -> str:
    """The differences as plain lines, rows first, for reports that are text."""
    rows = [d.text for d in differences if d.kind in ROW_KINDS]
    rejections = [d.text for d in differences if d.kind not in ROW_KINDS]
    lines = []
    if rows:
        lines += ["rows:", *(f"  {text}" for text in rows)]
    if rejections:
        lines += ["rejections:", *(f"  {text}" for text in rejections)]
    return "\n".join(lines)


def _check(rule: str, field: str | None) -> str:
    return rule if rule == MALFORMED or field is None else f"{rule} on {field}"


def _value(expected: ExpectedRejection) -> str:
    return f" with value {shown(expected.value)}" if expected.checks_value else ""


def _actual(rejection: ActualRejection) -> str:
    if rejection.rule == MALFORMED:
        return f"malformed ({rejection.message})"
    return (
        f"{_check(rejection.rule, rejection.field)} with value {shown(rejection.value)} "
        f"({rejection.message})"
    )


def _fields(row: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{name}: {shown(value)}" for name, value in row.items()) + "}"
