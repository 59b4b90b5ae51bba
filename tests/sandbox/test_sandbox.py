"""The sandbox's exec on its own, under each backend: limits that end a run, and what comes back."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.sandbox import cgroups
from harness.sandbox.backends import BwrapSandbox, Limits, ProcessSandbox, bwrap_available
from harness.sandbox.writable import can_mount
from harness.scoring.judge import observed

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])

FILL = """
import json
import os
import re
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
    sandbox = backend(limits=Limits(disk_mb=32))
    with sandbox.writable(tmp_path / "work") as work:
        result = sandbox.exec([sys.executable, "-c", FILL], cwd=work.path, env={}, timeout_s=60)
        written = used(work.path)
    assert result.disk_exceeded and not result.timed_out and not result.success
    if work.mounted:  # a tmpfs of 32 MB: the kernel refuses the 33rd, however fast or loaded the machine
        assert written <= 32 * 1024**2, written
    else:  # a walked folder (not root) overshoots by what a writer manages between two walks: no bound to pin
        assert written < 2 * 1024**3, written


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


@pytest.mark.skipif(not can_mount(), reason="not root: a writable dir is a plain folder, and one too deep to measure "
                                              "counts as full")
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_folder_deeper_than_pythons_recursion_limit_is_no_disk_failure_and_is_handed_over(backend, deep_ok):
    sandbox = backend()
    with sandbox.writable(deep_ok / "work") as wdir:
        first = sandbox.exec([sys.executable, "-c", DEEP], cwd=wdir.path, env={}, timeout_s=60)
        again = sandbox.exec(["true"], cwd=wdir.path, env={}, timeout_s=60)  # bwrap as root hands it over again
    assert first.success and again.success
    assert not (deep_ok / "work").exists()


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


needs_cgroups = pytest.mark.skipif(not cgroups.usable(), reason="no writable cgroup v1 memory and pids hierarchies "
                                                                "here: the sandbox cannot count limit hits")
# Leaves the session and its parents (fork, setsid, fork): a process-tree walk no longer finds it.
DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", [sys.argv[1], "300"])
    os._exit(0)
time.sleep(0.5)
"""


def living(marker: str) -> list[str]:
    """Processes whose command line holds `marker` (a zombie's is empty: it is dead, waiting to be reaped)."""
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in ps if marker in line and " Z" not in line]


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_daemon_the_child_leaves_does_not_outlive_the_run(backend, tmp_path):
    if backend is ProcessSandbox and not cgroups.usable():
        pytest.skip("without a cgroup the process sandbox cannot find a process that left its session")
    marker = f"harness-daemon-{os.getpid()}-{backend.name}"
    result = backend().exec([sys.executable, "-c", DAEMON, marker], cwd=tmp_path, env={}, timeout_s=30)
    assert result.success, result.stderr
    assert living(marker) == []


@needs_cgroups
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_kernel_counts_an_allocation_past_the_memory_limit(backend, tmp_path):
    hog = "blobs = []\nwhile True:\n    blobs.append(b'x' * (32 << 20))\n"  # touched, not just reserved
    result = backend(limits=Limits(memory_mb=256)).exec([sys.executable, "-c", hog], cwd=tmp_path, env={},
                                                        timeout_s=60)
    assert result.returncode == -signal.SIGKILL and result.events.oom_kills >= 1
    calm = backend(limits=Limits(memory_mb=256)).exec([sys.executable, "-c", "x = b'x' * (64 << 20)"],
                                                      cwd=tmp_path, env={}, timeout_s=60)
    assert calm.success and calm.events.oom_kills == 0 and calm.events.forks_refused == 0


@needs_cgroups
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_kernel_counts_forks_past_the_process_limit_and_none_survive(backend, tmp_path):
    marker = f"harness-bomb-{os.getpid()}-{backend.name}"
    bomb = "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n"
    result = backend(limits=Limits(processes=32)).exec(["bash", "-c", f'exec -a {marker} "$0" -c "$1"',
                                                       sys.executable, bomb], cwd=tmp_path, env={}, timeout_s=3)
    assert result.timed_out and result.events.forks_refused > 0
    assert living(marker) == []


def test_without_a_cgroup_nothing_is_counted_and_the_record_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "usable", lambda: False)
    result = ProcessSandbox().exec(["true"], cwd=tmp_path, env={}, timeout_s=30)
    assert result.success and result.events == cgroups.Events()
    assert observed(result) == "disk,output"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_child_writing_past_the_file_size_limit_is_killed_by_sigxfsz(backend, tmp_path):
    result = backend(limits=Limits(file_mb=1)).exec(["head", "-c", "4M", "/dev/zero"], cwd=tmp_path, env={},
                                                    timeout_s=30)
    assert result.returncode == 0  # to a pipe: no file, no limit
    result = backend(limits=Limits(file_mb=1)).exec(["bash", "-c", "exec head -c 4M /dev/zero > big"], cwd=tmp_path,
                                                    env={}, timeout_s=30)
    assert result.returncode == -signal.SIGXFSZ and (tmp_path / "big").stat().st_size == 1024 * 1024


# Ignores SIGTERM and starts a grandchild, in a session of its own, that ignores it too; both would sleep 10 min.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen(["bash", "-c", f'trap "" TERM; exec -a {sys.argv[1]} sleep 600'], start_new_session=True)
time.sleep(600)
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_time_limit_kills_a_child_ignoring_sigterm_and_its_grandchildren(backend, tmp_path):
    marker = f"harness-stubborn-{os.getpid()}-{backend.name}"
    result = backend().exec([sys.executable, "-c", STUBBORN, marker], cwd=tmp_path, env={}, timeout_s=2)
    assert result.timed_out and not result.output_exceeded and not result.disk_exceeded and not result.success
    assert result.returncode == -signal.SIGKILL and 2 <= result.seconds < 30
    assert living(marker) == []


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_runs_waited_for_in_threads_at_once_each_end_by_their_own_limit(backend, tmp_path):
    """Trials run in threads of one process: one run's limit must neither end nor outlast another's."""
    runs = {"quick": ["true"], "slow": ["sleep", "600"], "late": ["sleep", "1"], "fill": [sys.executable, "-c", FILL],
            "flood": [sys.executable, "-c", "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n"]}
    sandbox = backend(limits=Limits(output_mb=4, disk_mb=32))

    def run(name: str):
        (tmp_path / name).mkdir()
        return sandbox.exec(runs[name], cwd=tmp_path / name, env={}, timeout_s=4 if name == "slow" else 60)

    with ThreadPoolExecutor(len(runs)) as pool:
        results = dict(zip(runs, pool.map(run, runs)))
    assert results["quick"].success and results["late"].success
    assert results["slow"].timed_out and not results["slow"].output_exceeded and results["slow"].seconds >= 4
    assert results["flood"].output_exceeded and not results["flood"].timed_out
    assert results["fill"].disk_exceeded and not results["fill"].timed_out


FDS_AND_LIMITS = """
import json, os
print(open("/proc/self/limits").read())
fds = []
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        fds.append((fd, os.readlink(f"/proc/self/fd/{fd}")))
    except OSError:  # the listing's own descriptor, closed by now
        pass
print("FDS", json.dumps(sorted(fds)))
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_command_runs_under_its_limits_with_only_its_streams_open(backend, tmp_path):
    """The limits are put on the child from outside while it is held; what runs must still have them all, and
    nothing of the hold: stdin is /dev/null, and the only descriptors are its streams and the report pipe."""
    result = backend(limits=Limits(file_mb=3, open_files=77)).exec([sys.executable, "-c", FDS_AND_LIMITS],
                                                                   cwd=tmp_path, env={}, timeout_s=30, report=True)
    assert result.success, result.stderr
    limits, fds = result.stdout.split("\nFDS ")
    assert re.search(r"Max file size\s+3145728\s+3145728", limits)
    assert re.search(r"Max open files\s+77\s+77", limits) and re.search(r"Max core file size\s+0\s+0", limits)
    fds = json.loads(fds)
    assert [fd for fd, _ in fds[:3]] == [0, 1, 2] and fds[0][1] == "/dev/null"
    assert [target.startswith("pipe:") for _, target in fds[1:]] == [True] * (len(fds) - 1) and len(fds) == 4


def test_a_program_that_is_not_there_or_cannot_run_raises_and_leaves_no_cgroup(tmp_path):
    with pytest.raises(FileNotFoundError):
        ProcessSandbox().exec(["harness-no-such-program"], cwd=tmp_path, env={}, timeout_s=30)
    with pytest.raises(FileNotFoundError):
        ProcessSandbox().exec(["./missing.sh"], cwd=tmp_path, env={}, timeout_s=30)
    (tmp_path / "plain.sh").write_text("echo hi\n")
    with pytest.raises(PermissionError):
        ProcessSandbox().exec(["./plain.sh"], cwd=tmp_path, env={}, timeout_s=30)
    if cgroups.usable():
        left = [p for c in cgroups.CONTROLLERS for p in cgroups._own_path(c).glob(f"{cgroups.PREFIX}{os.getpid()}-*")]
        assert left == []


# One run puts a key in its user keyring (@u), the next looks for it, and removes it if found (KEYCTL_INVALIDATE).
KEYRING = """
import ctypes, sys
add_key, keyctl = {"x86_64": (248, 250), "aarch64": (217, 219)}[sys.argv[1]]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
name = sys.argv[3].encode()
if sys.argv[2] == "put":
    print(libc.syscall(add_key, b"user", name, b"an answer", ctypes.c_size_t(9), ctypes.c_long(-4)))
else:
    found = libc.syscall(keyctl, ctypes.c_long(10), ctypes.c_long(-4), b"user", name, ctypes.c_long(0))
    if found > 0:
        libc.syscall(keyctl, ctypes.c_long(21), ctypes.c_long(found))
    print("found" if found > 0 else "absent")
"""


@pytest.mark.skipif(not bwrap_available() or platform.machine() not in ("x86_64", "aarch64"),
                    reason="needs bubblewrap, and keyctl's numbers for this machine")
def test_nothing_put_in_the_kernel_keyring_by_one_run_is_there_for_the_next(tmp_path):
    name = f"harness-test-{os.getpid()}-{os.urandom(4).hex()}"
    runs = [BwrapSandbox().exec([sys.executable, "-c", KEYRING, platform.machine(), step, name], cwd=tmp_path,
                                env={}, timeout_s=30) for step in ("put", "look")]
    assert all(run.success for run in runs), [run.stderr for run in runs]
    assert runs[1].stdout.strip() == "absent", runs[0].stdout
