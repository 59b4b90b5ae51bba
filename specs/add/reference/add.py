"""add: the reference implementation of specs/add/spec.md."""


def add(a: int, b: int) -> int:
    return a + b
