"""stack: the reference implementation of specs/stack/spec.md."""


class Stack:
    def __init__(self, capacity=None):
        if capacity is not None and capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._items = []

    def push(self, item):
        if self.is_full():
            raise OverflowError("push onto a full stack")
        self._items.append(item)

    def pop(self):
        if not self._items:
            raise IndexError("pop from an empty stack")
        return self._items.pop()

    def peek(self):
        if not self._items:
            raise IndexError("peek at an empty stack")
        return self._items[-1]

    def is_empty(self):
        return not self._items

    def is_full(self):
        return self.capacity is not None and len(self._items) >= self.capacity

    def items(self):
        return list(self._items)

    def __len__(self):
        return len(self._items)
