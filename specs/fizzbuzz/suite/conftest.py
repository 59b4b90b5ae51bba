"""`import fizzbuzz` gives the implementation under test, which runs in a room of its own: a proxy module whose
calls are answered in that process (harness_room, provided by the scorer)."""
import sys

import harness_room

sys.modules["fizzbuzz"] = harness_room.import_module("fizzbuzz")
