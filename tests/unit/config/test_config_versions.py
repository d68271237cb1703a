"""Semantic versions and the npm-style ranges integrations use to pick a template version."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isthmus.config.versions import Version, VersionRange

# --- versions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("2.1.0", Version(2, 1, 0)),
        ("0.0.1", Version(0, 0, 1)),
        ("10.20.30", Version(10, 20, 30)),
        ("2.1.0-beta.1", Version(2, 1, 0, "beta.1")),
        ("1.0.0-rc-1", Version(1, 0, 0, "rc-1")),
    ],
)
def test_a_version_parses_into_its_parts_and_prints_back_the_same(
    text: str, version: Version
) -> None:
    assert Version.parse(text) == version
    assert str(version) == text


def test_surrounding_whitespace_is_ignored_when_parsing_a_version() -> None:
    assert Version.parse(" 2.1.0\n") == Version(2, 1, 0)


@pytest.mark.parametrize("text", ["2.1", "2", "v2.1.0", "2.1.0-", "2.1.0.4", "x", "", "2.1.0+b"])
def test_text_that_is_not_a_full_semantic_version_is_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a semantic version like 2\.1\.0") as caught:
        Version.parse(text)
    assert str(caught.value) == f"{text!r} is not a semantic version like 2.1.0"


def test_versions_order_by_major_then_minor_then_patch_numerically() -> None:
    texts = ["10.0.0", "2.10.0", "2.2.0", "2.1.10", "2.1.9", "1.99.99"]
    ordered = sorted(Version.parse(t) for t in texts)
    assert [str(v) for v in ordered] == ["1.99.99", "2.1.9", "2.1.10", "2.2.0", "2.10.0", "10.0.0"]


def test_pre_releases_sort_before_their_release_in_semver_precedence() -> None:
    # The example list of semver.org, section 11.
    texts = [
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
        "1.0.0-beta",
        "1.0.0-alpha.beta",
        "1.0.0-alpha.1",
        "1.0.0-alpha",
        "0.9.9",
    ]
    ordered = sorted(Version.parse(t) for t in texts)
    assert [str(v) for v in ordered] == [
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]


def test_a_pre_release_of_the_next_version_sorts_after_the_current_release() -> None:
    assert Version.parse("2.1.0") < Version.parse("2.2.0-alpha") < Version.parse("2.2.0")
    assert Version.parse("2.2.0") > Version.parse("2.2.0-alpha")
    assert Version.parse("2.2.0-alpha") <= Version.parse("2.2.0-alpha")


def test_equal_versions_are_one_dict_key() -> None:
    versions = {Version.parse("2.1.0"): "a"}
    assert versions[Version(2, 1, 0)] == "a"
    assert Version.parse("2.1.0-beta") not in versions


def test_comparing_a_version_with_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Version(1, 0, 0) < "1.0.0"  # type: ignore[operator]


# --- ranges -------------------------------------------------------------------------------

CANDIDATES = [
    "0.2.9",
    "0.3.0",
    "0.3.7",
    "0.4.0",
    "1.0.0",
    "1.9.9",
    "2.0.0",
    "2.0.5",
    "2.1.0",
    "2.1.4",
    "2.2.0",
    "2.9.9",
    "3.0.0",
]


def admitted(range_text: str, candidates: list[str] = CANDIDATES) -> list[str]:
    wanted = VersionRange.parse(range_text)
    return [t for t in candidates if wanted.admits(Version.parse(t))]


@pytest.mark.parametrize(
    ("range_text", "expected"),
    [
        pytest.param("2.1.0", ["2.1.0"], id="exact"),
        pytest.param("=1.0.0", ["1.0.0"], id="equals"),
        pytest.param(
            "^2", ["2.0.0", "2.0.5", "2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="caret-major"
        ),
        pytest.param("^2.1", ["2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="caret-minor"),
        pytest.param("^2.1.4", ["2.1.4", "2.2.0", "2.9.9"], id="caret-patch"),
        pytest.param("^0.3", ["0.3.0", "0.3.7"], id="caret-zero-major"),
        pytest.param("^0.3.1", ["0.3.7"], id="caret-zero-major-patch"),
        pytest.param("^0", ["0.2.9", "0.3.0", "0.3.7", "0.4.0"], id="caret-zero"),
        pytest.param("~2.1", ["2.1.0", "2.1.4"], id="tilde-minor"),
        pytest.param("~2.1.2", ["2.1.4"], id="tilde-patch"),
        pytest.param("~2", ["2.0.0", "2.0.5", "2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="tilde"),
        pytest.param("2.x", ["2.0.0", "2.0.5", "2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="x-major"),
        pytest.param("2", ["2.0.0", "2.0.5", "2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="bare-major"),
        pytest.param("2.1.x", ["2.1.0", "2.1.4"], id="x-minor"),
        pytest.param("*", CANDIDATES, id="star"),
        pytest.param("", CANDIDATES, id="empty"),
        pytest.param(">=2.1 <3", ["2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="comparators"),
        pytest.param(">=2.1, <3", ["2.1.0", "2.1.4", "2.2.0", "2.9.9"], id="comma"),
        pytest.param(">2.0.5 <=2.2.0", ["2.1.0", "2.1.4", "2.2.0"], id="strict-and-inclusive"),
        pytest.param("<1", ["0.2.9", "0.3.0", "0.3.7", "0.4.0"], id="below"),
    ],
)
def test_a_range_admits_exactly_the_versions_it_names(range_text: str, expected: list[str]) -> None:
    assert admitted(range_text) == expected


def test_caret_zero_zero_patch_admits_only_that_patch() -> None:
    assert admitted("^0.0.3", ["0.0.2", "0.0.3", "0.0.4", "0.1.0"]) == ["0.0.3"]


def test_a_range_prints_as_it_was_written() -> None:
    assert str(VersionRange.parse(" >=2.1 <3 ")) == ">=2.1 <3"
    assert str(VersionRange.parse("^2")) == "^2"
    assert str(VersionRange.parse("")) == "*"


def test_best_picks_the_highest_admitted_version_whatever_the_input_order() -> None:
    versions = [Version.parse(t) for t in ["2.1.4", "3.0.0", "2.9.9", "1.9.9", "2.0.0"]]
    assert VersionRange.parse("^2").best(versions) == Version(2, 9, 9)
    assert VersionRange.parse("~2.1").best(versions) == Version(2, 1, 4)
    assert VersionRange.parse("*").best(versions) == Version(3, 0, 0)


def test_best_is_none_when_no_version_matches_or_there_are_none() -> None:
    versions = [Version.parse("1.0.0"), Version.parse("3.0.0")]
    assert VersionRange.parse("^2").best(versions) is None
    assert VersionRange.parse("*").best([]) is None


def test_a_pre_release_does_not_match_a_range_that_names_none() -> None:
    pre = Version.parse("2.5.0-beta.1")
    for text in ["^2", "~2.5", "2.x", "*", ">=2 <3"]:
        assert not VersionRange.parse(text).admits(pre), text
    assert VersionRange.parse("^2").best([Version(2, 4, 0), pre]) == Version(2, 4, 0)


def test_the_next_major_pre_release_is_not_admitted_by_a_caret_range() -> None:
    assert not VersionRange.parse("^2").admits(Version.parse("3.0.0-alpha"))
    assert not VersionRange.parse("<3").admits(Version.parse("3.0.0-alpha"))


def test_a_range_that_names_a_pre_release_admits_pre_releases_and_releases_above_it() -> None:
    wanted = VersionRange.parse("^2.1.0-beta")
    assert wanted.admits(Version.parse("2.1.0-beta"))
    assert wanted.admits(Version.parse("2.1.0-beta.2"))
    assert wanted.admits(Version.parse("2.1.0"))
    assert wanted.admits(Version.parse("2.3.0"))
    assert not wanted.admits(Version.parse("2.1.0-alpha"))
    assert not wanted.admits(Version.parse("3.0.0"))


def test_an_exact_pre_release_range_admits_only_that_pre_release() -> None:
    assert admitted("2.1.0-rc.1", ["2.1.0-rc.1", "2.1.0-rc.2", "2.1.0"]) == ["2.1.0-rc.1"]


@pytest.mark.parametrize(
    ("range_text", "bad_part"),
    [
        ("^foo", "foo"),
        ("latest", "latest"),
        (">=", ""),
        ("1.2.3.4", "1.2.3.4"),
        ("^1 || ^2", "||"),
        ("1.0.0 - 2.0.0", "-"),
    ],
)
def test_invalid_range_text_raises_value_error_naming_the_bad_part(
    range_text: str, bad_part: str
) -> None:
    with pytest.raises(ValueError, match="is not a version range") as caught:
        VersionRange.parse(range_text)
    assert str(caught.value) == f"{bad_part!r} is not a version range like ^2, ~2.1 or 2.1.0"


@pytest.mark.parametrize(
    ("range_text", "version", "admits"),
    [("<=2", "2.5.0", True), (">2.1", "2.1.5", False)],
)
def test_a_comparator_with_a_partial_version_covers_the_whole_partial_range(
    range_text: str, version: str, admits: bool
) -> None:
    assert VersionRange.parse(range_text).admits(Version.parse(version)) is admits


# --- properties ---------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=10_000)
identifiers = st.from_regex(r"[0-9A-Za-z-]{1,8}", fullmatch=True)
prereleases = st.one_of(st.just(""), st.lists(identifiers, min_size=1, max_size=4).map(".".join))
versions = st.builds(Version, numbers, numbers, numbers, prereleases)
releases = st.builds(Version, numbers, numbers, numbers)
small = st.integers(min_value=0, max_value=4)


@given(versions)
def test_parsing_the_printed_version_gives_the_same_version(version: Version) -> None:
    assert Version.parse(str(version)) == version


@given(releases, releases)
def test_release_ordering_is_the_ordering_of_major_minor_patch_tuples(
    a: Version, b: Version
) -> None:
    ta, tb = (a.major, a.minor, a.patch), (b.major, b.minor, b.patch)
    assert (a < b) == (ta < tb)
    assert (a == b) == (ta == tb)
    assert (a > b) == (ta > tb)


@given(st.builds(Version, numbers, numbers, st.integers(1, 10_000)), prereleases.filter(bool))
def test_a_pre_release_sorts_between_the_previous_release_and_its_own(
    release: Version, pre: str
) -> None:
    previous = Version(release.major, release.minor, release.patch - 1)
    assert previous < Version(release.major, release.minor, release.patch, pre) < release


@given(st.integers(min_value=1, max_value=4), small, small, st.builds(Version, small, small, small))
def test_caret_admits_exactly_the_same_major_at_or_above_its_floor(
    major: int, minor: int, patch: int, version: Version
) -> None:
    floor = Version(major, minor, patch)
    wanted = VersionRange.parse(f"^{floor}")
    assert wanted.admits(version) == (version.major == major and version >= floor)


@given(st.builds(Version, small, small, small, prereleases.filter(bool)))
def test_no_range_without_a_pre_release_admits_a_pre_release(version: Version) -> None:
    for text in ["*", "^0", "^1", "~1.1", "1.x", ">=0.0.0"]:
        assert not VersionRange.parse(text).admits(version)


@given(
    st.lists(st.builds(Version, small, small, small), max_size=8),
    st.sampled_from(["^1", "^0.2", "~1.2", "2.x", ">=1.1 <3", "*", "1.2.3"]),
)
def test_best_is_the_maximum_of_the_admitted_versions(
    candidates: list[Version], range_text: str
) -> None:
    wanted = VersionRange.parse(range_text)
    admitted_versions = [v for v in candidates if wanted.admits(v)]
    assert wanted.best(candidates) == (max(admitted_versions) if admitted_versions else None)
