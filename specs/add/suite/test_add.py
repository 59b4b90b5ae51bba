"""The one function: sums of small, zero, negative and large integers, in either order, and the type returned."""
import pytest

from add import add


@pytest.mark.parametrize("a, b, total", [
    (1, 2, 3), (2, 1, 3), (2, 2, 4), (0, 0, 0), (0, 7, 7), (7, 0, 7), (10, 15, 25), (123, 877, 1000),
])
def test_small_sums(a, b, total):
    assert add(a, b) == total


@pytest.mark.parametrize("a, b, total", [
    (-1, 1, 0), (-3, -4, -7), (5, -8, -3), (-8, 5, -3), (-10, 3, -7),
])
def test_negative_numbers(a, b, total):
    assert add(a, b) == total


@pytest.mark.parametrize("a, b", [(10**20, 1), (10**30, 10**30), (-(10**25), 3), (2**64, -(2**63))])
def test_numbers_of_any_size(a, b):
    assert add(a, b) == a + b


@pytest.mark.parametrize("a, b", [(1, 2), (0, 0), (-5, 2), (10**20, 10**20)])
def test_the_sum_is_an_int(a, b):
    assert type(add(a, b)) is int
