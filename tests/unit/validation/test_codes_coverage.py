"""One set of diagnostic codes everywhere: the codes the source reports, the registry
(``isthmus.validation.codes``), the README's "Diagnostic codes" table and the matrix of broken
configurations (``diagnostic_cases/``) name the same codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import isthmus
from isthmus.validation.codes import CODES, FIXTURE_CODES, describe
from support_diagnostics import load_cases

REPOSITORY = Path(__file__).resolve().parents[3]
CASES_DIR = Path(__file__).parent / "diagnostic_cases"
SOURCE = Path(isthmus.__file__).parent
CODE = re.compile(r"[a-z]+(?:-[a-z]+)+")
# Calls whose first argument is a diagnostic code (a guardrail rule's id is one too).
CODE_TAKING_CALLS = frozenset({"Diagnostic", "Rule", "report"})


def readme_codes(text: str) -> set[str]:
    """The codes in the first column of the table under "## Diagnostic codes"."""
    section = text.split("\n## Diagnostic codes\n", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            codes.update(re.findall(r"`([^`]+)`", first_cell))
    return codes


def source_codes(folder: Path) -> dict[str, str]:
    """Code -> the module that reports it: a string literal (or a module constant) passed
    first to ``Diagnostic``, ``Rule`` or ``report``, and module constants spelled like
    codes (``STALE_EXCEPTION = "stale-exception"``)."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(folder.parent))
        for node in ast.walk(tree):
            for code in _codes_of(node):
                found.setdefault(code, where)
    return found


def _codes_of(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Call) and node.args and _callee(node.func) in CODE_TAKING_CALLS:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return [first.value] if CODE.fullmatch(first.value) else []
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        value = node.value.value
        if names and all(n.isupper() for n in names) and isinstance(value, str):
            return [value] if CODE.fullmatch(value) else []
    return []


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def test_the_readme_table_is_read_code_by_code() -> None:
    table = (
        "intro\n## Diagnostic codes\n\n| code | what |\n| --- | --- |\n"
        "| `a-b` | one |\n| `c-d`, `e-f` | two, with `not-a-code` in the text |\n"
        "\n## Next\n| `g-h` | elsewhere |\n"
    )
    assert readme_codes(table) == {"a-b", "c-d", "e-f"}


def test_the_source_scan_finds_literals_constants_and_rule_ids() -> None:
    module = (
        'STALE = "stale-thing"\nWORD = "word"\nlower = "not-upper"\n'
        'Diagnostic("literal-code", "m")\nRule("rule-id", "why", "fix")\n'
        'self.report("reported-code", "m", 1)\nDiagnostic(f"dynamic-{kind}", "m")\n'
        'print("not-a-code")\n'
    )
    found = {c for node in ast.walk(ast.parse(module)) for c in _codes_of(node)}
    assert found == {"stale-thing", "literal-code", "rule-id", "reported-code"}


def test_every_registered_code_has_a_one_line_description() -> None:
    for code, description in (CODES | FIXTURE_CODES).items():
        assert CODE.fullmatch(code), code
        assert description, code
        assert "\n" not in description, code
        assert describe(code) == description
    assert describe("no-such-code") is None


def test_every_code_the_source_reports_is_registered() -> None:
    unregistered = {
        code: module
        for code, module in source_codes(SOURCE).items()
        if code not in CODES and code not in FIXTURE_CODES
    }
    assert unregistered == {}, (
        "codes reported in the source but missing from isthmus/validation/codes.py: "
        + ", ".join(f"{code} ({module})" for code, module in sorted(unregistered.items()))
    )


def test_the_readme_the_registry_and_the_matrix_name_the_same_codes() -> None:
    # Fixture-file codes are reported by `isthmus test`, so they have no validate matrix case;
    # their own tests (test_fixtures_diagnostics.py) place each one.
    readme = readme_codes((REPOSITORY / "README.md").read_text(encoding="utf-8"))
    assert set(FIXTURE_CODES) <= readme, sorted(set(FIXTURE_CODES) - readme)
    places = {
        "the README's Diagnostic codes table": readme - set(FIXTURE_CODES),
        "isthmus/validation/codes.py": set(CODES),
        "the matrix (tests/unit/validation/diagnostic_cases/)": {
            case.code for case in load_cases(CASES_DIR)
        },
    }
    every = set().union(*places.values())
    missing = {place: sorted(every - codes) for place, codes in places.items() if every - codes}
    assert missing == {}, "\n".join(
        f"missing from {place}: {', '.join(codes)}" for place, codes in missing.items()
    )
