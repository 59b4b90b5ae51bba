"""The one function: its four answers, zero, negative and large numbers, and the type it returns."""
import pytest

from fizzbuzz import fizzbuzz


def expected(n):
    """The spec's rule, written as the spec states it (not as an implementation would)."""
    by3, by5 = n % 3 == 0, n % 5 == 0
    return "FizzBuzz" if by3 and by5 else "Fizz" if by3 else "Buzz" if by5 else str(n)


def test_one_to_fifteen():
    assert [fizzbuzz(n) for n in range(1, 16)] == [
        "1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13", "14", "FizzBuzz"]


def test_one_to_a_hundred():
    assert [fizzbuzz(n) for n in range(1, 101)] == [expected(n) for n in range(1, 101)]


@pytest.mark.parametrize("n, answer", [
    (0, "FizzBuzz"), (-1, "-1"), (-3, "Fizz"), (-5, "Buzz"), (-7, "-7"), (-9, "Fizz"), (-15, "FizzBuzz"),
    (-16, "-16"), (-100, "Buzz"),
])
def test_zero_and_negative_numbers(n, answer):
    assert fizzbuzz(n) == answer


@pytest.mark.parametrize("n, answer", [
    (10**20, "Buzz"), (10**20 + 1, str(10**20 + 1)), (3 * (10**20 + 1), "Fizz"), (15 * 10**30, "FizzBuzz"),
    (-(10**25) - 3, str(-(10**25) - 3)),
])
def test_numbers_of_any_size(n, answer):
    assert fizzbuzz(n) == answer


@pytest.mark.parametrize("n", [0, 3, 5, 7, -7, 10**20 + 1])
def test_the_answer_is_a_str(n):
    assert type(fizzbuzz(n)) is str


def test_the_same_number_gives_the_same_answer():
    assert [fizzbuzz(45) for _ in range(3)] == ["FizzBuzz"] * 3
    assert [fizzbuzz(n) for n in (7, 3, 7, 5, 7)] == ["7", "Fizz", "7", "Buzz", "7"]
