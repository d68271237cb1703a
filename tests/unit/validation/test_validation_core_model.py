"""Static checks of the core model: keys, constraints against types, references and cycles.

Each test writes a project of only a project file and core entities (no templates, no
integrations), so what ``validate_project`` reports comes from the core-model checks alone.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from isthmus.config import load_project
from isthmus.diagnostics import Diagnostic
from isthmus.validation import validate_project

PROJECT = """\
project: core-only
core: {database: "sqlite:///core.db"}
state: {database: "sqlite:///state.db"}
"""

TEAM = """\
entity: team
tenant_key: tenant_id
primary_key: [tenant_id, team_id]
fields:
  team_id: {type: string, required: true}
  title: {type: string}
"""


def diagnose(root: Path, entities: dict[str, str]) -> list[Diagnostic]:
    """Write ``{entity name: YAML}`` as core files beside the project file, and validate."""
    (root / "isthmus.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "core").mkdir()
    for name, text in entities.items():
        (root / "core" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return validate_project(load_project(root))


def where(diagnostic: Diagnostic, root: Path) -> str:
    location = diagnostic.location
    assert location is not None, f"{diagnostic} has no location"
    return f"{location.file.relative_to(root).as_posix()}:{location.line}:{location.column}"


def only(diagnostics: list[Diagnostic], root: Path, code: str, at: str) -> Diagnostic:
    """The one diagnostic there is, checked to have ``code`` at ``at`` (file relative to root)."""
    assert [(d.code, where(d, root)) for d in diagnostics] == [(code, at)], "\n".join(
        map(str, diagnostics)
    )
    return diagnostics[0]


def person(fields: str, primary_key: str = "[tenant_id, person_id]") -> str:
    """A person entity; the lines of ``fields`` start on line 6."""
    return (
        "entity: person\n"
        "tenant_key: tenant_id\n"
        f"primary_key: {primary_key}\n"
        "fields:\n"
        "  person_id: {type: string, required: true}\n" + fields
    )


def test_well_formed_core_model_with_a_reference_has_no_diagnostics(tmp_path: Path) -> None:
    fields = "  team_id: {type: string, references: team.team_id}\n"

    assert diagnose(tmp_path, {"person": person(fields), "team": TEAM}) == []


# --- keys -----------------------------------------------------------------------------------


def test_primary_key_without_the_tenant_key_is_refused(tmp_path: Path) -> None:
    found = only(
        diagnose(tmp_path, {"person": person("", primary_key="[person_id]")}),
        tmp_path,
        "tenant-key-not-in-primary-key",
        "core/person.yaml:3:14",
    )

    assert "entity 'person'" in found.message
    assert "'tenant_id'" in found.message
    assert found.hint == "write primary_key: [tenant_id, ...]"


def test_primary_key_field_not_declared_is_an_unknown_core_field_at_that_item(
    tmp_path: Path,
) -> None:
    found = only(
        diagnose(tmp_path, {"person": person("", primary_key="[tenant_id, persn_id]")}),
        tmp_path,
        "unknown-core-field",
        "core/person.yaml:3:26",
    )

    assert "entity 'person'" in found.message
    assert "'persn_id'" in found.message
    assert found.hint == "did you mean 'person_id'?"


# --- constraints against the field's type ---------------------------------------------------


def test_min_on_a_string_field_is_a_constraint_type_mismatch_at_the_key(tmp_path: Path) -> None:
    found = only(
        diagnose(tmp_path, {"person": person("  name: {type: string, min: 1}\n")}),
        tmp_path,
        "constraint-type-mismatch",
        "core/person.yaml:6:24",
    )

    assert found.message == "person.name: min does not apply to a string field"
    assert found.hint == "remove min, or change the field's type"


def test_pattern_on_an_integer_field_is_a_constraint_type_mismatch_at_the_key(
    tmp_path: Path,
) -> None:
    found = only(
        diagnose(tmp_path, {"person": person("  age: {type: integer, pattern: '^[0-9]+$'}\n")}),
        tmp_path,
        "constraint-type-mismatch",
        "core/person.yaml:6:24",
    )

    assert found.message.startswith("person.age: pattern does not apply to a")
    assert found.message.endswith(" integer field")
    assert found.hint == "remove pattern, or change the field's type"


def test_max_length_on_an_integer_field_is_a_constraint_type_mismatch(tmp_path: Path) -> None:
    found = only(
        diagnose(tmp_path, {"person": person("  age: {type: integer, max_length: 3}\n")}),
        tmp_path,
        "constraint-type-mismatch",
        "core/person.yaml:6:24",
    )

    assert "max_length" in found.message


@pytest.mark.parametrize(
    ("field", "wrong"),
    [
        ("  status: {type: string, enum: [active, 2]}\n", "2"),
        ("  rank: {type: integer, enum: [1, two]}\n", "'two'"),
    ],
    ids=["integer-in-string-enum", "string-in-integer-enum"],
)
def test_enum_value_of_the_wrong_type_is_a_constraint_type_mismatch_naming_it(
    tmp_path: Path, field: str, wrong: str
) -> None:
    diagnostics = diagnose(tmp_path, {"person": person(field)})
    column = field.index("[") + 1

    found = only(diagnostics, tmp_path, "constraint-type-mismatch", f"core/person.yaml:6:{column}")

    assert f"enum value {wrong} is not a" in found.message
    assert found.hint == "list values of the field's own type"


@pytest.mark.parametrize(
    "field",
    [
        "  active: {type: boolean, enum: [yes, no]}\n",
        "  born: {type: timestamp, enum: ['2024-01-01']}\n",
    ],
    ids=["boolean", "timestamp"],
)
def test_string_enum_values_on_a_non_string_field_are_a_constraint_type_mismatch(
    tmp_path: Path, field: str
) -> None:
    diagnostics = diagnose(tmp_path, {"person": person(field)})
    column = field.index("[") + 1

    only(diagnostics, tmp_path, "constraint-type-mismatch", f"core/person.yaml:6:{column}")


def test_pattern_the_row_check_cannot_run_is_reported_statically(tmp_path: Path) -> None:
    field = "  email: {type: string, pattern: '^(?!test@).+@.+$'}\n"

    diagnostics = diagnose(tmp_path, {"person": person(field)})

    assert [(d.is_error, where(d, tmp_path)) for d in diagnostics] == [
        (True, "core/person.yaml:6:34")
    ]


def test_constraints_that_fit_their_types_are_accepted(tmp_path: Path) -> None:
    fields = (
        "  name: {type: string, pattern: '^[A-Z]', max_length: 20, enum: [Ann, Bob]}\n"
        "  age: {type: integer, min: 0, max: 150, enum: [1, 2]}\n"
        "  score: {type: float, min: 0.5, max: 9.5}\n"
    )

    assert diagnose(tmp_path, {"person": person(fields)}) == []


# --- references -----------------------------------------------------------------------------


def test_reference_to_an_unknown_entity_suggests_the_close_entity(tmp_path: Path) -> None:
    fields = "  team_id: {type: string, references: teams.team_id}\n"

    found = only(
        diagnose(tmp_path, {"person": person(fields), "team": TEAM}),
        tmp_path,
        "unknown-reference",
        "core/person.yaml:6:39",
    )

    assert found.message == "person.team_id references entity 'teams', which does not exist"
    assert found.hint == "did you mean 'team'?"


def test_reference_to_an_unknown_field_suggests_the_close_field(tmp_path: Path) -> None:
    fields = "  team_id: {type: string, references: team.teamid}\n"

    found = only(
        diagnose(tmp_path, {"person": person(fields), "team": TEAM}),
        tmp_path,
        "unknown-reference",
        "core/person.yaml:6:39",
    )

    assert found.message == "person.team_id references team.teamid, which is not a field"
    assert found.hint == "did you mean 'team_id'?"


def test_reference_whose_type_differs_from_its_target_is_a_type_mismatch(tmp_path: Path) -> None:
    fields = "  team_id: {type: integer, references: team.team_id}\n"

    found = only(
        diagnose(tmp_path, {"person": person(fields), "team": TEAM}),
        tmp_path,
        "type-mismatch",
        "core/person.yaml:6:40",
    )

    assert found.message == "person.team_id is integer but references team.team_id, a string"
    assert found.hint == "a reference has the type of the field it points to"


LEADER = "  lead_id: {{type: string, references: person.person_id{extra}}}\n"


def test_entities_referencing_each_other_are_a_reference_cycle_naming_it(tmp_path: Path) -> None:
    team = TEAM + LEADER.format(extra="")
    fields = "  team_id: {type: string, references: team.team_id}\n"

    diagnostics = diagnose(tmp_path, {"person": person(fields), "team": team})

    assert [d.code for d in diagnostics] == ["reference-cycle"]
    found = diagnostics[0]
    assert found.message.startswith("core entities reference each other in a cycle: ")
    cycle = found.message.rsplit(": ", 1)[1].split(" -> ")
    assert set(cycle) == {"person", "team"}
    assert len(cycle) == 3
    assert cycle[0] == cycle[-1]
    # Located at the name of the entity the cycle is written from.
    assert where(found, tmp_path) == f"core/{cycle[0]}.yaml:1:9"
    assert found.hint is not None
    assert "on_missing: allow" in found.hint


def test_on_missing_allow_breaks_a_reference_cycle(tmp_path: Path) -> None:
    team = TEAM + LEADER.format(extra=", on_missing: allow")
    fields = "  team_id: {type: string, references: team.team_id}\n"

    assert diagnose(tmp_path, {"person": person(fields), "team": team}) == []


def test_an_entity_referencing_itself_is_not_a_cycle(tmp_path: Path) -> None:
    fields = "  manager_id: {type: string, references: person.person_id}\n"

    assert diagnose(tmp_path, {"person": person(fields)}) == []


def test_three_entities_in_a_ring_are_one_cycle_naming_all_three(tmp_path: Path) -> None:
    team = TEAM + "  site_id: {type: string, references: site.site_id}\n"
    site = """\
    entity: site
    tenant_key: tenant_id
    primary_key: [tenant_id, site_id]
    fields:
      site_id: {type: string, required: true}
      owner_id: {type: string, references: person.person_id}
    """
    fields = "  team_id: {type: string, references: team.team_id}\n"

    diagnostics = diagnose(tmp_path, {"person": person(fields), "team": team, "site": site})

    assert [d.code for d in diagnostics] == ["reference-cycle"]
    cycle = diagnostics[0].message.rsplit(": ", 1)[1].split(" -> ")
    assert set(cycle) == {"person", "team", "site"}
    assert len(cycle) == 4
