"""The Stack class: construction and capacity, the last-in first-out order, the three errors, and items()."""
import pytest

from stack import Stack


def filled(*items, capacity=None):
    s = Stack(capacity)
    for item in items:
        s.push(item)
    return s


# -- construction ---------------------------------------------------------------------------------------------------

def test_a_new_stack_is_empty_and_unlimited():
    s = Stack()
    assert len(s) == 0
    assert s.is_empty() is True
    assert s.is_full() is False
    assert s.capacity is None
    assert s.items() == []


def test_capacity_is_kept_as_given():
    assert Stack(3).capacity == 3
    assert Stack(capacity=7).capacity == 7
    assert Stack(capacity=None).capacity is None


def test_capacity_zero_is_always_full():
    s = Stack(0)
    assert s.is_empty() is True and s.is_full() is True
    with pytest.raises(OverflowError):
        s.push("x")
    assert len(s) == 0


@pytest.mark.parametrize("capacity", [-1, -5])
def test_negative_capacity_raises_value_error(capacity):
    with pytest.raises(ValueError):
        Stack(capacity)


# -- last in, first out ---------------------------------------------------------------------------------------------

def test_push_returns_none_and_grows_the_stack():
    s = Stack()
    assert s.push(1) is None
    assert len(s) == 1 and s.is_empty() is False
    s.push(2)
    assert len(s) == 2


def test_pop_returns_items_last_in_first_out():
    s = filled("a", "b", "c")
    assert [s.pop(), s.pop(), s.pop()] == ["c", "b", "a"]
    assert len(s) == 0 and s.is_empty() is True


def test_peek_returns_the_top_and_leaves_it():
    s = filled(1, 2, 3)
    assert s.peek() == 3
    assert s.peek() == 3
    assert len(s) == 3
    s.pop()
    assert s.peek() == 2


def test_items_lists_bottom_to_top():
    s = filled(1, "two", (3,), [4])
    assert s.items() == [1, "two", (3,), [4]]
    assert type(s.items()) is list
    s.pop()
    assert s.items() == [1, "two", (3,)]


def test_a_long_unlimited_stack():
    s = filled(*range(1000))
    assert len(s) == 1000 and s.is_full() is False
    assert s.peek() == 999
    assert [s.pop() for _ in range(1000)] == list(range(999, -1, -1))


def test_none_and_repeated_items_are_items_like_any_other():
    s = filled(None, "x", "x", None)
    assert len(s) == 4
    assert s.items() == [None, "x", "x", None]
    assert s.pop() is None
    assert s.pop() == "x" and s.pop() == "x"
    assert s.peek() is None
    assert s.is_empty() is False


def test_items_are_not_copied():
    inner, other = Stack(), Stack()
    s = filled(inner, other, inner)
    assert s.peek() is inner
    assert s.pop() is inner
    assert s.pop() is other
    s.peek().push("seen")  # the object pushed, not a copy of it
    assert len(inner) == 1 and inner.peek() == "seen"


# -- errors ---------------------------------------------------------------------------------------------------------

def test_pop_and_peek_on_an_empty_stack_raise_index_error():
    s = Stack()
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.peek()


def test_a_stack_emptied_by_pops_raises_again():
    s = filled(1, 2)
    s.pop()
    s.pop()
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.peek()
    assert len(s) == 0


def test_a_full_stack_refuses_a_push_and_is_unchanged():
    s = filled("a", "b", capacity=2)
    assert s.is_full() is True
    with pytest.raises(OverflowError):
        s.push("c")
    assert len(s) == 2
    assert s.items() == ["a", "b"]
    assert s.peek() == "b"


def test_is_full_only_at_capacity():
    s = Stack(3)
    for n in range(3):
        assert s.is_full() is False
        s.push(n)
    assert s.is_full() is True
    s.pop()
    assert s.is_full() is False
    s.push("again")  # room again after a pop
    assert s.items() == [0, 1, "again"]


def test_an_unlimited_stack_is_never_full():
    s = filled(*range(50))
    assert s.is_full() is False


def test_two_stacks_are_independent():
    a, b = Stack(), Stack(1)
    a.push(1)
    b.push(2)
    assert a.items() == [1] and b.items() == [2]
    a.pop()
    assert len(a) == 0 and len(b) == 1


def test_items_returns_a_new_list(in_room):
    done = in_room(
        "from stack import Stack\n"
        "s = Stack()\n"
        "s.push(1); s.push(2)\n"
        "first = s.items()\n"
        "first.append(3); first[0] = 'changed'\n"
        "assert s.items() == [1, 2], s.items()\n"
        "assert len(s) == 2 and s.peek() == 2\n"
        "assert s.items() is not s.items()\n"
        "print('ok')\n")
    assert (done.code, done.stdout.strip(), done.stderr) == (0, b"ok", b""), done
