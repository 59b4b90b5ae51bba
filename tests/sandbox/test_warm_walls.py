"""Attacks on the warm judge that were stopped (see test_warm_attacks.py for those that were not), kept as
coverage the warm branch lacked: the implementation's room sees nothing of the template, a warm suite room
reaches neither the implementation's copy nor the template, concurrent runs keep their outcomes apart, old or
foreign bytecode is never run, and the template keeps nothing of the runs it served.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest

from harness.sandbox.backends import BwrapSandbox
from harness.scoring.rooms import score
from harness.seams import ScoreStatus
from harness.specs.loading import load_spec
from tests.conftest import make_spec
from tests.sandbox.test_warm_attacks import BACKENDS, messages, needs_warm_bwrap, outcomes


@pytest.fixture(autouse=True)
def scoring_dirs_under_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


SEEKER = r'''
import os

def finds():
    """What of the warm machinery this room can see: a template's socket, another run's folder, a process of
    the template's namespace."""
    own = os.getcwd()
    found = []
    for parent, dirs, files in os.walk("/tmp"):
        found += [os.path.join(parent, n) for n in dirs + files
                  if n == "warm.sock" or (n.startswith("harness-score-") and not own.startswith(os.path.join(parent, n)))]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"A warm suite room" in cmdline.read():
                    found.append("process " + pid)
        except OSError:
            pass
    return found
'''
SEEKER_SUITE = """
import harness_room

seeker = harness_room.import_module("adder")

def test_the_implementation_sees_nothing_warm():
    assert seeker.finds() == []
"""


@needs_warm_bwrap
def test_the_implementations_room_sees_neither_the_template_nor_other_runs(tmp_path):
    """The implementation's room always starts cold, in namespaces of its own: while another run is held in
    the same template, it finds no template socket, no other run's folder and no process of the template."""
    sandbox = BwrapSandbox()
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", reference=SEEKER, suite=SEEKER_SUITE).name)
    held = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", "held", suite=HELD_SUITE).name)
    other = threading.Thread(target=score, args=(held, held.reference_dir, sandbox))
    other.start()  # a run of the same template in flight meanwhile (most of the time: no outcome hangs on it)
    try:
        result = score(spec, spec.reference_dir, sandbox)
    finally:
        other.join()
    assert all(outcomes(result).values()), messages(result)


HELD_SUITE = """
import time

def test_held():
    time.sleep(3)
"""


def test_concurrent_runs_through_one_template_keep_their_outcomes_apart(tmp_path):
    """Threads share a backend's template (launch.concurrency > 1): each run's report, pid, status and
    folder must stay its own. Twelve runs at once, good and bad implementations interleaved."""
    backend = BACKENDS[-1]
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs").name)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adder.py").write_text("def add(a, b):\n    return a - b\n")
    impls = [spec.reference_dir if i % 2 == 0 else bad for i in range(12)]
    results: dict[int, object] = {}

    def one(i):
        results[i] = score(spec, impls[i], backend())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(impls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, impl in enumerate(impls):
        got = outcomes(results[i])
        want = {"test_small": impl != bad, "test_negative": impl != bad, "test_zero": True}
        assert got == want, (i, got, messages(results[i]))


# ---------------------------------------------------------------- bytecode and the template's upkeep

@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_suite_edited_between_runs_is_never_run_from_its_old_bytecode(tmp_path, backend):
    """The suite's pycs are made by the harness (harness/scoring/bytecode.py) and cached by content: a suite
    changed to the same size and mtime, and a second spec whose suite module has the same name, each run
    their own text."""
    sandbox = backend()
    specs = tmp_path / "specs"
    spec = load_spec(specs, make_spec(specs, "edited").name)
    twin = load_spec(specs, make_spec(specs, "twin", suite=TWIN_SUITE).name)
    module = spec.suite_dir / "test_adder.py"
    before = module.stat()
    assert all(outcomes(score(spec, spec.reference_dir, sandbox)).values())
    assert not any(outcomes(score(twin, twin.reference_dir, sandbox)).values())  # same module name, its own text
    edited = module.read_text().replace("== 5", "== 6")
    assert len(edited) == len(module.read_text())
    module.write_text(edited)
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not outcomes(score(spec, spec.reference_dir, sandbox))["test_small"]


TWIN_SUITE = """
def test_small():
    assert False, "the twin's own test"
"""


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    found, frontier = [], [pid]
    while frontier:
        here = frontier.pop()
        found.append(here)
        for task in Path(f"/proc/{here}/task").iterdir():
            frontier += [int(c) for c in (task / "children").read_text().split()]
    return found


UPKEEP_SUITE = """
import os, signal, subprocess, sys, time

def test_leaves_a_daemon():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)

def test_opens_files():
    global kept
    kept = [open(os.devnull) for _ in range(200)]

def test_ends_its_run_by_signal():
    if os.environ.get("HARNESS_SCRATCH") and os.path.exists("/proc/self/status"):
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_template_keeps_nothing_of_the_runs_it_served(tmp_path, backend):
    """Runs that end by a signal, leave a daemon and hold descriptors, scored many times: the template's
    processes and descriptors are the same after as after the first run (no zombie, no descriptor kept)."""
    sandbox = backend()
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", suite=UPKEEP_SUITE).name)
    score(spec, spec.reference_dir, sandbox)

    def state():
        pids = tree(sandbox.warm.pid())
        return len(pids), sum(len(os.listdir(f"/proc/{p}/fd")) for p in pids)

    first = state()
    for _ in range(15):
        result = score(spec, spec.reference_dir, sandbox)
        assert result.status is not ScoreStatus.scored or not all(outcomes(result).values())
    assert sandbox.warm.pid() is not None and state() == first


WALLS_SUITE = """
import ctypes, os, platform

def test_the_implementations_copy_is_covered():
    assert os.listdir(os.environ["HARNESS_IMPL_DIR"]) == []  # the suite reaches it only through the room

def test_the_kernel_keyring_is_refused():
    add_key = {"x86_64": 248, "aarch64": 217}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    done = libc.syscall(add_key, b"user", b"warm-attack", b"an answer", ctypes.c_size_t(9), ctypes.c_long(-4))
    assert (done, ctypes.get_errno()) == (-1, 1)  # EPERM, from the seccomp filter the template's bwrap set

def test_the_template_and_its_folders_are_out_of_reach():
    reached = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
        for what in ("root", "cwd", "fd"):
            try:
                os.listdir(f"/proc/{pid}/{what}")
                reached.append(f"/proc/{pid}/{what}")
            except OSError:
                pass
    for parent, dirs, files in os.walk("/tmp"):
        reached += [os.path.join(parent, n) for n in files if n in ("warm.sock", "template.log")]
    assert reached == []
"""


@needs_warm_bwrap
def test_a_warm_suite_room_reaches_neither_the_implementation_nor_the_template(tmp_path):
    """What a warm child sees beyond a cold one (the template's pid namespace, the run's real folder with the
    implementation's copy in it) stays out of its reach: the copy is covered, the keyring refused, and the
    template's processes (root) and files (under the /tmp it covers) closed to it."""
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", suite=WALLS_SUITE).name)
    result = score(spec, spec.reference_dir, BwrapSandbox())
    assert all(outcomes(result).values()), messages(result)
