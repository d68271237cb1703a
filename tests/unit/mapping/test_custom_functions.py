"""Custom functions: declarations checked at registration, calls compiled over whole batches
and checked at run time, row failures for can_fail functions, modules loaded from a project.

Every test runs inside ``isolated_custom_functions``: the registry is process-wide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.config import load_project
from isthmus.diagnostics import Location
from isthmus.errors import ErrorClass
from isthmus.mapping import CompiledExpression, compile_expression, get_function
from isthmus.mapping.custom import (
    CustomFunctionError,
    CustomFunctionRunError,
    custom_function,
    custom_function_names,
    is_custom_function,
    isolated_custom_functions,
    register_custom_function,
    unregister_custom_function,
)
from isthmus.mapping.custom_modules import load_function_modules
from isthmus.types import FLOAT, INTEGER, STRING, DataType

WHERE = Location(Path("templates/t.yaml"), 3, 7)
SCHEMA: dict[str, DataType] = {"Name": STRING, "Score": INTEGER, "Ratio": FLOAT}


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    with isolated_custom_functions():
        yield


def shout(text: pl.Series) -> pl.Series:
    """The text in upper case."""
    return text.str.to_uppercase()


def compiled(text: str) -> CompiledExpression:
    result, problems = compile_expression(text, SCHEMA, WHERE)
    assert problems == []
    assert result is not None
    return result


def run(text: str, frame: pl.DataFrame) -> list[object]:
    return frame.select(compiled(text).expr.alias("out"))["out"].to_list()


def declaration_error(**overrides: object) -> str:
    declared: dict[str, object] = {
        "name": "shout",
        "params": {"text": "string"},
        "returns": "string",
    } | overrides
    with pytest.raises(CustomFunctionError) as caught:
        register_custom_function(shout, **declared)  # type: ignore[arg-type]
    assert not is_custom_function(str(declared["name"]))
    return str(caught.value)


# --- declarations -------------------------------------------------------------------------


def test_a_registered_function_has_a_typed_signature_and_its_doc() -> None:
    spec = register_custom_function(
        shout, name="shout", params={"text": "string"}, returns="string"
    )
    assert get_function("shout") is spec
    assert spec.signature == "shout(text: string) -> string"
    assert spec.doc == "The text in upper case."
    assert not spec.can_fail
    assert custom_function_names() == {"shout"}
    assert is_custom_function("shout")
    assert not is_custom_function("lower")


def test_the_decorator_returns_the_function_unchanged() -> None:
    decorated = custom_function(name="shout", params={"text": "string"}, returns="string")(shout)
    assert decorated is shout
    assert is_custom_function("shout")


def test_an_unknown_parameter_type_is_refused_with_the_known_ones() -> None:
    assert declaration_error(params={"text": "str"}) == (
        "custom function shout(): unknown type 'str' for parameter 'text'\n"
        "hint: use one of string, integer, float, decimal, boolean, timestamp, date, json"
    )


def test_an_unknown_result_type_is_refused() -> None:
    assert declaration_error(returns="text") == (
        "custom function shout(): unknown type 'text' for the result (returns=)\n"
        "hint: use one of string, integer, float, decimal, boolean, timestamp, date, json"
    )


def test_a_name_of_a_built_in_function_is_refused() -> None:
    assert declaration_error(name="lower") == (
        "custom function lower() clashes with the built-in function lower()\n"
        "hint: give the custom function another name"
    )
    assert get_function("lower") is not None


@pytest.mark.parametrize("name", ["Shout", "2x", "if", "with-dash", ""])
def test_a_name_that_is_not_a_lower_case_identifier_is_refused(name: str) -> None:
    assert declaration_error(name=name) == (
        f"custom function name {name!r} is not a valid name\n"
        "hint: use lower-case letters, digits and _, starting with a letter, e.g. score_band"
    )


@pytest.mark.parametrize("param", ["Text", "for", "a b", "1st"])
def test_a_parameter_name_that_is_not_an_identifier_is_refused(param: str) -> None:
    assert declaration_error(params={param: "string"}) == (
        f"custom function shout(): parameter name {param!r} is not a valid name\n"
        "hint: use lower-case letters, digits and _, e.g. value"
    )


def test_a_function_without_parameters_is_refused() -> None:
    assert declaration_error(params={}) == (
        "custom function shout(): params must map each argument's name to its type, "
        "e.g. {'value': 'string'}; found {}\n"
        "hint: a custom function takes at least one argument"
    )


def test_parameters_that_do_not_fit_the_callable_are_refused() -> None:
    assert declaration_error(params={"text": "string", "times": "integer"}) == (
        "custom function shout(): params declares 2 argument(s), but the Python function "
        "shout(text: 'pl.Series') -> 'pl.Series' cannot take them: too many positional "
        "arguments\nhint: declare one params entry per positional argument of the function"
    )


def test_a_function_without_doc_or_docstring_is_refused() -> None:
    with pytest.raises(CustomFunctionError, match=r"shout\(\) has no description"):
        register_custom_function(
            lambda text: text, name="shout", params={"text": "string"}, returns="string"
        )


def test_params_that_are_not_a_mapping_are_refused() -> None:
    assert declaration_error(params=["text"]) == (
        "custom function shout(): params must map each argument's name to its type, "
        "e.g. {'value': 'string'}; found ['text']\n"
        "hint: a custom function takes at least one argument"
    )


def test_a_doc_that_is_not_text_is_refused() -> None:
    assert declaration_error(doc=42) == "custom function shout(): doc must be text, not 42"


def test_something_that_is_not_callable_is_refused() -> None:
    with pytest.raises(CustomFunctionError) as caught:
        register_custom_function(
            "shout",  # type: ignore[arg-type]
            name="shout",
            params={"text": "string"},
            returns="string",
        )
    assert str(caught.value) == "custom function shout(): 'shout' is not callable"


def test_can_fail_must_be_a_boolean() -> None:
    assert declaration_error(can_fail="yes") == (
        "custom function shout(): can_fail must be True or False"
    )


def test_the_same_name_from_another_module_is_refused() -> None:
    register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")

    def other(text: pl.Series) -> pl.Series:
        """Another."""
        return text

    other.__module__ = "someone.else"
    with pytest.raises(CustomFunctionError) as caught:
        register_custom_function(other, name="shout", params={"text": "string"}, returns="string")
    assert str(caught.value) == (
        f"custom function shout() is already registered by module {__name__}\n"
        "hint: give one of them another name"
    )


def test_unregistering_removes_the_function_and_refuses_a_built_in() -> None:
    register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")
    unregister_custom_function("shout")
    assert get_function("shout") is None
    with pytest.raises(CustomFunctionError, match="no custom function named 'lower'"):
        unregister_custom_function("lower")
    assert get_function("lower") is not None


def test_isolation_restores_the_registry_as_it_was() -> None:
    with isolated_custom_functions():
        register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")
        assert is_custom_function("shout")
    assert get_function("shout") is None
    assert custom_function_names() == frozenset()


def test_registering_and_unregistering_drop_compiled_expressions_from_the_cache() -> None:
    _, before = compile_expression("shout(Name)", SCHEMA, WHERE)
    assert [d.code for d in before] == ["unknown-function"]
    register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")
    assert run("shout(Name)", pl.DataFrame({"Name": ["ada"]})) == ["ADA"]
    unregister_custom_function("shout")
    _, after = compile_expression("shout(Name)", SCHEMA, WHERE)
    assert [d.code for d in after] == ["unknown-function"]


# --- calls --------------------------------------------------------------------------------


def test_a_call_is_type_checked_like_a_built_in_function() -> None:
    register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")
    _, problems = compile_expression("shout(Score)", SCHEMA, WHERE)
    assert [(d.code, d.message, d.hint) for d in problems] == [
        (
            "type-mismatch",
            "shout() argument 1 (text) expects string, found integer (Score)",
            "convert it: to_string(Score)",
        )
    ]


def test_the_function_gets_the_whole_batch_once_as_series_of_the_declared_types() -> None:
    calls: list[list[tuple[int, pl.DataType]]] = []

    def half(value: pl.Series) -> pl.Series:
        calls.append([(len(value), value.dtype)])
        return value / 2

    register_custom_function(
        half, name="half", params={"value": "float"}, returns="float", doc="Half."
    )
    frame = pl.DataFrame({"Score": [4, None, 9]})
    assert run("half(Score)", frame) == [2.0, None, 4.5]
    assert calls == [[(3, pl.Float64())]]  # the integer column arrives as floats


def test_a_constant_argument_is_spread_over_the_batch() -> None:
    def numbered(text: pl.Series, number: pl.Series) -> pl.Series:
        assert len(text) == len(number)
        return text + number.cast(pl.String)

    register_custom_function(
        numbered,
        name="numbered",
        params={"text": "string", "number": "integer"},
        returns="string",
        doc="The text with the number after it.",
    )
    assert run("numbered(Name, 2)", pl.DataFrame({"Name": ["ab", "c"]})) == ["ab2", "c2"]
    assert run("numbered('x', 3)", pl.DataFrame({"Name": ["ab", "c"]})) == ["x3", "x3"]


def test_an_empty_batch_gives_an_empty_result() -> None:
    register_custom_function(shout, name="shout", params={"text": "string"}, returns="string")
    empty = pl.DataFrame({"Name": []}, schema={"Name": pl.String})
    assert run("shout(Name)", empty) == []
    assert run("concat(shout(Name), shout('x'))", empty) == []


def test_an_all_null_result_of_the_null_type_fits_the_declared_type() -> None:
    register_custom_function(
        lambda text: pl.Series([None] * len(text)),
        name="nothing",
        params={"text": "string"},
        returns="float",
        doc="Null.",
    )
    result = pl.DataFrame({"Name": ["a", "b"]}).select(compiled("nothing(Name)").expr)
    assert result.to_series().dtype == pl.Float64
    assert result.to_series().to_list() == [None, None]


def run_error(function: object, returns: str = "string") -> CustomFunctionRunError:
    register_custom_function(
        function,  # type: ignore[arg-type]
        name="broken",
        params={"text": "string"},
        returns=returns,
        doc="Broken on purpose.",
    )
    with pytest.raises(CustomFunctionRunError) as caught:
        run("broken(Name)", pl.DataFrame({"Name": ["a", "b", "c"]}))
    assert caught.value.error_class is ErrorClass.CONFIG
    return caught.value


def test_a_result_of_the_wrong_length_fails_naming_the_function() -> None:
    error = run_error(lambda text: text.head(2))
    assert error.message == (
        "custom function broken() returned 2 value(s) for a batch of 3 row(s); it must "
        "return one value per row"
    )
    assert error.hint is not None
    assert error.hint.startswith("fix broken() in ")
    assert error.hint.endswith("test_custom_functions.py: return a Series as long as its arguments")


def test_a_result_of_the_wrong_type_fails_naming_both_types() -> None:
    error = run_error(lambda text: text.str.len_chars(), returns="string")
    assert error.message == (
        "custom function broken() returned UInt32 values, but it is declared to return "
        "string (String)"
    )
    assert error.hint is not None
    assert error.hint.endswith(
        ": cast its result with .cast(pl.String), or declare returns= as the type it returns"
    )


def test_a_result_that_is_not_a_series_fails() -> None:
    error = run_error(lambda text: text.to_list())
    assert error.message == "custom function broken() returned a list, not a polars Series"


def test_an_exception_in_the_function_fails_with_its_message() -> None:
    def explode(text: pl.Series) -> pl.Series:
        raise ValueError("cannot handle this")

    error = run_error(explode)
    assert error.message == "custom function broken() raised ValueError: cannot handle this"
    assert isinstance(error.__cause__, ValueError)


def digits(text: pl.Series) -> pl.Series:
    """The digits of a phone number with at least 7 of them; null otherwise."""
    found = text.str.replace_all(r"\D", "")
    return pl.select(pl.when(found.str.len_chars() >= 7).then(found)).to_series()


def test_a_null_result_of_a_can_fail_function_is_a_row_failure_where_inputs_were_set() -> None:
    register_custom_function(
        digits, name="digits", params={"text": "string"}, returns="string", can_fail=True
    )
    frame = pl.DataFrame({"Name": ["+1 555 0100", "12", None]})
    expression = compiled("digits(trim(Name))")
    [failure] = expression.failures
    assert (failure.function, failure.argument) == ("digits", "trim(Name)")
    checked = frame.select(
        expression.expr.alias("out"), failure.condition.alias("failed"), failure.value
    )
    assert checked.rows() == [
        ("15550100", False, "+1 555 0100"),
        (None, True, "12"),
        (None, False, None),
    ]


def test_a_can_fail_function_computed_as_a_step_reports_the_same_rows() -> None:
    register_custom_function(
        digits, name="digits", params={"text": "string"}, returns="string", can_fail=True
    )
    frame = pl.DataFrame({"Name": ["+1 555 0100", "12", None]})
    staged = compiled("lower(digits(Name))").staged
    assert staged is not None
    [step] = staged.steps
    with_step = frame.with_columns(step.expr.alias(step.name))
    [failure] = staged.failures
    assert with_step.select(failure.condition).to_series().to_list() == [False, True, False]


def test_a_null_result_of_a_function_that_cannot_fail_is_only_null() -> None:
    register_custom_function(digits, name="digits", params={"text": "string"}, returns="string")
    assert compiled("digits(Name)").failures == ()
    assert run("digits(Name)", pl.DataFrame({"Name": ["12"]})) == [None]


# --- modules of a project -----------------------------------------------------------------

MODULE = '''\
import polars as pl
from isthmus.mapping.custom import custom_function

with open("{log}", "a") as log:
    log.write("loaded\\n")


@custom_function(name="shout", params={{"text": "string"}}, returns="string")
def shout(text: pl.Series) -> pl.Series:
    """The text in upper case."""
    return text.str.to_uppercase()
'''


def module_in(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_loading_a_module_twice_runs_it_once(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    module_in(tmp_path, "functions/shout.py", MODULE.format(log=log))
    assert load_function_modules(tmp_path, ["functions/shout.py"]) == [None]
    first = get_function("shout")
    assert load_function_modules(tmp_path, ["functions/shout.py"]) == [None]
    assert get_function("shout") is first
    assert log.read_text() == "loaded\n"
    assert not (tmp_path / "functions/__pycache__").exists()


def test_a_changed_module_is_loaded_again_and_what_it_dropped_is_gone(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    module_in(tmp_path, "functions/shout.py", MODULE.format(log=log))
    load_function_modules(tmp_path, ["functions/shout.py"])
    changed = MODULE.format(log=log).replace('name="shout"', 'name="yell"')
    module_in(tmp_path, "functions/shout.py", changed)
    assert load_function_modules(tmp_path, ["functions/shout.py"]) == [None]
    assert custom_function_names() == {"yell"}
    assert log.read_text() == "loaded\nloaded\n"


def test_a_module_that_fails_half_way_registers_nothing(tmp_path: Path) -> None:
    text = MODULE.format(log=tmp_path / "log.txt") + "\nundefined_name + 1\n"
    module_in(tmp_path, "functions/shout.py", text)
    [problem] = load_function_modules(tmp_path, ["functions/shout.py"])
    assert problem is not None
    assert (problem.code, problem.message, problem.hint) == (
        "custom-function-load",
        "functions module functions/shout.py failed to load (line 13): NameError: name "
        "'undefined_name' is not defined",
        "fix the error in functions/shout.py",
    )
    assert custom_function_names() == frozenset()


def test_a_wrong_declaration_in_a_module_names_its_line(tmp_path: Path) -> None:
    text = MODULE.format(log=tmp_path / "log.txt").replace('"string"}}', '"text"}}')
    text = text.replace('{"text": "string"}', '{"text": "text"}')
    module_in(tmp_path, "functions/shout.py", text)
    [problem] = load_function_modules(tmp_path, ["functions/shout.py"])
    assert problem is not None
    assert (problem.code, problem.message, problem.hint) == (
        "custom-function-load",
        "functions module functions/shout.py could not register a custom function (line 8): "
        "custom function shout(): unknown type 'text' for parameter 'text'",
        "use one of string, integer, float, decimal, boolean, timestamp, date, json",
    )


def test_a_module_may_register_a_function_it_imports(tmp_path: Path) -> None:
    module_in(
        tmp_path,
        "functions/imported.py",
        "from isthmus.mapping.custom import register_custom_function\n"
        "from polars import Series\n"
        "register_custom_function(Series.reverse, name='backwards', params={'v': 'string'},"
        " returns='string', doc='Backwards.')\n",
    )
    assert load_function_modules(tmp_path, ["functions/imported.py"]) == [None]
    assert is_custom_function("backwards")
    assert load_function_modules(tmp_path, []) == []
    assert not is_custom_function("backwards")


def test_loading_another_project_removes_the_functions_of_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    module_in(first, "functions/shout.py", MODULE.format(log=tmp_path / "log.txt"))
    module_in(second, "functions/shout.py", MODULE.format(log=tmp_path / "log.txt"))
    load_function_modules(first, ["functions/shout.py"])
    # the same function name from the other project's own file: no clash, a replacement
    assert load_function_modules(second, ["functions/shout.py"]) == [None]
    assert custom_function_names() == {"shout"}
    assert load_function_modules(first, []) == []
    assert custom_function_names() == frozenset()


def test_functions_registered_from_python_stay_when_a_project_loads(tmp_path: Path) -> None:
    register_custom_function(shout, name="direct", params={"text": "string"}, returns="string")
    assert load_function_modules(tmp_path, []) == []
    assert is_custom_function("direct")


@pytest.mark.parametrize(
    ("entry", "message", "hint"),
    [
        (
            "/etc/shout.py",
            "functions module /etc/shout.py is not a path inside the project (absolute paths "
            "and .. are refused)",
            "write the path relative to the project folder, e.g. functions/scoring.py",
        ),
        (
            "functions/../../shout.py",
            "functions module functions/../../shout.py is not a path inside the project "
            "(absolute paths and .. are refused)",
            "write the path relative to the project folder, e.g. functions/scoring.py",
        ),
        (
            "C:\\functions\\shout.py",
            "functions module C:\\functions\\shout.py is not a path inside the project "
            "(absolute paths and .. are refused)",
            "write the path relative to the project folder, e.g. functions/scoring.py",
        ),
        (
            "functions/shout.txt",
            "functions module functions/shout.txt is not a Python file",
            "name a .py file, e.g. functions/scoring.py",
        ),
        (
            "functions/missing.py",
            "functions module functions/missing.py does not exist in the project",
            "create the file, or correct the path (it is relative to the project folder)",
        ),
        (
            "functions",
            "functions module functions is not a Python file",
            "name a .py file, e.g. functions/scoring.py",
        ),
    ],
)
def test_a_path_that_is_not_a_module_file_inside_the_project_is_refused(
    tmp_path: Path, entry: str, message: str, hint: str
) -> None:
    (tmp_path / "functions").mkdir()
    [problem] = load_function_modules(tmp_path, [entry])
    assert problem is not None
    assert (problem.code, problem.message, problem.hint) == ("custom-function-path", message, hint)


def test_a_symbolic_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    module_in(outside, "shout.py", MODULE.format(log=tmp_path / "log.txt"))
    root.mkdir()
    (root / "functions").symlink_to(outside)
    [problem] = load_function_modules(root, ["functions/shout.py"])
    assert problem is not None
    assert problem.message == (
        "functions module functions/shout.py leads outside the project (through a symbolic "
        f"link, to {(outside / 'shout.py').resolve()})"
    )
    assert not is_custom_function("shout")


def test_a_symbolic_link_inside_the_project_is_followed(tmp_path: Path) -> None:
    module_in(tmp_path, "lib/shout.py", MODULE.format(log=tmp_path / "log.txt"))
    (tmp_path / "functions").symlink_to(tmp_path / "lib")
    assert load_function_modules(tmp_path, ["functions/shout.py"]) == [None]
    assert is_custom_function("shout")


def test_loading_the_project_loads_its_modules_and_reports_problems_at_the_entry(
    tmp_path: Path,
) -> None:
    module_in(tmp_path, "functions/shout.py", MODULE.format(log=tmp_path / "log.txt"))
    (tmp_path / "isthmus.yaml").write_text(
        "project: p\ncore: {database: 'sqlite:///core.db'}\nstate: {database: 'sqlite:///s.db'}\n"
        "functions:\n  - functions/shout.py\n  - functions/gone.py\n",
        encoding="utf-8",
    )
    project = load_project(tmp_path)
    assert is_custom_function("shout")
    assert [(d.code, d.location, d.message) for d in project.diagnostics] == [
        (
            "custom-function-path",
            Location(tmp_path / "isthmus.yaml", 6, 5),
            "functions module functions/gone.py does not exist in the project",
        )
    ]


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.one_of(st.none(), st.text(st.sampled_from("12a +"), max_size=9)), max_size=8)
)
def test_rows_fail_exactly_where_a_set_input_gives_null_whole_or_staged(
    names: list[str | None],
) -> None:
    """Per row, by a plain Python reference: the result is the digits of the text when there
    are at least seven, and the row failed exactly when the text was set and the result not."""
    with isolated_custom_functions():
        register_custom_function(
            digits, name="digits", params={"text": "string"}, returns="string", can_fail=True
        )
        expression = compiled("digits(Name)")
        frame = pl.DataFrame({"Name": names}, schema={"Name": pl.String})
        [failure] = expression.failures
        whole = frame.select(expression.expr.alias("out"), failure.condition.alias("failed"))
        staged = expression.staged
        assert staged is not None
        [step] = staged.steps
        with_step = frame.with_columns(step.expr.alias(step.name))
        [staged_failure] = staged.failures
        staged_rows = with_step.select(
            staged.expr.alias("out"), staged_failure.condition.alias("failed")
        )
    expected = []
    for name in names:
        found = None if name is None else "".join(c for c in name if c.isdigit())
        result = found if found is not None and len(found) >= 7 else None
        expected.append((result, name is not None and result is None))
    assert whole.rows() == expected
    assert staged_rows.rows() == expected
