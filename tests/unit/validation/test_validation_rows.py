"""Row checks at run time: each row of a batch is mapped and either fits or gets one reason.

The mapping under test is the ``tiny`` project's people mapping, compiled by ``check_for_run``,
with constraints added to its core entity so every kind of check has a field to act on. Batches
are Polars frames of text, as sources deliver them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from isthmus.config import load_project
from isthmus.validation import CompiledMapping, check_for_run
from isthmus.validation.rows import CHECK, RECORD_ID, ROW, VALUE, RowPlan, reject_missing_references

PERSON = """\
entity: person
tenant_key: tenant_id
primary_key: [tenant_id, person_id]
fields:
  person_id: {type: string, required: true}
  name: {type: string, required: true, max_length: 8}
  age: {type: integer, min: 0, max: 150}
  status: {type: string, enum: [active, inactive]}
  email: {type: string, pattern: '^[^@]+@[^@]+$'}
  rank: {type: integer}
  team_id: {type: string, references: team.team_id}
  nickname: {type: string}
"""

TEMPLATE = """\
template: people
version: 1.0.0
description: People and their teams from JSON Lines files.
owner: {team: core, contact: core@example.com}
source: {connector: file}
streams:
  people:
    path: people.jsonl
    primary_key: id
    schema:
      {id: string, name: string, age: string, status: string, email: string, rank: integer,
       team: string}
  teams: {path: teams.jsonl, primary_key: id, schema: {id: string, title: string}}
mappings:
  people:
    stream: people
    entity: person
    fields:
      person_id: id
      name: trim(name)
      age: to_int(age)
      status: status
      email: email
      rank: rank
      team_id: team
  teams:
    stream: teams
    entity: team
    fields: {team_id: id, title: title}
"""

GOOD = {
    "id": "p1",
    "name": " Ann ",
    "age": "31",
    "status": "active",
    "email": "ann@example.com",
    "rank": "2",
    "team": "t1",
}

Verdict = tuple[str, str | None, str | None] | None
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # the run's start time


def people_mapping(root: Path) -> CompiledMapping:
    compiled, problems = check_for_run(load_project(root), "a-people")
    assert compiled is not None, "\n".join(map(str, problems))
    return next(m for m in compiled.mappings if m.name == "people")


@pytest.fixture
def plan(tiny: Path) -> RowPlan:
    """The row plan of tiny's people mapping, its entity given every kind of constraint."""
    (tiny / "core/person.yaml").write_text(PERSON, encoding="utf-8")
    (tiny / "templates/people.yaml").write_text(TEMPLATE, encoding="utf-8")
    return RowPlan(people_mapping(tiny))


def batch(*changes: dict[str, str | None]) -> pl.DataFrame:
    """One text row per ``changes``: the good row with those source fields changed."""
    return pl.DataFrame(
        [{**GOOD, **change} for change in changes], schema=dict.fromkeys(GOOD, pl.String)
    )


def verdicts(plan: RowPlan, out: pl.DataFrame) -> list[Verdict]:
    """Per row: None when it fits, else (rule, field, offending value)."""
    result: list[Verdict] = []
    for check, value in zip(out[CHECK], out[VALUE], strict=True):
        if check is None:
            result.append(None)
        else:
            reason = plan.reasons[check]
            result.append((reason.rule, reason.field, value))
    return result


def judge(plan: RowPlan, *changes: dict[str, str | None]) -> list[Verdict]:
    return verdicts(plan, plan.evaluate(batch(*changes), now=NOW))


# --- rows that fit --------------------------------------------------------------------------


def test_unmodified_tiny_people_rows_that_fit_have_a_null_check(tiny: Path) -> None:
    plan = RowPlan(people_mapping(tiny))
    text = pl.DataFrame(
        {"id": ["p1", "p2"], "name": [" Ann ", "Bob"], "age": ["31", None], "team": ["t1", None]}
    )

    out = plan.evaluate(text, now=NOW)

    assert out[CHECK].to_list() == [None, None]
    assert out[VALUE].to_list() == [None, None]
    assert out["name"].to_list() == ["Ann", "Bob"]
    assert out["age"].to_list() == [31, None]


def test_good_row_has_a_null_check_and_its_mapped_values(plan: RowPlan) -> None:
    out = plan.evaluate(batch({}), now=NOW)

    assert out.columns == [ROW, RECORD_ID, *plan.mapping.entity.fields, CHECK, VALUE]
    row = out.row(0, named=True)
    assert row[CHECK] is None
    assert row[VALUE] is None
    assert row[ROW] == 0
    assert row[RECORD_ID] == "p1"
    assert (row["person_id"], row["name"], row["age"], row["rank"]) == ("p1", "Ann", 31, 2)
    assert out.schema["age"] == pl.Int64
    assert out.schema["rank"] == pl.Int64


def test_fields_the_mapping_does_not_fill_come_out_null_with_their_type(plan: RowPlan) -> None:
    out = plan.evaluate(batch({}, {"id": "p2"}), now=NOW)

    assert "nickname" not in plan.mapping.fields
    assert out["nickname"].to_list() == [None, None]
    assert out.schema["nickname"] == pl.String


# --- one constraint each --------------------------------------------------------------------


def test_required_rejects_null_and_empty_text_after_mapping(plan: RowPlan) -> None:
    assert judge(
        plan,
        {"name": None},
        {"name": ""},
        {"name": "   "},  # trim(name) leaves nothing
        {"id": None},
        {"name": "A"},
    ) == [
        ("required", "name", None),
        ("required", "name", ""),
        ("required", "name", ""),
        ("required", "person_id", None),
        None,
    ]


def test_enum_rejects_only_values_outside_the_list(plan: RowPlan) -> None:
    assert judge(plan, {"status": "retired"}, {"status": "inactive"}, {"status": None}) == [
        ("enum", "status", "retired"),
        None,
        None,
    ]


def test_pattern_rejects_only_values_that_do_not_match(plan: RowPlan) -> None:
    assert judge(plan, {"email": "nobody"}, {"email": "a@b"}, {"email": None}) == [
        ("pattern", "email", "nobody"),
        None,
        None,
    ]


def test_min_rejects_values_below_and_keeps_the_bound(plan: RowPlan) -> None:
    assert judge(plan, {"age": "-1"}, {"age": "0"}, {"age": None}) == [
        ("min", "age", "-1"),
        None,
        None,
    ]


def test_max_rejects_values_above_and_keeps_the_bound(plan: RowPlan) -> None:
    assert judge(plan, {"age": "151"}, {"age": "150"}) == [("max", "age", "151"), None]


def test_max_length_rejects_longer_text_and_keeps_the_limit(plan: RowPlan) -> None:
    assert judge(plan, {"name": "Bartholomew"}, {"name": "Augustin"}) == [
        ("max_length", "name", "Bartholomew"),
        None,
    ]


def test_each_reason_message_names_the_rule_without_the_value(plan: RowPlan) -> None:
    messages = {(r.rule, r.field): r.message for r in plan.reasons}

    assert messages[("enum", "status")] == "is not one of: active, inactive"
    assert messages[("min", "age")] == "is below the minimum 0"
    assert messages[("max", "age")] == "is above the maximum 150"
    assert messages[("max_length", "name")] == "is longer than 8 characters"
    assert messages[("type", "rank")] == "is declared integer; the value does not convert"
    assert messages[("to_int", "age")] == "to_int() cannot use the value of age"


# --- types and functions --------------------------------------------------------------------


def test_declared_integer_source_field_that_does_not_convert_is_rejected_with_rule_type(
    plan: RowPlan,
) -> None:
    out = plan.evaluate(batch({"rank": "abc"}, {"rank": "7"}), now=NOW)

    assert verdicts(plan, out) == [("type", "rank", "abc"), None]
    assert out["rank"].to_list() == [None, 7]


def test_mapping_function_failure_is_rejected_with_the_function_name_as_rule(
    plan: RowPlan,
) -> None:
    out = plan.evaluate(batch({"age": "old"}, {"age": "40"}), now=NOW)

    assert verdicts(plan, out) == [("to_int", "age", "old"), None]
    assert out["age"].to_list() == [None, 40]


# --- several failures in one row ------------------------------------------------------------


def test_type_failure_is_reported_before_function_failures_and_constraints(
    plan: RowPlan,
) -> None:
    assert judge(plan, {"rank": "abc", "age": "old", "name": "", "status": "x"}) == [
        ("type", "rank", "abc")
    ]


def test_function_failure_is_reported_before_constraints(plan: RowPlan) -> None:
    assert judge(plan, {"age": "old", "name": "", "status": "x"}) == [("to_int", "age", "old")]


def test_constraints_are_reported_in_field_then_rule_order(plan: RowPlan) -> None:
    assert judge(
        plan,
        {"name": "", "status": "x"},  # name comes before status in the entity
        {"name": "Bartholomew", "status": "x"},
        {"status": "x", "email": "nobody"},
    ) == [
        ("required", "name", ""),
        ("max_length", "name", "Bartholomew"),
        ("enum", "status", "x"),
    ]


# --- references -----------------------------------------------------------------------------


def test_missing_reference_marks_only_unrejected_rows_with_a_missing_value(
    plan: RowPlan,
) -> None:
    (reference,) = plan.mapping.references
    assert (reference.field, reference.entity, reference.target_field) == (
        "team_id",
        "team",
        "team_id",
    )
    out = plan.evaluate(
        batch(
            {"team": "t1"},
            {"team": "t9"},
            {"team": None},
            {"team": "t9", "name": ""},
        ),
        now=NOW,
    )

    marked = reject_missing_references(
        out, reference, pl.Series(["t1", "t2"]), plan.reference_reasons["team_id"]
    )

    assert verdicts(plan, marked) == [
        None,
        ("reference", "team_id", "t9"),
        None,
        ("required", "name", ""),
    ]
    assert plan.reasons[plan.reference_reasons["team_id"]].message == (
        "does not exist in team.team_id for this tenant"
    )


def test_null_primary_key_value_is_rejected_even_when_the_field_is_not_marked_required(
    tiny: Path,
) -> None:
    person = tiny / "core/person.yaml"
    text = person.read_text(encoding="utf-8")
    person.write_text(
        text.replace("person_id: {type: string, required: true}", "person_id: {type: string}"),
        encoding="utf-8",
    )
    plan = RowPlan(people_mapping(tiny))
    text_batch = pl.DataFrame(
        {"id": [None, "p2"], "name": ["Ann", "Bob"], "age": ["3", "4"], "team": ["t1", "t1"]},
        schema=dict.fromkeys(["id", "name", "age", "team"], pl.String),
    )

    assert verdicts(plan, plan.evaluate(text_batch, now=NOW)) == [
        ("required", "person_id", None),
        None,
    ]
