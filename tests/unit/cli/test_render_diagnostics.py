"""The human report of `isthmus validate`: grouped by file, a caret under the right terminal
cell, no credential echoed, one line of counts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from isthmus.cli.render_diagnostics import (
    caret_position,
    group_by_file,
    holds_credential,
    print_report,
    report_lines,
)
from isthmus.diagnostics import Diagnostic, Location, Severity, Tally


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _plain(found: list[Diagnostic], root: Path, *, strict: bool = False) -> list[str]:
    return [t.plain for t in report_lines(found, root, strict=strict, valid_summary="2 entities")]


def _caret_cell(lines: list[str]) -> int:
    """The terminal cell the caret line points at, relative to the source line above it."""
    source, caret = lines
    gutter = source.index("| ") + 2
    return cell_len(caret[: caret.index("^")]) - gutter


def test_a_diagnostic_shows_its_place_severity_code_source_line_caret_and_hint(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "core/customer.yaml", "entity: customer\ntenant_key: tenant\n")
    found = [
        Diagnostic(
            "unknown-core-field",
            "no such field",
            Location(path, 2, 13),
            hint="did you mean 'tenant_id'?",
        )
    ]
    assert _plain(found, tmp_path) == [
        "core/customer.yaml",
        "  2:13 error [unknown-core-field] no such field",
        "      2 | tenant_key: tenant",
        "                      ^",
        "    hint: did you mean 'tenant_id'?",
        "",
        "1 error, 0 warnings, 0 notes in 1 file: the project does not validate",
    ]


def test_diagnostics_are_grouped_by_file_in_order_with_the_unlocated_ones_first(
    tmp_path: Path,
) -> None:
    first = _write(tmp_path, "a.yaml", "x: 1\n")
    second = _write(tmp_path, "b/c.yaml", "y: 2\n")
    found = [
        Diagnostic("one", "m1", Location(second, 1, 1)),
        Diagnostic("two", "m2", None),
        Diagnostic("three", "m3", Location(first, 1, 4), severity=Severity.WARNING),
        Diagnostic("four", "m4", Location(second, 1, 4), severity=Severity.INFO),
    ]
    groups = group_by_file(found, tmp_path)
    assert [(header, [d.code for d in group]) for header, group in groups] == [
        ("(no location)", ["two"]),
        ("b/c.yaml", ["one", "four"]),
        ("a.yaml", ["three"]),
    ]
    lines = _plain(found, tmp_path)
    assert lines[:3] == ["(no location)", "  error [two] m2", ""]
    assert lines[-1] == "2 errors, 1 warning, 1 note in 2 files: the project does not validate"


def test_paths_are_relative_to_the_project_root_wherever_the_command_runs(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "integrations/acme/crm.yaml", "tenant: acme\n")
    found = [Diagnostic("c", "m", Location(path.resolve(), 1, 1))]
    assert _plain(found, tmp_path)[0] == "integrations/acme/crm.yaml"


def test_the_caret_stands_under_the_column_after_tabs() -> None:
    shown, cells = caret_position("a:\t[x,\ty]", 8)
    assert shown == "a:      [x,     y]"
    assert shown[cells] == "y"


def test_the_caret_counts_wide_characters_as_two_cells() -> None:
    shown, cells = caret_position("name: 日本語 ✅ x", 13)
    assert shown == "name: 日本語 ✅ x"
    # 6 narrow, 3 wide, 1 narrow, 1 wide (the emoji), 1 narrow before the x.
    assert cells == 6 + 3 * 2 + 1 + 2 + 1


def test_the_caret_ignores_combining_characters() -> None:
    # "é" written as e + a combining accent: two characters, one cell.
    _, cells = caret_position("cafe\u0301: x", 8)
    assert cells == 6


def test_the_printed_caret_sits_under_the_right_cell_with_tabs_and_wide_characters(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "t.yaml", 'd: "\t日本"\tbad\n')
    found = [Diagnostic("yaml-syntax", "m", Location(path, 1, 10))]
    lines = _plain(found, tmp_path)
    source_and_caret = lines[2:4]
    assert source_and_caret[0] == '      1 | d: "    日本"     bad'
    # d: " (4 cells), the tab to 8, two wide characters (4 cells), the quote, and the second
    # tab (expanded as the file's characters count, 5 spaces): the 'b' is at cell 18.
    assert _caret_cell(source_and_caret) == 18


def test_a_column_past_the_end_of_the_line_points_just_after_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.yaml", "key:\n")
    lines = _plain([Diagnostic("missing-key", "m", Location(path, 1, 5))], tmp_path)
    assert _caret_cell(lines[2:4]) == 4


def test_a_line_holding_a_credential_is_never_echoed(tmp_path: Path) -> None:
    secret = "hunter2-Zx81"
    path = _write(tmp_path, "integrations/a.yaml", f"connection:\n  password: {secret}\n")
    found = [
        Diagnostic(
            "credential-not-a-secret",
            "connection.password is named like a credential but holds a value",
            Location(path, 2, 13),
            hint="write password: ${secret:NAME}",
        )
    ]
    buffer = io.StringIO()
    print_report(Console(file=buffer, width=200), found, tmp_path, strict=False, valid_summary="x")
    printed = buffer.getvalue()
    assert secret not in printed
    assert "      2 | (line not shown: it may hold a credential)" in printed.splitlines()
    assert "^" not in printed


def test_any_diagnostic_on_a_line_writing_a_credential_value_hides_the_line(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "a.yaml", "connection: {base_url: x, api_key: 'k-123'}\n")
    lines = _plain([Diagnostic("unknown-key", "m", Location(path, 1, 27))], tmp_path)
    assert lines[1:3] == [
        "  1:27 error [unknown-key] m",
        "      1 | (line not shown: it may hold a credential)",
    ]


@pytest.mark.parametrize(
    ("line", "holds"),
    [
        ("  password: hunter2", True),
        ('  "client_secret" : hunter2', True),
        ("auth: {type: bearer, token: abc}", True),
        ("  accessToken:\tabc", True),
        ("  password: |", True),  # a block scalar: the value follows
        ("  password: ${secret:db_password}", False),
        ('auth: {type: bearer, token: "${secret:crm_token}"}', False),
        ("  password:", False),  # a nested mapping follows
        ("  password: ''", False),
        ("    crm_token: env:INITECH_CRM_TOKEN", False),  # a binding names where it is
        ("    db_password: file:secrets/db", False),
        ("  token_url: https://crm.example/oauth", False),
        ("  secret_name: crm", False),
        ("  name: trim(Name)", False),
    ],
)
def test_which_lines_hold_a_credential(line: str, holds: bool) -> None:
    assert holds_credential(line) is holds


def test_an_unreadable_or_short_file_shows_no_source_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.yaml", "one line\n")
    found = [
        Diagnostic("c", "beyond the end", Location(path, 9, 1)),
        Diagnostic("c", "gone", Location(tmp_path / "missing.yaml", 1, 1)),
    ]
    assert _plain(found, tmp_path) == [
        "t.yaml",
        "  9:1 error [c] beyond the end",
        "",
        "missing.yaml",
        "  1:1 error [c] gone",
        "",
        "2 errors, 0 warnings, 0 notes in 2 files: the project does not validate",
    ]


def test_a_clean_project_is_valid_and_says_what_it_holds(tmp_path: Path) -> None:
    assert _plain([], tmp_path) == ["valid: 2 entities"]


def test_warnings_and_notes_leave_a_project_valid_unless_strict(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.yaml", "x: 1\n")
    found = [
        Diagnostic("w", "m", Location(path, 1, 1), severity=Severity.WARNING),
        Diagnostic("n", "m", Location(path, 1, 1), severity=Severity.INFO),
    ]
    assert _plain(found, tmp_path)[-1] == "valid: 2 entities; 0 errors, 1 warning, 1 note in 1 file"
    assert _plain(found, tmp_path, strict=True)[-1] == (
        "0 errors, 1 warning, 1 note in 1 file: the project does not validate "
        "(--strict: warnings fail too)"
    )


def test_a_tally_counts_severities_and_located_files_in_plain_words(tmp_path: Path) -> None:
    one, other = Location(tmp_path / "a.yaml", 1, 1), Location(tmp_path / "b.yaml", 2, 1)
    tally = Tally.of(
        [
            Diagnostic("e", "m", one),
            Diagnostic("e", "m", one),
            Diagnostic("w", "m", other, severity=Severity.WARNING),
            Diagnostic("n", "m", None, severity=Severity.INFO),
        ]
    )
    assert tally.to_dict() == {"errors": 2, "warnings": 1, "notes": 1, "files": 2}
    assert str(tally) == "2 errors, 1 warning, 1 note in 2 files"
    assert tally.fails(strict=False)
    warned = Tally(errors=0, warnings=1, notes=0, files=1)
    assert not warned.fails(strict=False)
    assert warned.fails(strict=True)
    assert not Tally(errors=0, warnings=0, notes=3, files=1).fails(strict=True)
