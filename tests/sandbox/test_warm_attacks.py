"""Attacks on the warm judge (harness/sandbox/warm.py, harness/inside/harness_warm.py): what a warm suite room
does differently from a cold one, tried as the code under test, as a trial beside others, and against the
harness's own handling of a child it did not fork. Real templates, real scoring runs.

Each test here names a break and fails on the warm branch as it is (the attacks that were stopped are in
test_warm_walls.py); each docstring says what a cold room does instead.
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.sandbox.limits import Limits
from harness.sandbox.warm import Warm, WarmProc
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import make_spec, run_markers

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
needs_warm_bwrap = pytest.mark.skipif(not bwrap_available() or os.geteuid() != 0 or BwrapSandbox().warm is None,
                                      reason="the bwrap template runs only as root, with cgroups")


@pytest.fixture(autouse=True)
def scoring_dirs_under_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def outcomes(result) -> dict[str, bool]:
    assert result.status is ScoreStatus.scored, (result.status, result.detail)
    return {t.test_id.split("::")[1]: t.outcome is TestOutcome.passed for t in result.tests}


def messages(result) -> list[str]:
    return [t.message for t in result.tests if t.outcome is not TestOutcome.passed]


# ---------------------------------------------------------------- a pid the harness no longer owns

@contextmanager
def finished_warm_run(sandbox):
    """A warm suite run (a passing one-test suite) whose child has ended and whose status the template has
    sent, but which the harness has not waited for yet: (its Running, the pid it was, whether that pid is free
    for the kernel to give again, which a cold child's never is before the harness has waited for it)."""
    scratch = Path(tempfile.mkdtemp(dir=sandbox.scratch_root()))
    with sandbox.writable(scratch / "run") as wdir:
        suite = wdir.path / "suite"
        suite.mkdir()
        (suite / "test_one.py").write_text("def test_one():\n    assert True\n")
        argv = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider"]
        with sandbox.start(argv, cwd=wdir.path, env={}, timeout_s=60, keep_writes=False,
                           read_only=[suite], warm=True) as running:
            assert isinstance(running.proc, WarmProc), "the run was not forked from the template"
            status = select.poll()  # the template's word that the child ended, not yet read by the harness
            status.register(running.proc._conn.fileno(), select.POLLIN)
            assert status.poll(30_000), "the template never said the child ended"
            pid = running.proc.pid
            yield running, pid, not os.path.exists(f"/proc/{pid}")


def spawn_at(pid: int, argv: list[str]) -> subprocess.Popen:
    """`argv` started as a session of its own under `pid`, as any process the kernel gives a recycled pid (here
    asked for through ns_last_pid, which needs root: the kernel would in time on its own, pid_max is 32768
    on many hosts and a sweep forks thousands of processes a minute)."""
    for _ in range(200):
        with open("/proc/sys/kernel/ns_last_pid", "w") as last:
            last.write(str(pid - 1))
        proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    pytest.fail(f"could not get pid {pid} back (another process took it each time)")


@pytest.mark.skipif(os.geteuid() != 0, reason="asking the kernel for a given pid needs root")
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_harness_never_kills_a_process_that_took_a_finished_warm_childs_pid(backend):
    """A cold child stays a zombie of the harness until it is waited for, so the pid the harness kills at the
    end of a run (to take down what it left) is still its own. A warm child is the template's and is reaped
    by it the moment it ends: the pid the harness then kills may be anyone's by then (another trial's
    suite room or implementation's room, which are session leaders, or any process of the host)."""
    sandbox = backend()
    with finished_warm_run(sandbox) as (running, pid, free):
        if not free:  # held for the harness, as a cold child's is: nothing else can have it
            return
        bystander = spawn_at(pid, ["sleep", "60"])
        try:
            running.wait()
            time.sleep(0.2)
            assert bystander.poll() is None, f"a process that took pid {pid} after the run was killed by it"
        finally:
            bystander.kill()
            bystander.wait()


@needs_warm_bwrap
@pytest.mark.skipif(not Path("/usr/bin/unshare").exists(), reason="util-linux unshare is not installed")
def test_a_finished_warm_run_is_not_judged_by_the_disk_of_a_process_that_took_its_pid():
    """The disk check at a run's end (bwrap.scratch_full) reads the child's /tmp through /proc/<pid>/root. For a
    warm child that pid was released when the template reaped it: a process that has it now, with a full
    /tmp of its own (another trial's room that filled its scratch), makes this run `disk`."""
    sandbox = BwrapSandbox()
    fill = "mount -t tmpfs -o size=16k tmpfs /tmp && cat /dev/zero > /tmp/fill 2>/dev/null; exec sleep 60"
    with finished_warm_run(sandbox) as (running, pid, free):
        if not free:
            return
        full = spawn_at(pid, ["unshare", "--mount", "--propagation", "private", "sh", "-c", fill])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if os.statvfs(f"/proc/{pid}/root/tmp").f_bavail == 0:
                        break
                except OSError:
                    pass
                time.sleep(0.01)
            result = running.wait()
            assert not result.disk_exceeded, "a run that wrote nothing was judged by another process's /tmp"
        finally:
            full.kill()
            full.wait()


# ---------------------------------------------------------------- what a suite room keeps across runs

SYSV_SUITE = """
import ctypes

KEY = 0x5A4D3E21

def test_no_ipc_left_by_an_earlier_run():
    libc = ctypes.CDLL(None, use_errno=True)
    found = libc.shmget(KEY, 0, 0)
    libc.shmget(KEY, 4096, 0o1666)  # IPC_CREAT: what this run leaves for the next
    assert found == -1, "a SysV shared memory segment of an earlier run is still here"
"""


@needs_warm_bwrap
def test_sysv_ipc_a_suite_room_leaves_does_not_reach_the_next_run(tmp_path):
    """A cold suite room has an IPC namespace of its own (bwrap --unshare-ipc), gone with it; every warm child
    lives in the template's, which outlives all the runs it serves. docs/sandbox.md and test_warm.py hold that
    nothing a trial leaves in either room reaches the next: a shared memory segment (or a message queue, a
    semaphore set) does, in warm rooms only."""
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", suite=SYSV_SUITE).name)
    for sandbox in (BwrapSandbox(warm=False), BwrapSandbox()):  # cold holds; then warm
        runs = [score(spec, spec.reference_dir, sandbox) for _ in range(2)]
        assert all(outcomes(runs[0]).values()), messages(runs[0])
        assert all(outcomes(runs[1]).values()), (sandbox.warm, messages(runs[1]))


CAPS_SUITE = """
def test_no_capability_in_reserve():
    status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    assert {k: int(status[k], 16) for k in ("CapInh", "CapBnd", "CapAmb", "CapPrm", "CapEff")} == dict.fromkeys(
        ("CapInh", "CapBnd", "CapAmb", "CapPrm", "CapEff"), 0)
"""


@needs_warm_bwrap
def test_a_warm_suite_room_keeps_no_capability_a_cold_one_drops(tmp_path):
    """A cold suite room runs under setpriv --inh-caps=-all --bounding-set=-all; a warm child drops to nobody
    with setresuid alone, which empties its permitted and effective sets but keeps the template's inheritable
    and bounding sets (all but CAP_SYS_RESOURCE, as measured). Only no_new_privs and nosuid mounts then stand
    between an exec and those capabilities: defence in depth a cold room has and a warm one lacks."""
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", suite=CAPS_SUITE).name)
    cold = score(spec, spec.reference_dir, BwrapSandbox(warm=False))
    assert all(outcomes(cold).values()), messages(cold)
    warm = score(spec, spec.reference_dir, BwrapSandbox())
    assert all(outcomes(warm).values()), messages(warm)


# ---------------------------------------------------------------- one trial's suite room beside another's

PORT = 47219
HOLD_PORT_SUITE = f"""
import os, socket, time

def test_holds_a_port():
    held = socket.create_server(("127.0.0.1", {PORT}))
    scratch = os.environ["HARNESS_SCRATCH"]
    open(os.path.join(scratch, "bound"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(scratch, "resume")) and time.monotonic() < deadline:
        time.sleep(0.01)
    held.close()
"""
TAKE_PORT_SUITE = f"""
import socket

def test_takes_the_same_port():
    socket.create_server(("127.0.0.1", {PORT})).close()
"""


@needs_warm_bwrap
@pytest.mark.xdist_group("warm-root-markers")  # run_markers() reads other runs' folders too: see test_warm.py
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_suite_room_beside_another_trials_has_a_loopback_of_its_own(tmp_path, warm):
    """Two trials scored at once (launch.concurrency > 1), each suite on 127.0.0.1 (a suite may serve a test
    on a port: the agent's suite serves its scripted model so). Cold, each suite room has a network
    namespace of its own; warm, every child shares the template's, so one trial's listener is in the other's
    way (or reachable from it): the second trial's outcome depends on the first's timing."""
    sandbox = BwrapSandbox(warm=warm)
    specs = tmp_path / "specs"
    holder = load_spec(specs, make_spec(specs, "holder", suite=HOLD_PORT_SUITE).name)
    taker = load_spec(specs, make_spec(specs, "taker", suite=TAKE_PORT_SUITE).name)
    results = {}
    first = threading.Thread(target=lambda: results.update(holder=score(holder, holder.reference_dir, sandbox)))
    first.start()
    try:
        deadline = time.monotonic() + 60
        while not run_markers(tmp_path, "bound") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert run_markers(tmp_path, "bound"), "the first trial's suite never bound its port"
        results["taker"] = score(taker, taker.reference_dir, sandbox)
    finally:
        for bound in run_markers(tmp_path, "bound"):
            (bound.parent / "resume").touch()
        first.join()
    assert all(outcomes(results["holder"]).values()), messages(results["holder"])
    assert all(outcomes(results["taker"]).values()), messages(results["taker"])


# ---------------------------------------------------------------- a template that dies at the wrong moment

@dataclasses.dataclass(frozen=True)
class KillingTemplateFirst(Limits):
    """The default limits, set after the template has been killed: a template that dies while a child waits
    for "go" (between its "ready" and the harness's answer), as it may under another thread's restart
    (Warm._socket) or the host's OOM killer."""

    backend: str = "bwrap"
    killed: list = dataclasses.field(default_factory=list)

    def impose(self, pid, cpu_s, group):
        template = Warm.of(self.backend, None).pid()
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            warm_child = b"A warm suite room" in cmdline.read()  # not the implementation's room, started cold
        if warm_child and not self.killed:
            self.killed.append(template)
            os.killpg(template, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:  # its child goes with it
                time.sleep(0.005)
        super().impose(pid, cpu_s, group)


@needs_warm_bwrap
def test_a_template_dying_before_go_costs_time_never_an_outcome(tmp_path):
    """test_warm.py kills the template while a run's suite is running: the run is scored again cold. Killed a
    moment earlier, while the child waits for "go", the harness's admission of the child (its cgroup, its
    rlimits, "go") fails, and that error is the trial's: no outcome, where a cold run would have had one."""
    limits = KillingTemplateFirst()
    sandbox = BwrapSandbox(limits=limits)
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs").name)
    score(spec, spec.reference_dir, BwrapSandbox())  # the template is up
    result = score(spec, spec.reference_dir, sandbox)
    assert limits.killed, "the template was not killed"
    assert all(outcomes(result).values()), messages(result)
