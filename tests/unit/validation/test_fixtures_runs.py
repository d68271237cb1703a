"""Running fixture cases: the real mapping and validation of the case's integration decide
each record, and a case passes only when rows and rejections are what it expects. The project
is ``tiny``: people (name trimmed, age converted) referencing teams, two tenants a and b."""

from __future__ import annotations

from pathlib import Path

from isthmus.config import load_project
from isthmus.validation.fixtures import run_fixture_tests
from isthmus.validation.fixtures_model import CaseResult, FixtureReport

HEAD = "integration: a-people\nmapping: people\ncases:\n"


def run(
    root: Path, text: str, name: str = "t.yaml", name_filter: str | None = None
) -> FixtureReport:
    path = root / "tests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return run_fixture_tests(load_project(root), name_filter=name_filter)


def only_case(report: FixtureReport) -> CaseResult:
    assert [d for d in report.diagnostics if d.is_error] == []
    [case] = report.cases
    return case


def diff(case: CaseResult) -> list[str]:
    return [d.text for d in case.differences]


def case(records: str, expect: str, extra: str = "") -> str:
    return f"  - name: c\n{extra}    records:\n{records}    expect:\n{expect}"


# --- rows ------------------------------------------------------------------------------------


def test_rows_match_on_the_fields_they_list_with_the_tenant_filled_in(tiny: Path) -> None:
    records = '      - {id: p1, name: " Ann ", age: "31"}\n      - {id: p2, name: Bob}\n'
    expect = "      rows:\n        - {tenant_id: a, person_id: p1, name: Ann, age: 31}\n"
    expect += "        - {person_id: p2, age: null, team_id: null}\n      rejected: []\n"

    result = only_case(run(tiny, HEAD + case(records, expect)))

    assert (result.status, diff(result)) == ("passed", [])
    assert (result.integration, result.mapping) == ("a-people", "people")


def test_a_wrong_value_fails_the_case_naming_row_record_field_expected_and_actual(
    tiny: Path,
) -> None:
    records = '      - {id: p0, name: "", age: "1"}\n      - {id: p1, name: " Ann ", age: "31"}\n'
    expect = '      rows:\n        - {person_id: p1, name: " Ann ", age: 32, tenant_id: b}\n'

    result = only_case(run(tiny, HEAD + case(records, expect)))

    assert result.status == "failed"
    assert diff(result) == [
        'row 1 (record 2) name: expected " Ann ", actual "Ann"',
        "row 1 (record 2) age: expected 32, actual 31",
        'row 1 (record 2) tenant_id: expected "b", actual "a"',
    ]
    first = result.differences[0]
    assert (first.kind, first.row, first.record, first.field) == ("row-field", 1, 2, "name")
    assert (first.expected, first.actual) == ('" Ann "', '"Ann"')


def test_missing_and_unexpected_rows_are_named_by_position(tiny: Path) -> None:
    one = "      - {id: p1, name: Ann}\n"
    expect_two = "      rows:\n        - {person_id: p1}\n        - {person_id: p2}\n"
    two = one + "      - {id: p2, name: Bob}\n      - {id: p3, name: Cy}\n"
    expect_one = "      rows:\n        - {person_id: p1}\n"

    missing = only_case(run(tiny, HEAD + case(one, expect_two)))
    unexpected = only_case(run(tiny, HEAD + case(two, expect_one)))

    assert diff(missing) == [
        'row 2: expected {person_id: "p2"}, but only 1 record(s) were accepted'
    ]
    assert diff(unexpected) == [
        'row 2 (record 2): not expected: {person_id: "p2"}',
        'row 3 (record 3): not expected: {person_id: "p3"}',
    ]


def test_an_unquoted_yaml_timestamp_in_a_record_arrives_as_its_iso_text(tiny: Path) -> None:
    records = "      - {id: p1, name: 2024-01-05T10:00:00Z}\n      - {id: p2, name: 2024-01-05}\n"
    expect = (
        '      rows:\n        - {name: "2024-01-05T10:00:00Z"}\n        - {name: "2024-01-05"}\n'
    )

    result = only_case(run(tiny, HEAD + case(records, expect)))

    assert (result.status, diff(result)) == ("passed", [])


# --- rejections ------------------------------------------------------------------------------

MIXED = """\
      - {id: p1, name: Ann, age: "x"}
      - {id: p2, name: "  ", age: "4"}
      - {id: p3, name: Cy, age: "200"}
      - {id: p4, name: Di}
"""


def test_rejections_match_by_record_rule_field_and_value(tiny: Path) -> None:
    expect = """\
      rejected:
        - {record: 1, rule: to_int, field: age, value: x}
        - {record: 2, rule: required, field: name, value: ""}
        - {record: 3, rule: max, field: age, value: 200}
"""

    result = only_case(run(tiny, HEAD + case(MIXED, expect)))

    assert (result.status, diff(result)) == ("passed", [])


def test_each_kind_of_rejection_difference_is_explained(tiny: Path) -> None:
    expect = """\
      rejected:
        - {record: 1, rule: to_int, field: age, value: y}
        - {record: 3, rule: min, field: age}
        - {record: 4, rule: required, field: name}
"""

    result = only_case(run(tiny, HEAD + case(MIXED, expect)))

    assert result.status == "failed"
    assert diff(result) == [
        'record 1: rejected by to_int on age as expected, but with value "x", not "y"',
        'record 2: rejected by required on name with value "" (is required but has no '
        "value); not expected",
        'record 3: expected rejection by min on age, actual max on age with value "200" '
        "(is above the maximum 150)",
        "record 4: expected to be rejected by required on name, but it was accepted",
    ]
    kinds = [d.kind for d in result.differences]
    assert kinds == [
        "rejection-value",
        "unexpected-rejection",
        "wrong-rejection",
        "missing-rejection",
    ]


def test_a_record_of_the_wrong_shape_is_malformed_and_later_records_keep_their_numbers(
    tiny: Path,
) -> None:
    records = '      - {id: p1, name: Ann}\n      - just text\n      - {id: p3, name: ""}\n'
    expect = "      rows:\n        - {person_id: p1}\n"
    expect += "      rejected:\n        - {record: 2, rule: malformed}\n"
    expect += "        - {record: 3, rule: required, field: name}\n"

    result = only_case(run(tiny, HEAD + case(records, expect)))

    assert (result.status, diff(result)) == ("passed", [])


def test_only_the_listed_side_is_compared(tiny: Path) -> None:
    expect = "      rows:\n        - {person_id: p4}\n"

    result = only_case(run(tiny, HEAD + case(MIXED, expect)))

    assert (result.status, diff(result)) == ("passed", [])


# --- references ------------------------------------------------------------------------------

TEAMED = "      - {id: p1, name: Ann, team: t1}\n      - {id: p2, name: Bob, team: t2}\n"


def test_references_are_checked_against_the_tenants_existing_rows(tiny: Path) -> None:
    existing = "    existing:\n      team: [{team_id: t1}, {team_id: t2, tenant_id: b}]\n"
    expect = "      rows:\n        - {person_id: p1, team_id: t1}\n"
    expect += "      rejected:\n        - {record: 2, rule: reference, field: team_id, value: t2}\n"

    result = only_case(run(tiny, HEAD + case(TEAMED, expect, existing)))

    assert (result.status, diff(result), result.notes) == ("passed", [], ())


def test_without_existing_rows_references_are_not_checked_and_a_note_says_so(tiny: Path) -> None:
    expect = "      rows:\n        - {team_id: t1}\n        - {team_id: t2}\n"

    result = only_case(run(tiny, HEAD + case(TEAMED, expect)))

    assert result.status == "passed"
    assert result.notes == (
        "person.team_id references team.team_id: not checked, as the case gives no existing "
        "team rows",
    )


def test_a_cases_existing_rows_replace_the_files(tiny: Path) -> None:
    head = "integration: a-people\nmapping: people\nexisting: {team: [{team_id: t1}]}\ncases:\n"
    expect = "      rejected:\n        - {record: 1, rule: reference, field: team_id}\n"
    expect += "        - {record: 2, rule: reference, field: team_id}\n"

    result = only_case(run(tiny, head + case(TEAMED, expect, "    existing: {team: []}\n")))

    assert (result.status, diff(result)) == ("passed", [])


def test_a_reference_to_its_own_entity_may_name_a_row_of_the_same_records(tiny: Path) -> None:
    person = tiny / "core/person.yaml"
    person.write_text(
        person.read_text() + "  boss_id: {type: string, references: person.person_id}\n",
        encoding="utf-8",
    )
    template = tiny / "templates/people.yaml"
    template.write_text(
        template.read_text()
        .replace("team: string}", "team: string, boss: string}")
        .replace("team_id: team}", "team_id: team, boss_id: boss}"),
        encoding="utf-8",
    )
    records = "      - {id: p1, name: Ann}\n      - {id: p2, name: Bob, boss: p1}\n"
    records += "      - {id: p3, name: Cy, boss: p0}\n      - {id: p4, name: Di, boss: p9}\n"
    existing = "    existing:\n      person: [{person_id: p0}]\n"
    expect = "      rejected:\n        - {record: 4, rule: reference, field: boss_id, value: p9}\n"

    result = only_case(run(tiny, HEAD + case(records, expect, existing)))

    assert (result.status, diff(result)) == ("passed", [])


# --- time ------------------------------------------------------------------------------------


def test_now_utc_is_the_cases_now_or_the_fixed_default(tiny: Path) -> None:
    person = tiny / "core/person.yaml"
    person.write_text(person.read_text() + "  seen_at: {type: timestamp}\n", encoding="utf-8")
    template = tiny / "templates/people.yaml"
    template.write_text(
        template.read_text().replace("team_id: team}", "team_id: team, seen_at: now_utc()}"),
        encoding="utf-8",
    )
    records = "      - {id: p1, name: Ann}\n"
    default = case(records, "      rows: [{seen_at: 2026-01-01T00:00:00Z}]\n")
    given = case(
        records,
        "      rows: [{seen_at: 2025-06-30T22:00:00Z}]\n",
        "    now: 2025-07-01T00:00:00+02:00\n",
    ).replace("name: c", "name: d")

    report = run(tiny, HEAD + default + given)

    assert [(c.name, c.status, diff(c)) for c in report.cases] == [
        ("c", "passed", []),
        ("d", "passed", []),
    ]


# --- choosing cases --------------------------------------------------------------------------


def test_a_name_filter_runs_the_cases_whose_name_or_file_contains_it(tiny: Path) -> None:
    two = HEAD + case("      - {id: p1, name: Ann}\n", "      rejected: []\n")
    two += case("      - {id: p1, name: Ann}\n", "      rejected: []\n").replace(
        "name: c\n", "name: Second Case\n"
    )
    run(tiny, two, "first.yaml")
    run(tiny, two, "other.yaml")
    project = load_project(tiny)

    by_name = run_fixture_tests(project, name_filter="SECOND")
    by_file = run_fixture_tests(project, name_filter="other")

    assert [(f.file.name, [c.name for c in f.cases]) for f in by_name.files] == [
        ("first.yaml", ["Second Case"]),
        ("other.yaml", ["Second Case"]),
    ]
    assert [(f.file.name, [c.name for c in f.cases]) for f in by_file.files] == [
        ("other.yaml", ["c", "Second Case"])
    ]


def test_no_test_files_is_not_a_pass(tiny: Path) -> None:
    report = run_fixture_tests(load_project(tiny))

    assert (report.files, report.passed) == ((), False)
