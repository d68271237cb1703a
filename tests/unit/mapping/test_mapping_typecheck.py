"""Type checking: fields against the declared schema, calls against the function registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from isthmus import mapping
from isthmus.diagnostics import Diagnostic, Location
from isthmus.mapping import (
    FUNCTIONS,
    CompiledExpression,
    compile_expression,
    conversion_hint,
    get_function,
)
from isthmus.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    NULL,
    STRING,
    TIMESTAMP,
    DataType,
    list_of,
    struct_of,
)

LOC = Location(Path("templates/crm.yaml"), 30, 16)
SCHEMA: dict[str, DataType] = {
    "Id": STRING,
    "FirstName": STRING,
    "LastName": STRING,
    "LeadScore": STRING,
    "Visits": INTEGER,
    "Revenue": FLOAT,
    "Active": BOOLEAN,
    "Created": TIMESTAMP,
    "Born": DATE,
    "Tags": list_of(STRING),
    "Account": struct_of({"Id": STRING, "Owner": struct_of({"Email": STRING})}),
}


def compiled(text: str) -> CompiledExpression:
    result, diagnostics = compile_expression(text, SCHEMA, LOC)
    assert diagnostics == []
    assert result is not None
    return result


def problems(text: str) -> list[Diagnostic]:
    result, diagnostics = compile_expression(text, SCHEMA, LOC)
    assert result is None
    assert diagnostics
    return diagnostics


def problem(text: str) -> Diagnostic:
    (only,) = problems(text)
    return only


def column(diagnostic: Diagnostic) -> int:
    """The 0-based offset in the expression the diagnostic points at."""
    assert diagnostic.location is not None
    return diagnostic.location.column - LOC.column


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Id", STRING),
        ("Visits", INTEGER),
        ("Account", SCHEMA["Account"]),
        ("Account.Owner.Email", STRING),
        ("Tags", list_of(STRING)),
        ("Visits + 1", INTEGER),
        ("Visits + Revenue", FLOAT),
        ("Visits + 1.5", FLOAT),
        ("FirstName + ' ' + LastName", STRING),
        ("None + Visits", INTEGER),
        ("None", NULL),
        ("None + None", NULL),
        ("'x'", STRING),
        ("[1, 2.5]", list_of(FLOAT)),
        ("[]", list_of(NULL)),
        ("coalesce(Visits, Revenue)", FLOAT),
        ("coalesce(None, 'x')", STRING),
        ("coalesce(Created, None)", TIMESTAMP),
        ("lookup(FirstName, {'a': 1, 'b': 2.5})", FLOAT),
        ("lookup(Visits, {1: 'one'}, default='many')", STRING),
        ("lookup(Revenue, {1: True})", BOOLEAN),
        ("parse_timestamp(LeadScore, None, 'Europe/Berlin')", TIMESTAMP),
        ("to_int(Active)", INTEGER),
        ("to_float(Visits)", FLOAT),
        ("lower(None)", STRING),
    ],
)
def test_expressions_have_the_static_type_their_parts_give(text: str, expected: DataType):
    assert compiled(text).type == expected


def test_a_compiled_expression_names_its_text_and_the_top_level_fields_it_reads():
    result = compiled("concat(Account.Owner.Email, FirstName, lower(FirstName))")
    assert result.text == "concat(Account.Owner.Email, FirstName, lower(FirstName))"
    assert result.source_fields == frozenset({"Account", "FirstName"})


@pytest.mark.parametrize(("value", "expected"), [(True, BOOLEAN), (3, INTEGER), (2.5, FLOAT)])
def test_a_yaml_constant_compiles_to_its_type_with_its_text(value: object, expected: DataType):
    result, diagnostics = compile_expression(value, SCHEMA, LOC)  # type: ignore[arg-type]
    assert diagnostics == []
    assert result is not None
    assert (result.type, result.text, result.source_fields) == (expected, str(value), frozenset())


def test_an_undeclared_field_is_reported_where_it_is_with_the_closest_name_and_the_fields():
    found = problem("lower(FirstNme)")
    assert found.code == "undeclared-source-field"
    assert "'FirstNme'" in found.message
    assert column(found) == 6
    assert found.hint is not None
    assert found.hint.startswith("did you mean FirstName?")
    assert "LeadScore" in found.hint


def test_an_undeclared_nested_field_points_at_the_segment_and_lists_the_struct_fields():
    found = problem("Account.Owner.Mail")
    assert found.code == "undeclared-source-field"
    assert "'Account.Owner.Mail'" in found.message
    assert column(found) == 14
    assert found.hint == "did you mean Account.Owner.Email? 'Account.Owner' has: Email"


def test_a_nested_path_through_a_scalar_field_is_undeclared():
    found = problem("FirstName.First")
    assert found.code == "undeclared-source-field"
    assert "is of type string, not a nested object" in found.message


def test_every_problem_of_an_expression_is_reported_in_one_pass():
    found = problems("concat(Nope, Account.Nope, lowr(Id))")
    assert [(d.code, column(d)) for d in found] == [
        ("undeclared-source-field", 7),
        ("undeclared-source-field", 21),
        ("unknown-function", 27),
    ]


def test_an_unknown_function_hints_the_closest_registered_names():
    found = problem("to_integer(LeadScore)")
    assert found.code == "unknown-function"
    assert "'to_integer'" in found.message
    assert found.hint is not None
    assert "to_int" in found.hint


@pytest.mark.parametrize(
    ("text", "col", "words"),
    [
        ("lower()", 0, "lower() needs argument 1 (value)"),
        ("lower(Id, Id)", 10, "lower() takes 1 argument by position, got 2"),
        ("concat()", 0, "concat() needs at least one argument"),
        ("lookup(Id)", 0, "lookup() needs argument 2 (table)"),
        ("parse_timestamp(Id, tzz='UTC')", 20, "parse_timestamp() has no argument 'tzz'"),
        ("lower(value=Id)", 6, "lower() argument 'value' is passed by position"),
        ("parse_timestamp(Id, '%Y', fmt='%Y')", 26, "got argument 'fmt' twice"),
        ("parse_timestamp(Id, tz=FirstName)", 23, "argument 'tz' must be a constant"),
        ("lookup(Id, {'a': 1}, default=Visits)", 29, "argument 'default' must be a constant"),
        ("lookup(Id, FirstName)", 11, "argument 2 (table) must be a dict literal"),
        ("lookup(Id, {'a': 1}, {'b': 2})", 21, "lookup() takes 2 arguments by position, got 3"),
        ("lookup(Id, {})", 11, "table) is empty"),
        ("lookup(Id, {'a': 1, 'a': 2})", 20, "has the key 'a' twice"),
        ("lookup(Id, {'a': 1, 'A': 2}, ignore_case=True)", 20, "twice when case is ignored"),
        ("lookup(Id, {None: 1})", 12, "key None never matches"),
        ("lookup(Visits, {1: 'a'}, ignore_case=True)", 37, "ignore_case=True compares text"),
        ("parse_timestamp(Id, tz='Mars/Olympus')", 23, "not an IANA time zone name"),
        ("parse_timestamp(Id, tz='')", 23, "not an IANA time zone name"),
        ("parse_timestamp(Id, '%Y-%Q')", 20, "unknown directive near '%Q'"),
    ],
)
def test_argument_problems_are_bad_arguments_naming_function_and_argument(
    text: str, col: int, words: str
):
    found = problem(text)
    assert found.code == "bad-arguments"
    assert words in found.message
    assert column(found) == col


def test_an_unknown_time_zone_hints_the_closest_names():
    found = problem("parse_timestamp(Id, tz='Europe/Berln')")
    assert found.hint is not None
    assert "Europe/Berlin" in found.hint


def test_an_argument_of_the_wrong_type_names_position_expected_and_found_with_a_conversion():
    found = problem("lower(Visits)")
    assert found.code == "type-mismatch"
    assert found.message == "lower() argument 1 (value) expects string, found integer (Visits)"
    assert found.hint == "convert it: to_string(Visits)"
    assert column(found) == 6


def test_a_conversion_hint_prefers_a_non_text_parameter_type():
    assert problem("to_float(Active)").hint == "convert it: to_int(Active)"


def test_a_wrong_type_deep_in_a_call_points_at_that_argument():
    found = problem("concat('Score: ', trim(Revenue))")
    assert found.code == "type-mismatch"
    assert column(found) == 23
    assert found.hint == "convert it: to_string(Revenue)"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("to_float(Active)", "to_float() argument 1 (value) expects string or integer or float"),
        ("concat(Id, Created)", "concat() argument 2 (values) expects"),
        ("lookup(Tags, {'a': 1})", "found list[string] (Tags)"),
        ("lookup(Visits, {'a': 1})", "table keys are string but argument 1 (Visits) is integer"),
        ("lookup(Id, {'a': 1, 'b': 'x'})", "values (and default) must share one type"),
        ("lookup(Id, {'a': 1}, default='x')", "values (and default) must share one type"),
        ("lookup(Id, {'a': 1, 2: 1})", "keys must share one type"),
        ("lookup(Id, {'a': 1}, ignore_case=1)", "argument 'ignore_case' expects boolean"),
        ("parse_timestamp(Id, tz=None)", "argument 'tz' expects string"),
        ("coalesce(Id, Visits)", "coalesce() needs arguments of one type"),
        ("Active + 1", "'+' cannot add boolean Active and integer 1"),
        ("Created + Created", "'+' cannot add timestamp"),
        ("[1, 'a']", "must share one type"),
    ],
)
def test_type_problems_are_type_mismatch_with_the_types_named(text: str, words: str):
    found = problem(text)
    assert found.code == "type-mismatch"
    assert words in found.message


def test_adding_text_to_a_number_hints_concat_or_a_conversion():
    found = problem("FirstName + Visits")
    assert found.code == "type-mismatch"
    assert found.hint == (
        "to join as text write concat(FirstName, Visits); "
        "to add numbers convert the text: to_int(FirstName)"
    )


def test_a_dict_literal_outside_lookup_is_expression_syntax():
    found = problem("concat({'a': 1})")
    assert found.code == "expression-syntax"
    assert "only allowed as the table of lookup()" in found.message
    assert column(found) == 7


def test_a_multi_line_expression_reports_at_its_start():
    found = problem("lower(\n Nope)")
    assert found.location == LOC


@pytest.mark.parametrize(
    ("found", "wanted", "expected"),
    [
        (STRING, FLOAT, "to_float(LeadScore)"),
        (STRING, INTEGER, "to_int(LeadScore)"),
        (STRING, BOOLEAN, "to_bool(LeadScore)"),
        (STRING, TIMESTAMP, "parse_timestamp(LeadScore)"),
        (FLOAT, INTEGER, "to_int(LeadScore)"),
        (INTEGER, STRING, "to_string(LeadScore)"),
        (INTEGER, BOOLEAN, "to_bool(LeadScore)"),
        (BOOLEAN, INTEGER, "to_int(LeadScore)"),
        (FLOAT, STRING, "to_string(LeadScore)"),
        (STRING, DATE, "to_date(LeadScore)"),
        (TIMESTAMP, STRING, "to_string(LeadScore)"),
        (STRING, DECIMAL, "to_decimal(LeadScore)"),
        (JSON, STRING, "to_string(LeadScore)"),
        (FLOAT, BOOLEAN, None),
        (INTEGER, FLOAT, None),
        (STRING, STRING, None),
        (NULL, INTEGER, None),
    ],
)
def test_conversion_hint_proposes_the_registered_conversion_or_none(
    found: DataType, wanted: DataType, expected: str | None
):
    assert conversion_hint("LeadScore", found, wanted) == expected


def test_conversion_hint_wraps_any_expression_text():
    assert conversion_hint("trim(LeadScore)", STRING, FLOAT) == "to_float(trim(LeadScore))"


def test_the_registry_lists_every_function_with_a_signature_a_doc_and_a_failure_flag():
    assert set(FUNCTIONS) == {
        *("lower", "upper", "trim", "concat", "coalesce", "default", "nullif", "is_null"),
        *("to_string", "to_int", "to_float", "to_decimal", "to_bool", "to_date"),
        *("parse_timestamp", "parse_date", "format_timestamp", "now_utc", "lookup"),
        *("regex_match", "regex_extract", "regex_replace", "split", "join", "length"),
        *("substring", "hash", "mask", "round", "abs", "json_get", "parse_json"),
        *("first", "last"),
    }
    for name, spec in FUNCTIONS.items():
        assert spec.name == name
        assert spec.signature.startswith(f"{name}(")
        assert spec.doc
        assert get_function(name) is spec
    failing = {name for name, spec in FUNCTIONS.items() if spec.can_fail}
    assert failing == {
        *("to_int", "to_float", "to_decimal", "to_bool", "to_date", "parse_timestamp"),
        *("parse_date", "parse_json", "json_get", "lookup", "round", "abs"),
    }


def test_a_signature_shows_parameters_types_and_defaults():
    spec = get_function("parse_timestamp")
    assert spec is not None
    assert spec.signature == (
        "parse_timestamp(value: string, fmt: string or None = None, tz: string = 'UTC') "
        "-> timestamp"
    )
    lookup = get_function("lookup")
    assert lookup is not None
    assert ", *, default: any scalar constant = None" in lookup.signature


def test_looking_up_an_unregistered_function_gives_none():
    assert get_function("eval") is None


def test_the_package_declares_its_public_api():
    assert sorted(mapping.__all__) == sorted(
        [
            "FUNCTIONS",
            "CompiledExpression",
            "Expression",
            "FunctionSpec",
            "ParamKind",
            "Parameter",
            "RowFailure",
            "compile_expression",
            "conversion_hint",
            "get_function",
        ]
    )
