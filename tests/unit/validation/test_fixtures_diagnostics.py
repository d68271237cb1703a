"""Problems in fixture files: each is a diagnostic with its code, file:line:col and message,
and the case it concerns does not run. The project is ``tiny`` (people referencing teams)."""

from __future__ import annotations

from pathlib import Path

from isthmus.config import load_project
from isthmus.diagnostics import Severity, relative_file
from isthmus.validation.fixtures import run_fixture_tests
from isthmus.validation.fixtures_model import FixtureReport

Found = tuple[str, str, str]

HEAD = "integration: a-people\nmapping: people\ncases:\n"
GOOD_CASE = """\
  - name: ok
    records:
      - {id: p1, name: Ann, age: "31", team: t1}
    expect:
      rows:
        - {person_id: p1, name: Ann, age: 31}
"""


def run(root: Path, text: str, name: str = "t.yaml") -> FixtureReport:
    path = root / "tests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return run_fixture_tests(load_project(root))


def problems(report: FixtureReport, root: Path) -> list[Found]:
    """(code, file:line:col, message) of every diagnostic, in order."""
    found = []
    for d in report.diagnostics:
        assert d.location is not None
        where = f"{relative_file(d.location.file, root).as_posix()}:{d.location.line}"
        found.append((d.code, f"{where}:{d.location.column}", d.message))
    return found


def statuses(report: FixtureReport) -> list[tuple[str, str]]:
    return [(case.name, case.status) for case in report.cases]


# --- the file as a whole ---------------------------------------------------------------------


def test_bad_yaml_is_a_syntax_error_at_its_place_and_no_case_runs(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\ncases:\n  - name: [unclosed\n")

    assert problems(report, tiny) == [
        (
            "yaml-syntax",
            "tests/t.yaml:4:1",
            "invalid YAML: expected ',' or ']', but got '<stream end>'",
        )
    ]
    assert report.cases == []
    assert not report.passed


def test_a_file_holding_a_list_is_not_a_test_file(tiny: Path) -> None:
    report = run(tiny, "- name: x\n")

    assert problems(report, tiny) == [
        (
            "invalid-value",
            "tests/t.yaml:1:1",
            "a test file must hold a mapping of keys, but this one holds a list",
        )
    ]


def test_a_file_without_cases_says_cases_is_missing(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\n")

    assert problems(report, tiny) == [
        ("missing-key", "tests/t.yaml:1:1", "required key 'cases' is missing in the file")
    ]


def test_an_empty_case_list_is_an_invalid_value(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\ncases: []\n")

    assert problems(report, tiny) == [
        ("invalid-value", "tests/t.yaml:2:8", "cases: must be a list of one or more cases")
    ]


def test_an_unknown_top_level_key_is_reported_with_the_closest_key(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\nmaping: people\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        ("unknown-key", "tests/t.yaml:2:1", "unknown key 'maping' in file")
    ]
    hint = report.diagnostics[0].hint
    assert hint is not None
    assert hint.startswith("did you mean 'mapping'?")
    # The file's defaults did not validate, so its cases cannot run.
    assert statuses(report) == [("ok", "error")]


def test_a_broken_case_does_not_stop_the_other_cases_of_its_file(tiny: Path) -> None:
    text = (
        "integration: a-people\nmapping: people\ncases:\n"
        + GOOD_CASE
        + "  - name: broken\n    recordz: [{}]\n    records: [{}]\n    expect: {rows: []}\n"
    )

    report = run(tiny, text)

    assert problems(report, tiny) == [
        ("unknown-key", "tests/t.yaml:11:5", "unknown key 'recordz' in cases[1]")
    ]
    assert statuses(report) == [("ok", "passed"), ("broken", "error")]


def test_a_case_needs_records_and_expect(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n  - name: bare\n")

    assert problems(report, tiny) == [
        ("missing-key", "tests/t.yaml:4:5", "required key 'records' is missing in cases[0]"),
        ("missing-key", "tests/t.yaml:4:5", "required key 'expect' is missing in cases[0]"),
    ]


def test_expect_without_rows_or_rejected_is_an_invalid_value(tiny: Path) -> None:
    text = "integration: a-people\nmapping: people\ncases:\n"
    text += "  - name: vague\n    records: [{id: p1}]\n    expect: {}\n"

    report = run(tiny, text)

    assert problems(report, tiny) == [
        ("invalid-value", "tests/t.yaml:6:13", "cases[0].expect: give `rows`, `rejected` or both")
    ]


def test_mapping_and_stream_together_are_an_invalid_value(tiny: Path) -> None:
    text = "integration: a-people\ncases:\n  - name: both\n    mapping: people\n"
    text += "    stream: people\n    records: [{id: p1}]\n    expect: {rows: []}\n"

    report = run(tiny, text)

    assert problems(report, tiny) == [
        ("invalid-value", "tests/t.yaml:3:5", "cases[0]: give `mapping` or `stream`, not both")
    ]


def test_two_cases_with_one_name_name_the_first_ones_line(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + GOOD_CASE * 2)

    assert problems(report, tiny) == [
        (
            "fixture-duplicate-name",
            "tests/t.yaml:10:11",
            "two cases of this file are named 'ok'; the first is on line 4",
        )
    ]
    assert statuses(report) == [("ok", "passed"), ("ok", "error")]


# --- what a case names -----------------------------------------------------------------------


def test_an_unknown_integration_is_named_with_the_known_ones(tiny: Path) -> None:
    report = run(tiny, "integration: a-peple\nmapping: people\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "fixture-unknown-integration",
            "tests/t.yaml:1:14",
            "integration 'a-peple' does not exist in this project",
        )
    ]
    assert report.diagnostics[0].hint == "did you mean 'a-people'?"


def test_a_case_that_names_no_integration_says_where_to_add_it(tiny: Path) -> None:
    report = run(tiny, "mapping: people\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        ("missing-key", "tests/t.yaml:3:5", "case 'ok' does not say the integration to test")
    ]


def test_an_integration_that_does_not_validate_reports_its_errors_and_the_case(
    tiny: Path,
) -> None:
    template = tiny / "templates/people.yaml"
    template.write_text(
        template.read_text().replace("name: trim(name)", "name: trimm(name)"), encoding="utf-8"
    )

    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + GOOD_CASE)

    found = problems(report, tiny)
    assert [f[0] for f in found] == ["unknown-function", "broken-dependency"]
    assert found[1] == (
        "broken-dependency",
        "tests/t.yaml:1:14",
        "integration 'a-people' does not validate (1 error(s), shown with their own places), "
        "so its mappings cannot run",
    )
    assert found[0][1].startswith("templates/people.yaml:")


def test_an_unknown_mapping_lists_the_integrations_mappings(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\nmapping: persons\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "fixture-unknown-mapping",
            "tests/t.yaml:2:10",
            "integration 'a-people' has no mapping 'persons'",
        )
    ]
    assert report.diagnostics[0].hint == "mappings: teams, people"


def test_a_case_naming_no_mapping_or_stream_says_so(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "missing-key",
            "tests/t.yaml:3:5",
            "case 'ok' does not say the mapping that runs (or its stream)",
        )
    ]


def test_a_stream_no_mapping_reads_is_unknown(tiny: Path) -> None:
    report = run(tiny, "integration: a-people\nstream: peple\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "fixture-unknown-stream",
            "tests/t.yaml:2:9",
            "no mapping of integration 'a-people' reads stream 'peple'",
        )
    ]
    assert report.diagnostics[0].hint == "did you mean 'people'?"


def test_a_stream_two_mappings_read_is_ambiguous(tiny: Path) -> None:
    template = tiny / "templates/people.yaml"
    template.write_text(
        template.read_text().replace(
            "  teams:\n    stream: teams",
            "  people_teams:\n    stream: people\n    entity: team\n"
            "    fields: {team_id: team, title: name}\n  teams:\n    stream: teams",
        ),
        encoding="utf-8",
    )

    report = run(tiny, "integration: a-people\nstream: people\ncases:\n" + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "fixture-ambiguous-stream",
            "tests/t.yaml:2:9",
            "2 mappings of integration 'a-people' read stream 'people': people, people_teams",
        )
    ]


def test_a_case_value_replaces_the_files_default_and_is_located_in_the_case(
    tiny: Path,
) -> None:
    case = GOOD_CASE.replace("  - name: ok\n", "  - name: ok\n    mapping: persons\n")

    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + case)

    assert problems(report, tiny) == [
        (
            "fixture-unknown-mapping",
            "tests/t.yaml:5:14",
            "integration 'a-people' has no mapping 'persons'",
        )
    ]


# --- expected rows and existing rows ---------------------------------------------------------


def test_an_expected_field_the_entity_lacks_is_unknown(tiny: Path) -> None:
    case = GOOD_CASE.replace("age: 31}", "agee: 31}")

    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + case)

    assert problems(report, tiny) == [
        ("fixture-unknown-field", "tests/t.yaml:9:38", "entity 'person' has no field 'agee'")
    ]
    assert report.diagnostics[0].hint == "did you mean 'age'?"


def test_an_expected_value_of_the_wrong_type_says_how_to_write_it(tiny: Path) -> None:
    case = GOOD_CASE.replace("person_id: p1,", "person_id: 12,").replace("age: 31", "age: '31'")

    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + case)

    assert problems(report, tiny) == [
        (
            "fixture-value-type",
            "tests/t.yaml:9:23",
            "person.person_id is text, but 12 is not: quote it, '12'",
        ),
        (
            "fixture-value-type",
            "tests/t.yaml:9:43",
            'person.age is an integer, but "31" is not one',
        ),
    ]


def test_existing_rows_of_an_unknown_entity_or_field_are_reported(tiny: Path) -> None:
    head = "integration: a-people\nmapping: people\n"
    head += "existing:\n  teams: [{team_id: t1}]\n  team: [{team_id: t1, titel: One}]\ncases:\n"

    report = run(tiny, head + GOOD_CASE)

    assert problems(report, tiny) == [
        (
            "fixture-unknown-entity",
            "tests/t.yaml:4:3",
            "existing rows are given for entity 'teams', which the core model does not declare",
        ),
        ("fixture-unknown-field", "tests/t.yaml:5:24", "entity 'team' has no field 'titel'"),
    ]


# --- expected rejections ---------------------------------------------------------------------

REJECTING = """\
integration: a-people
mapping: people
cases:
  - name: rejects
    records:
      - {id: p1, name: Ann, age: "x", team: t1}
      - {id: p2, name: "", age: "1"}
    expect:
      rejected:
"""


def test_a_rejected_record_past_the_last_record_is_out_of_range(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 3, rule: required, field: name}\n")

    assert problems(report, tiny) == [
        (
            "fixture-record-out-of-range",
            "tests/t.yaml:10:20",
            "record 3 is expected to be rejected, but the case has 2 record(s)",
        )
    ]


def test_a_record_expected_to_be_rejected_twice_is_reported(tiny: Path) -> None:
    entries = "        - {record: 1, rule: to_int, field: age}\n" * 2

    report = run(tiny, REJECTING + entries)

    assert problems(report, tiny) == [
        (
            "fixture-duplicate-record",
            "tests/t.yaml:11:20",
            "record 1 is expected to be rejected twice (also on line 10); a record is "
            "rejected for the first check it fails, only",
        )
    ]


def test_a_rule_the_field_does_not_have_lists_the_fields_checks(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 1, rule: enum, field: age}\n")

    assert problems(report, tiny) == [
        (
            "fixture-unknown-rule",
            "tests/t.yaml:10:29",
            "mapping 'people' has no check 'enum' on age",
        )
    ]
    assert report.diagnostics[0].hint == "the checks on age: to_int, min, max"


def test_a_field_without_checks_is_an_unknown_rule_at_the_field(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 1, rule: required, field: nam}\n")

    assert problems(report, tiny) == [
        (
            "fixture-unknown-rule",
            "tests/t.yaml:10:46",
            "mapping 'people' has no check on field 'nam'",
        )
    ]
    assert report.diagnostics[0].hint == "did you mean 'name'?"


def test_a_malformed_record_has_no_field(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 1, rule: malformed, field: age}\n")

    assert problems(report, tiny) == [
        (
            "fixture-unknown-rule",
            "tests/t.yaml:10:40",
            "a malformed record is rejected as a whole, not on a field",
        )
    ]


def test_a_rejection_without_its_field_says_to_add_it(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 2, rule: required}\n")

    assert problems(report, tiny) == [
        (
            "missing-key",
            "tests/t.yaml:10:11",
            "the rejection of record 2 by rule 'required' names no field",
        )
    ]


def test_a_reference_rejection_without_existing_rows_could_never_happen(tiny: Path) -> None:
    report = run(tiny, REJECTING + "        - {record: 1, rule: reference, field: team_id}\n")

    assert problems(report, tiny) == [
        (
            "fixture-reference-unchecked",
            "tests/t.yaml:10:29",
            "record 1 is expected to be rejected by rule 'reference' on team_id, but the case "
            "gives no existing team rows, so references to team are not checked",
        )
    ]


# --- records ---------------------------------------------------------------------------------


def test_a_record_field_the_stream_does_not_declare_is_a_warning_and_the_case_runs(
    tiny: Path,
) -> None:
    case = GOOD_CASE.replace("team: t1}", "team: t1, nick: A}")

    report = run(tiny, "integration: a-people\nmapping: people\ncases:\n" + case)

    assert problems(report, tiny) == [
        (
            "fixture-undeclared-field",
            "tests/t.yaml:6:50",
            "record 1 has field 'nick', which stream 'people' does not declare",
        )
    ]
    assert report.diagnostics[0].severity is Severity.WARNING
    assert statuses(report) == [("ok", "passed")]
    assert report.passed


def test_an_undeclared_nested_field_is_named_by_its_path(tiny: Path) -> None:
    template = tiny / "templates/people.yaml"
    template.write_text(
        template.read_text()
        .replace("team: string}", "team: {id: string}}")
        .replace("team_id: team}", "team_id: team.id}"),
        encoding="utf-8",
    )
    text = "integration: a-people\nmapping: people\ncases:\n  - name: nested\n"
    text += "    records:\n      - {id: p1, name: Ann, team: {id: t1, nme: x}}\n"
    text += "    expect: {rejected: []}\n"

    report = run(tiny, text)

    assert problems(report, tiny) == [
        (
            "fixture-undeclared-field",
            "tests/t.yaml:6:44",
            "record 1 has field 'team.nme', which stream 'people' does not declare",
        )
    ]


# --- values the file model refuses -----------------------------------------------------------


def test_an_empty_file_holds_nothing(tiny: Path) -> None:
    report = run(tiny, "# nothing yet\n")

    assert problems(report, tiny) == [
        (
            "invalid-value",
            "tests/t.yaml:1:1",
            "a test file must hold a mapping of keys, but this one holds nothing",
        )
    ]


def test_now_that_is_not_a_time_is_an_invalid_value(tiny: Path) -> None:
    case = GOOD_CASE.replace("  - name: ok\n", "  - name: ok\n    now: next tuesday\n")

    report = run(tiny, HEAD + case)

    assert problems(report, tiny) == [
        (
            "invalid-value",
            "tests/t.yaml:5:10",
            "cases[0].now: Input should be a valid datetime or date, invalid character in year",
        )
    ]


def test_record_numbers_start_at_one_and_records_are_not_empty(tiny: Path) -> None:
    text = HEAD + "  - name: zero\n    records: []\n    expect:\n"
    text += "      rejected: [{record: 0, rule: required, field: name}]\n"

    report = run(tiny, text)

    assert problems(report, tiny) == [
        (
            "invalid-value",
            "tests/t.yaml:5:14",
            "cases[0].records: List should have at least 1 item after validation, not 0",
        ),
        (
            "invalid-value",
            "tests/t.yaml:7:27",
            "cases[0].expect.rejected[0].record: Input should be greater than or equal to 1",
        ),
    ]


def test_an_integration_whose_file_did_not_load_names_that_file(tiny: Path) -> None:
    integration = tiny / "integrations/a.yaml"
    integration.write_text(integration.read_text() + "colour: blue\n", encoding="utf-8")

    report = run(tiny, HEAD + GOOD_CASE)

    assert problems(report, tiny) == [
        ("unknown-key", "integrations/a.yaml:6:1", "unknown key 'colour' in file"),
        (
            "broken-dependency",
            "tests/t.yaml:1:14",
            f"integration 'a-people' is declared in {integration}, which did not load",
        ),
    ]
