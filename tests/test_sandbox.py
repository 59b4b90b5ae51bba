"""The sandbox's exec on its own, under each backend: limits that end a run, and what comes back."""

from __future__ import annotations

import sys

import pytest

from harness.sandbox import BwrapSandbox, Limits, ProcessSandbox, bwrap_available

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])

FILL = """
import os
chunk = b"x" * (1 << 20)
for i in range(256):  # 2 GB at most, should the watch fail
    with open(f"fill-{i}", "wb") as out:
        for _ in range(8):
            out.write(chunk)
"""


def used(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_child_filling_the_host_dir_it_may_write_is_stopped(backend, tmp_path):
    result = backend(limits=Limits(disk_mb=32)).exec([sys.executable, "-c", FILL], cwd=tmp_path, env={},
                                                     timeout_s=60)
    assert result.disk_exceeded and not result.timed_out and not result.success
    assert used(tmp_path) < 32 * 1024**2 + 512 * 1024**2  # the limit, plus a quarter second of fast writing
    assert result.seconds < 30


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_output_keeps_a_capped_prefix_and_a_flood_is_stopped(backend, tmp_path):
    chatty = "import sys\nsys.stdout.write('a' * 5000)\nsys.stderr.write('b' * 10)\n"
    result = backend(output_cap_bytes=100).exec([sys.executable, "-c", chatty], cwd=tmp_path, env={}, timeout_s=30)
    assert result.success and result.stdout.startswith("a" * 100) and "truncated by the harness: 5000" in result.stdout
    assert result.stderr == "b" * 10
    flood = "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n"
    result = backend(limits=Limits(output_mb=4)).exec([sys.executable, "-c", flood], cwd=tmp_path, env={},
                                                      timeout_s=30)
    assert result.output_exceeded and not result.timed_out and result.seconds < 20


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_report_channel_carries_what_the_child_wrote_there(backend, tmp_path):
    code = "import os\nos.write(int(os.environ['HARNESS_REPORT_FD']), b'{\"event\": \"start\"}\\n')\n"
    result = backend().exec([sys.executable, "-c", code], cwd=tmp_path, env={}, timeout_s=30, report=True)
    assert result.success and result.report == '{"event": "start"}\n'


DEEP = """
import os, time
for _ in range(1100):
    os.mkdir("d")
    os.chdir("d")
time.sleep(1)  # the disk watch measures the work dir meanwhile
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_folder_deeper_than_pythons_recursion_limit_is_measured_and_handed_over(backend, deep_ok):
    sandbox = backend()
    first = sandbox.exec([sys.executable, "-c", DEEP], cwd=deep_ok, env={}, timeout_s=60)
    again = sandbox.exec(["true"], cwd=deep_ok, env={}, timeout_s=60)  # bwrap as root hands the dir over again
    assert first.success and again.success


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
def test_no_hardlink_to_a_file_outside_the_work_dir_can_be_made_inside_bwrap(tmp_path):
    """Why a hardlink in a work dir is read as an ordinary file: it can only point at a file of the work dir."""
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "agent.py").write_text("print('hi')\n")
    (tmp_path / "work").mkdir()
    tries = " ; ".join(f"ln {target} hard-{i} 2>/dev/null && echo made-{i}"
                       for i, target in enumerate(["/etc/hostname", sys.executable, tmp_path / "agent" / "agent.py"]))
    result = BwrapSandbox().exec(["bash", "-c", tries], cwd=tmp_path / "work", env={}, timeout_s=30,
                                 read_only=[tmp_path / "agent"])
    assert result.stdout == "" and list((tmp_path / "work").iterdir()) == []
