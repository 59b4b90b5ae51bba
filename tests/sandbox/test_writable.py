"""Writable dirs under each backend: a cap the kernel holds, leftovers moved aside, kept copies inert, walks that
never follow a link, and no provider key beside the process backend. Real sandboxes, real files, real tmpfs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.sandbox.backends import BwrapSandbox, Limits, ProcessSandbox, bwrap_available
from harness.sandbox.keys import provider_keys
from harness.sandbox.warm import remove_stale
from harness.sandbox.writable import can_mount, mount_point
from tests.conftest import PLANTED_KEY, deep, run_harness

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
needs_mount = pytest.mark.skipif(not can_mount(), reason="not root: a writable dir is a plain folder, walked")
MB = 1024 * 1024

# Takes space in each folder named on its command line the way a walk cannot see: a file unlinked while open,
# grown with fallocate(FALLOC_FL_KEEP_SIZE), so its size stays 0 and no entry is left; then holds it all.
HOLES = """
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
held = []
for folder in sys.argv[1:]:
    path = os.path.join(folder, ".hole")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.unlink(path)
    held.append(fd)
    offset = 0
    for size in (4 << 20, 64 << 10, 4 << 10):  # to the last block: 1 GB a folder at most, should no cap hold
        while offset < (1 << 30) and libc.fallocate(fd, 1, offset, size) == 0:
            offset += size
print("holding", len(held), flush=True)
time.sleep(60)
"""


class HostDisk:
    """The most the used space of the host filesystem holding `path` grew while the context lasted. Other
    programs on the machine write meanwhile: the tests bound it by disk_mb (128 MB) where an uncapped attack
    would take a gigabyte a place, in a second or two."""

    def __init__(self, path: Path):
        self.path, self.grown, self._stop = path, 0, threading.Event()

    def used(self) -> int:
        found = os.statvfs(self.path)
        return (found.f_blocks - found.f_bfree) * found.f_frsize

    def __enter__(self) -> "HostDisk":
        start = self.used()

        def sample() -> None:
            while not self._stop.wait(0.05):
                self.grown = max(self.grown, self.used() - start)
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@needs_mount
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_holes_in_every_writable_place_of_an_agent_cost_the_host_no_disk_and_end_as_disk(backend, tmp_path):
    sandbox = backend(limits=Limits(disk_mb=128))
    with HostDisk(tmp_path) as disk, sandbox.writable(tmp_path / "work") as work, \
            sandbox.writable(tmp_path / "home") as home:
        # Under process, /tmp is the host's own: no cap holds there (docs/sandbox.md), so it is not attacked.
        places = [work.path, home.path] + (["/tmp"] if backend is BwrapSandbox else [])
        result = sandbox.exec([sys.executable, "-c", HOLES, *map(str, places)], cwd=work.path, env={},
                              timeout_s=60, shared=[home.path])
    assert result.disk_exceeded and not result.timed_out and result.seconds < 30, result
    assert disk.grown < 128 * MB, disk.grown


@needs_mount
def test_a_leftover_past_path_max_or_a_mount_left_behind_is_moved_aside_never_reused(tmp_path):
    sandbox = ProcessSandbox()
    work = tmp_path / "work"
    work.mkdir()
    deep(work, "left by a killed attempt", 2300)
    with sandbox.writable(work) as first:
        assert os.listdir(first.path) == [] and mount_point(work)
        (work / "stale").mkdir()  # a tmpfs left mounted where a writable dir goes, as a killed harness leaves one
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "stale", str(work / "stale")], check=True)
        (work / "stale" / "old.txt").write_text("old")
        with sandbox.writable(work / "stale") as inner:  # detached first, then moved aside
            assert os.listdir(inner.path) == []
    assert not work.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_what_a_child_leaves_is_kept_inert_and_what_was_refused_is_named(backend, tmp_path):
    odd = """
import os
open("agent.py", "w").write("print('hi')\\n")
os.mkdir("pkg"); open("pkg/mod.py", "w").write("X = 1\\n")
for name in ("new\\nline.py", "-rf", "setuid.sh"):
    open(name, "w").write("#!/bin/sh\\n")
os.chmod("setuid.sh", 0o6777)
os.symlink("/etc/passwd", "passwd"); os.symlink("/proc/self/environ", "environ"); os.symlink("/root", "root")
os.mkfifo("fifo")
with open("big.bin", "wb") as out:
    out.write(b"x" * (9 << 20))
"""
    sandbox = backend()
    with sandbox.writable(tmp_path / "work", keep=True) as work:
        result = sandbox.exec([sys.executable, "-c", odd], cwd=work.path, env={}, timeout_s=60)
    assert result.success, result.stderr
    kept = {p.relative_to(tmp_path / "work").as_posix(): p.lstat() for p in (tmp_path / "work").rglob("*")}
    assert set(kept) == {"agent.py", "pkg", "pkg/mod.py", "setuid.sh"}
    assert all(stat.S_IMODE(st.st_mode) == (0o755 if stat.S_ISDIR(st.st_mode) else 0o644) for st in kept.values())
    note = work.kept.note()
    for named in ("(name a shell cannot handle)", "environ, passwd, root (symlink)", "fifo (not a regular file)",
                  "big.bin (larger than 8 MB)"):
        assert named in note, note
    assert not mount_point(tmp_path / "work")


SWAPPER = """
import os, sys, time
os.mkdir("a")
open("a/small.txt", "w").write("x")
end = time.monotonic() + 3
while time.monotonic() < end:  # the folder is a link to a host folder half of the time
    os.rename("a", "a.real"); os.symlink(sys.argv[1], "a")
    time.sleep(0.001)
    os.unlink("a"); os.rename("a.real", "a")
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_folder_swapped_for_a_link_during_the_run_is_never_followed(backend, tmp_path):
    """A folder no writable dir holds is measured by walking it while the child runs, a dozen times here. A host
    folder whose last read is set two days back would have it set to now by any listing (relatime)."""
    work, host = tmp_path / "plain", tmp_path / "host"
    work.mkdir()
    host.mkdir()
    (host / "big.bin").write_bytes(b"x" * (32 * MB))
    long_ago = host.stat().st_mtime - 2 * 86400
    os.utime(host, (long_ago, long_ago))
    result = backend(limits=Limits(disk_mb=16)).exec([sys.executable, "-c", SWAPPER, str(host)], cwd=work, env={},
                                                     timeout_s=60)
    assert result.success and not result.disk_exceeded, result  # nor was big.bin counted
    assert host.stat().st_atime == long_ago, "the harness listed the link's target"


def test_the_process_backend_refuses_to_run_beside_a_provider_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    with pytest.raises(ConfigError, match="sandbox=process would run untrusted code beside OPENAI_API_KEY"):
        ProcessSandbox().exec(["true"], cwd=tmp_path, env={}, timeout_s=10)
    if bwrap_available():
        seen = BwrapSandbox().exec([sys.executable, "-c", "import os; print(sorted(os.environ))"], cwd=tmp_path,
                                   env={}, timeout_s=30)
        assert seen.success and "OPENAI_API_KEY" not in seen.stdout


def test_a_key_unset_in_os_environ_still_counts_as_it_is_still_in_proc_environ():
    code = ("import os\nfrom harness.sandbox.keys import provider_keys\ndel os.environ['MY_API_KEY']\n"
            "print(provider_keys())")
    found = subprocess.run([sys.executable, "-c", code], env={**os.environ, "MY_API_KEY": PLANTED_KEY},
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "['MY_API_KEY']"


ANCESTORS = """
import os
found, pid = [], os.getppid()
while pid > 1:
    try:
        block = open(f"/proc/{pid}/environ", "rb").read()
        found += [item.split(b"=")[0].decode() for item in block.split(b"\\0") if b"sk-planted" in item]
        pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
print(found)
"""


def test_code_under_process_finds_no_key_in_the_harness_process_tree(tmp_path):
    assert provider_keys() == [], "this test needs a harness started without keys"
    result = ProcessSandbox().exec([sys.executable, "-c", ANCESTORS], cwd=tmp_path, env={}, timeout_s=30)
    assert result.success and result.stdout.strip() == "[]", result


def test_asked_for_by_name_beside_a_key_the_process_backend_is_one_line_and_exit_2(tmp_path):
    runs = tmp_path / "runs"
    proc = run_harness(f"runs_dir={runs}", "sandbox=process", "experiment=demo", env={"OPENAI_API_KEY": PLANTED_KEY},
                       timeout=120)
    assert proc.returncode == 2 and "beside OPENAI_API_KEY" in proc.stderr, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and PLANTED_KEY not in proc.stderr and not runs.exists()


@needs_mount
def test_a_killed_harnesss_warm_root_is_removed_with_the_mounts_on_it():
    """A harness killed before its exit leaves its bwrap template's root in /tmp: a folder bind-mounted on itself,
    runs' tmpfs mounted on folders in it. The next harness removes it (warm.remove_stale, the root's pid gone).
    os.path.ismount does not see a folder bind-mounted on itself (same device), so each such root and its
    mounts had stayed, three or four more after every run of this suite."""
    prefix = f"harness-test-stale-{os.getpid()}x{threading.get_ident() % 10000}-"
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid no process has now, as a killed harness's
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}{gone.pid}-", dir="/tmp"))  # where remove_stale looks
    try:
        subprocess.run(["mount", "--bind", str(root), str(root)], check=True)
        (root / "run").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "harness-test", str(root / "run")], check=True)
        assert not os.path.ismount(root) and mount_point(root) and mount_point(root / "run")
        remove_stale(prefix)
        assert not root.exists() and not list(Path("/tmp").glob(f".{prefix}*"))
        assert prefix not in Path("/proc/self/mountinfo").read_text()
    finally:
        if root.exists():
            subprocess.run(["umount", "--lazy", "--recursive", str(root)], check=False)
            subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)
