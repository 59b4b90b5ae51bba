"""satisfies(): comparators, ^, ~, wildcards, alternatives and constraint errors."""
import pytest

from semver import InvalidConstraint, InvalidVersion, Version, satisfies

CASES = [
    # plain comparators
    ("1.2.3", ">=1.2.3", True), ("1.2.2", ">=1.2.3", False), ("1.2.4", ">=1.2.3", True),
    ("1.2.3", ">1.2.3", False), ("1.2.4", ">1.2.3", True), ("1.2.2", ">1.2.3", False),
    ("1.2.3", "<=1.2.3", True), ("1.2.4", "<=1.2.3", False), ("1.2.2", "<=1.2.3", True),
    ("1.2.3", "<1.2.3", False), ("1.2.2", "<1.2.3", True), ("1.2.4", "<1.2.3", False),
    ("1.2.3", "=1.2.3", True), ("1.2.4", "=1.2.3", False), ("1.2.2", "=1.2.3", False),
    ("1.2.3", "1.2.3", True), ("1.2.4", "1.2.3", False), ("1.2.3+b", "1.2.3", True),
    ("1.2.3", "=1.2.3+zzz", True), ("1.2.3-rc.1", "1.2.3", False),
    ("1.2.3-rc.1", "<1.2.3", True), ("1.2.3-rc.2", ">1.2.3-rc.1", True),
    # ranges (all terms must hold)
    ("1.2.0", ">=1.2.0 <2.0.0", True), ("1.1.9", ">=1.2.0 <2.0.0", False),
    ("1.9.9", ">=1.2.0 <2.0.0", True), ("2.0.0", ">=1.2.0 <2.0.0", False),
    ("1.5.0", "  >=1.2.0 \t  <2.0.0  ", True), ("1.0.0", ">1.0.0 <=1.0.0", False),
    # caret
    ("1.2.3", "^1.2.3", True), ("1.2.2", "^1.2.3", False), ("1.9.9", "^1.2.3", True),
    ("2.0.0", "^1.2.3", False), ("2.0.0-rc.1", "^1.2.3", True), ("1.2.3-rc.1", "^1.2.3", False),
    ("1.5.0", "^1.0.0", True), ("2.0.0", "^1.0.0", False),
    ("0.2.3", "^0.2.3", True), ("0.2.9", "^0.2.3", True), ("0.3.0", "^0.2.3", False),
    ("0.2.2", "^0.2.3", False), ("0.1.5", "^0.1.0", True), ("0.2.0", "^0.1.0", False),
    ("0.0.3", "^0.0.3", True), ("0.0.4", "^0.0.3", False), ("0.0.2", "^0.0.3", False),
    ("0.0.0", "^0.0.0", True), ("0.0.1", "^0.0.0", False),
    ("0.0.1", "^0.0.1", True), ("0.0.2", "^0.0.1", False),
    ("1.2.3-beta.3", "^1.2.3-beta.2", True), ("1.2.3-beta.1", "^1.2.3-beta.2", False),
    ("1.2.3", "^1.2.3-beta.2", True), ("2.0.0", "^1.2.3-beta.2", False),
    # tilde
    ("1.2.3", "~1.2.3", True), ("1.2.9", "~1.2.3", True), ("1.3.0", "~1.2.3", False),
    ("1.2.2", "~1.2.3", False), ("1.2.3-rc.1", "~1.2.3", False), ("1.3.0-alpha", "~1.2.3", True),
    ("0.0.9", "~0.0.5", True), ("0.1.0", "~0.0.5", False), ("1.2.3-rc.2", "~1.2.3-rc.1", True),
    ("2.0.0", "~1.9.0", False), ("1.9.5", "~1.9.0", True),
    # wildcards
    ("1.2.0", "1.2.x", True), ("1.2.99", "1.2.x", True), ("1.3.0", "1.2.x", False),
    ("1.1.9", "1.2.x", False), ("1.2.0-rc.1", "1.2.x", False), ("1.3.0-rc.1", "1.2.x", True),
    ("1.0.0", "1.x", True), ("1.99.0", "1.x", True), ("2.0.0", "1.x", False),
    ("0.9.9", "1.x", False), ("2.0.0-alpha", "1.x", True),
    ("0.0.0", "0.x", True), ("1.0.0", "0.x", False), ("0.0.5", "0.0.x", True), ("0.1.0", "0.0.x", False),
    ("0.0.0-0", "*", True), ("99.0.0+b", "*", True),
    # combinations
    ("1.4.9", "^1.2.3 <1.5.0", True), ("1.5.0", "^1.2.3 <1.5.0", False),
    ("1.2.5", "1.2.x >1.2.5", False), ("1.2.6", "1.2.x >1.2.5", True),
    ("3.0.0", "* >=3.0.0", True), ("2.0.0", "* >=3.0.0", False),
    # alternatives
    ("3.0.0", "1.x || >=3.0.0", True), ("2.5.0", "1.x || >=3.0.0", False),
    ("1.5.0", "1.x || >=3.0.0", True),
    ("1.0.0", "1.0.0||2.0.0", True), ("2.0.0", "1.0.0||2.0.0", True), ("1.5.0", "1.0.0||2.0.0", False),
    ("1.5.0", ">=1.0.0 <1.2.0 || >=1.4.0 <1.6.0", True),
    ("1.3.0", ">=1.0.0 <1.2.0 || >=1.4.0 <1.6.0", False),
    ("1.1.0", ">=1.0.0 <1.2.0 || >=1.4.0 <1.6.0", True),
]


@pytest.mark.parametrize("version, constraint, expected", CASES,
                         ids=[f"{v} {c!r} {e}" for v, c, e in CASES])
def test_satisfies(version, constraint, expected):
    assert satisfies(version, constraint) is expected


def test_satisfies_accepts_version_objects():
    assert satisfies(Version(1, 2, 3), "^1.0.0") is True
    assert satisfies(Version(1, 2, 3, ("rc",)), "1.2.3") is False
    assert satisfies(Version(2, 0, 0), "^1.0.0") is False


def test_satisfies_invalid_version_string_raises_invalid_version():
    with pytest.raises(InvalidVersion):
        satisfies("1.2", ">=1.0.0")
    with pytest.raises(InvalidVersion):
        satisfies("v1.2.3", "*")


@pytest.mark.parametrize("constraint", [
    "", "   ", "1.0.0 ||", "|| 1.0.0", "1.0.0 || || 2.0.0", ">= 1.0.0", ">=1.2", "~1.2", "^1.2",
    "^1.x", "~1.2.x", "1.2.*", "1.2.X", "x", "X", "1.x.x", "01.x", "1.02.x", "=>1.0.0", "==1.0.0",
    "^", "~", ">", "=", "v1.0.0", "1.0.0 | 2.0.0", ">=1.0.0<2.0.0", ">=1.0.0-01", "^01.0.0", "~1.2.3+",
    "^^1.2.3", "~>1.2.3", "**", "1.0.0 || bogus", "bogus || 1.0.0", ">=1.0.0 bogus",
])
def test_invalid_constraints(constraint):
    with pytest.raises(InvalidConstraint):
        satisfies("1.0.0", constraint)


def test_bad_version_inside_constraint_is_not_invalid_version():
    with pytest.raises(InvalidConstraint) as info:
        satisfies("1.0.0", "^1.0")
    assert not isinstance(info.value, InvalidVersion)
