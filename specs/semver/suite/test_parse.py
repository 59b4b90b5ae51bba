"""Parsing, validation, the Version constructor and str() round trips."""
import pytest

import semver
from semver import InvalidConstraint, InvalidVersion, Version, parse


def parts(v):
    return (v.major, v.minor, v.patch, v.prerelease, v.build)


@pytest.mark.parametrize("text, expected", [
    ("0.0.0", (0, 0, 0, (), ())),
    ("1.2.3", (1, 2, 3, (), ())),
    ("10.20.30", (10, 20, 30, (), ())),
    ("1.0.0-alpha", (1, 0, 0, ("alpha",), ())),
    ("1.0.0-alpha.1", (1, 0, 0, ("alpha", "1"), ())),
    ("1.0.0-0", (1, 0, 0, ("0",), ())),
    ("1.0.0-0a.00a", (1, 0, 0, ("0a", "00a"), ())),
    ("1.0.0-a-b", (1, 0, 0, ("a-b",), ())),
    ("1.0.0--", (1, 0, 0, ("-",), ())),
    ("1.0.0+007", (1, 0, 0, (), ("007",))),
    ("1.0.0+x-y.5", (1, 0, 0, (), ("x-y", "5"))),
    ("1.2.3-rc.1+build.5", (1, 2, 3, ("rc", "1"), ("build", "5"))),
    ("1.2.3-rc-1+b-2", (1, 2, 3, ("rc-1",), ("b-2",))),
    ("12345678901234567890.0.1", (12345678901234567890, 0, 1, (), ())),
])
def test_parse_parts(text, expected):
    v = parse(text)
    assert isinstance(v, Version)
    assert parts(v) == expected
    assert type(v.prerelease) is tuple and type(v.build) is tuple


@pytest.mark.parametrize("text", [
    "0.0.0", "1.2.3", "1.0.0-alpha.1", "1.0.0-0a.00a", "1.0.0+007", "1.0.0-a-b+x-y",
    "1.2.3-rc.1+build.5", "999.888.777-Z.9+0.0", "12345678901234567890.0.1",
])
def test_str_round_trip(text):
    assert str(parse(text)) == text


@pytest.mark.parametrize("text", [
    "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "00.0.0",
    "-1.2.3", "1.-2.3", "a.b.c", "1.2.x", "v1.2.3", " 1.2.3", "1.2.3 ", "1.2.3\n",
    "1.2.3-", "1.2.3+", "1.2.3-+b", "1.2.3-a..b", "1.2.3-a.", "1.2.3-.a", "1.2.3+a..b",
    "1.2.3-01", "1.2.3-a.007", "1.2.3-00", "1.2.3+a+b", "1.2.3-a+b+c",
    "1.2.3-a_b", "1.2.3-\u00e9", "1.\u0662.3", "1.2.3-\u0661", "1..3", "1.2.3.-a",
])
def test_invalid_versions_raise(text):
    with pytest.raises(InvalidVersion):
        parse(text)


def test_exception_hierarchy():
    assert issubclass(InvalidVersion, ValueError)
    assert issubclass(InvalidConstraint, ValueError)
    assert not issubclass(InvalidConstraint, InvalidVersion)
    assert not issubclass(InvalidVersion, InvalidConstraint)


def test_constructor_defaults_and_str():
    v = Version(1, 2, 3)
    assert parts(v) == (1, 2, 3, (), ())
    assert str(v) == "1.2.3"
    assert str(Version(0, 0, 0)) == "0.0.0"


def test_constructor_with_identifiers_stores_tuples():
    v = Version(1, 2, 3, ["alpha", "1"], ["b", "007"])
    assert v.prerelease == ("alpha", "1")
    assert v.build == ("b", "007")
    assert type(v.prerelease) is tuple and type(v.build) is tuple
    assert str(v) == "1.2.3-alpha.1+b.007"
    assert str(Version(4, 5, 6, build=("x",))) == "4.5.6+x"
    assert str(Version(4, 5, 6, prerelease=("0",))) == "4.5.6-0"


@pytest.mark.parametrize("args, kwargs", [
    ((-1, 0, 0), {}),
    ((0, -1, 0), {}),
    ((0, 0, -1), {}),
    ((1, 2, 3, ("01",)), {}),
    ((1, 2, 3, ("",)), {}),
    ((1, 2, 3, ("a.b",)), {}),
    ((1, 2, 3, ("ok", "a b")), {}),
    ((1, 2, 3), {"build": ("",)}),
    ((1, 2, 3), {"build": ("a+b",)}),
])
def test_constructor_rejects_invalid_parts(args, kwargs):
    with pytest.raises(InvalidVersion):
        Version(*args, **kwargs)


def test_constructor_allows_leading_zero_build_and_zero_numbers():
    v = Version(0, 0, 0, ("0", "0a"), ("00", "01"))
    assert str(v) == "0.0.0-0.0a+00.01"
