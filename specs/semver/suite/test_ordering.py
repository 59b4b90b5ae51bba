"""Precedence: comparison operators, compare(), equality, hashing."""
import random

import pytest

from semver import Version, compare, parse

ASCENDING = [
    "1.0.0-0", "1.0.0-1", "1.0.0-9", "1.0.0-10", "1.0.0-Beta", "1.0.0-a10", "1.0.0-a9",
    "1.0.0-alpha", "1.0.0-alpha.0", "1.0.0-alpha.1", "1.0.0-alpha.1.0", "1.0.0-alpha.beta",
    "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.0.10",
    "1.1.0-alpha", "1.1.0", "1.9.99", "1.10.0", "1.99.99", "2.0.0", "10.0.0",
]
PAIRS = list(zip(ASCENDING, ASCENDING[1:]))


@pytest.mark.parametrize("lo, hi", PAIRS, ids=[f"{a}<{b}" for a, b in PAIRS])
def test_adjacent_pairs_all_operators(lo, hi):
    a, b = parse(lo), parse(hi)
    assert compare(a, b) == -1
    assert compare(b, a) == 1
    assert a < b and not b < a
    assert a <= b and not b <= a
    assert b > a and not a > b
    assert b >= a and not a >= b
    assert a != b and not a == b


def test_sorting_a_shuffled_list():
    items = [parse(s) for s in ASCENDING]
    random.Random(1234).shuffle(items)
    assert [str(v) for v in sorted(items)] == ASCENDING


@pytest.mark.parametrize("left, right", [
    ("1.0.0", "1.0.0"),
    ("1.0.0+a", "1.0.0+b"),
    ("1.0.0", "1.0.0+build.9"),
    ("1.0.0-alpha.1", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1+x", "1.0.0-alpha.1+y.z"),
])
def test_equal_precedence(left, right):
    a, b = parse(left), parse(right)
    assert compare(a, b) == 0 and compare(b, a) == 0
    assert a == b and not a != b
    assert a <= b and a >= b
    assert not a < b and not a > b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_compare_returns_plain_ints_and_accepts_strings():
    results = [compare("1.0.0", "2.0.0"), compare("2.0.0", "1.0.0"), compare("1.0.0+a", "1.0.0")]
    assert results == [-1, 1, 0]
    assert all(type(r) is int for r in results)
    assert compare(Version(1, 2, 3), "1.2.3-rc.1") == 1
    assert compare("1.2.3-rc.1", Version(1, 2, 3)) == -1
    assert compare("1.0.0-alpha", "1.0.0-1") == 1


def test_compare_rejects_invalid_string():
    from semver import InvalidVersion
    with pytest.raises(InvalidVersion):
        compare("1.0", "1.0.0")
    with pytest.raises(InvalidVersion):
        compare("1.0.0", "1.0.0-01")


@pytest.mark.parametrize("lo, hi", [
    ("1.0.0-9", "1.0.0-10a"),
    ("1.0.0-99", "1.0.0--"),
    ("1.0.0-alpha.5", "1.0.0-alpha.-"),
    ("1.0.0-rc.7.1", "1.0.0-rc.7.1a"),
])
def test_numeric_identifier_is_lower_than_any_non_numeric(lo, hi):
    assert compare(lo, hi) == -1
    assert compare(hi, lo) == 1
    assert parse(lo) < parse(hi)


def test_numbers_compared_as_integers_not_strings():
    assert parse("1.0.9") < parse("1.0.10")
    assert parse("1.9.0") < parse("1.10.0")
    assert parse("9.0.0") < parse("10.0.0")
    assert parse("2.0.0") > parse("1.99.99")
    assert parse("1.2.0") > parse("1.1.99")


def test_comparison_with_non_version():
    v = parse("1.0.0")
    assert (v == "1.0.0") is False
    assert (v != "1.0.0") is True
    assert (v == None) is False  # noqa: E711
    for op in (lambda: v < "2.0.0", lambda: v <= "2.0.0", lambda: v > "0.1.0", lambda: v >= "0.1.0",
               lambda: v < 2):
        with pytest.raises(TypeError):
            op()


def test_distinct_versions_are_distinct_in_sets_and_dicts():
    vs = [parse(s) for s in ASCENDING]
    assert len(set(vs)) == len(ASCENDING)
    d = {parse("1.0.0+a"): "x"}
    assert d[parse("1.0.0+zzz")] == "x"
    assert parse("1.0.0-rc.1") not in d
