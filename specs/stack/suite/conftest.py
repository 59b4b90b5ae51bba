"""`import stack` gives the implementation under test, which runs in a room of its own: a proxy module whose
attributes, calls and operators are answered in that process (harness_room, provided by the scorer). Plain values
(ints, strings, lists...) cross as copies; a Stack stays in the room and crosses as a handle, the same proxy each
time, so `is` between two handles tells whether they are one object in the room."""
import os
import sys

import pytest

import harness_room

sys.modules["stack"] = harness_room.import_module("stack")


@pytest.fixture
def in_room():
    """in_room(code) runs Python code as a process in the implementation's room, in the implementation's folder
    (so `import stack` finds it), and returns its Finished (code, stdout, stderr): for what a copy across the
    rooms would hide, such as whether a returned list is the stack's own."""
    def run(code):
        return harness_room.run([sys.executable, "-S", "-c", code], cwd=os.environ["HARNESS_IMPL_DIR"], timeout=20)
    return run
