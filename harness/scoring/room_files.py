"""What a scoring run lays beside the suite and the implementation: our standalone files for each room and the
pytest configuration the suite runs with. Shared by the scorer, the suite's collection and the diff recorder."""

from __future__ import annotations

from harness.config.schema import INSIDE

# Our own pytest configuration, passed with -c, so files in the implementation cannot reconfigure the run.
PYTEST_INI = "[pytest]\naddopts =\n"
PLUGIN = INSIDE / "harness_report.py"
# Our standalone files in each room (the suite imports `harness_room`).
SUITE_ROOM_FILES = {name: INSIDE / name for name in ("harness_report.py", "harness_room.py", "harness_room_wire.py")}
IMPL_ROOM_FILES = {name: INSIDE / name
                   for name in ("harness_room_server.py", "harness_room_programs.py", "harness_room_wire.py",
                                "harness_room_zygotes.py", "harness_room_zygote.py")}
