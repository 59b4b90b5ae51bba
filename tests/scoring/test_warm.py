"""The warm judge: a suite forked from a template that has imported pytest (harness/sandbox/warm.py) finds what a
cold one finds, and nothing one trial leaves behind (a daemon, a file in every place it may write, a patched
module, in either room) reaches the trial scored after it. Real scorer, real templates, under both backends.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness.config.schema import SandboxConfig, SandboxKind
from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available, make_sandbox
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import ROOT, SHARED_SCORES, make_spec, run_markers, score_once

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])

# Shared by the implementation (tracer.py) and the suite (traces.py): where a process of a room may write, how
# to leave a trace in each of those and how to look for traces. Under the process backend the host's /tmp is the
# host's, which no backend of ours hides from root (docs/sandbox.md): only the places it gives a run are looked at.
TRACES = '''
import json, os, sys
MARK = "warm-trace-5e1f"
HOST_DIRS = {host_dirs}

def places():
    found = {{os.getcwd(), os.path.expanduser("~"), os.environ.get("TMPDIR", ""),
              os.environ.get("HARNESS_SCRATCH", ""), os.path.dirname(os.environ.get("HARNESS_ROOM", ""))}}
    found |= set(HOST_DIRS)
    return sorted(p for p in found if p and os.path.isdir(p))

def leave_traces(who):
    written = []
    for folder in places():
        try:
            with open(os.path.join(folder, MARK + "-" + who), "w") as out:
                out.write(MARK)
            written.append(folder)
        except OSError:
            pass
    if os.fork() == 0:  # a daemon: a session of its own, its parent gone
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time\\nwhile True: time.sleep(1)", MARK])
        os._exit(0)
    json.loads = lambda *args, **kwargs: MARK
    os.environ[MARK] = who
    for name in ("_pytest.runner", "harness_room_wire"):
        if name in sys.modules:
            setattr(sys.modules[name], "MARK", who)
    return written

def traces():
    found = []
    for folder in places():
        for parent, _, files in os.walk(folder):
            found += [os.path.join(parent, f) for f in files if f.startswith(MARK)]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open("/proc/" + pid + "/cmdline", "rb") as cmdline:
                if MARK.encode() in cmdline.read():
                    found.append("process " + pid)
        except OSError:
            pass
    if json.loads("[1]") != [1]:
        found.append("json.loads patched")
    found += ["environ"] * (MARK in os.environ)
    found += [name + " patched" for name in ("_pytest.runner", "harness_room_wire")
              if hasattr(sys.modules.get(name), "MARK")]
    return found
'''
DIRTY_SUITE = """
import harness_room
from traces import leave_traces, traces

tracer = harness_room.import_module("tracer")

def test_the_suite_leaves_traces():
    assert leave_traces("suite") and traces()

def test_the_implementation_leaves_traces():
    assert tracer.leave_traces("impl") and tracer.traces()
"""
PROBE_SUITE = """
import harness_room
from traces import traces

tracer = harness_room.import_module("tracer")

def test_the_suite_finds_no_trace():
    assert traces() == []

def test_the_implementation_finds_no_trace():
    assert tracer.traces() == []
"""


def tracer_spec(specs: Path, name: str, suite: str, host_dirs: list[str]) -> Path:
    folder = make_spec(specs, name, TRACES.format(host_dirs=host_dirs), suite)
    (folder / "reference" / "adder.py").rename(folder / "reference" / "tracer.py")
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("adder.py", "tracer.py"))
    (folder / "suite" / "traces.py").write_text(TRACES.format(host_dirs=host_dirs))
    return folder


@pytest.fixture(autouse=True)
def scoring_dirs_under_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def passed(result) -> dict[str, bool]:
    assert result.status is ScoreStatus.scored, (result.status, result.detail)
    return {t.test_id.split("::")[1]: t.outcome is TestOutcome.passed for t in result.tests}


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_nothing_a_trial_leaves_reaches_the_next(tmp_path, backend):
    sandbox = backend()
    assert sandbox.warm is not None
    host_dirs = ["/tmp", "/dev/shm", "/var/tmp"] if backend is BwrapSandbox else []
    dirty = load_spec(tmp_path / "specs", tracer_spec(tmp_path / "specs", "dirty", DIRTY_SUITE, host_dirs).name)
    probe = load_spec(tmp_path / "specs", tracer_spec(tmp_path / "specs", "probe", PROBE_SUITE, host_dirs).name)
    left = score(dirty, dirty.reference_dir, sandbox)
    assert all(passed(left).values()), left.tests  # it did leave its traces, and could see them itself
    for _ in range(2):  # the next trial, and the one after it, find none: in either room
        found = score(probe, probe.reference_dir, sandbox)
        assert all(passed(found).values()), [t.message for t in found.tests]


def test_sandbox_warm_false_starts_every_suite_cold():
    kind = SandboxKind.bwrap if bwrap_available() else SandboxKind.process
    assert make_sandbox(SandboxConfig(kind=kind, warm=False)).warm is None
    assert make_sandbox(SandboxConfig(kind=kind)).warm is not None  # on by default, where it works


REFERENCES = sorted(p.name for p in (ROOT / "specs").iterdir() if (p / "manifest.yaml").exists())
LADDER = sorted(p.name for p in (ROOT / "tests" / "fixtures" / "cleanroom" / "ladder").iterdir())


def same_outcomes(spec, impl: Path, backend) -> None:
    assert backend().warm is not None and backend(warm=False).warm is None
    # each run shared with the other tests that score this implementation so (tests/conftest.py score_once)
    runs = {name: score_once(spec, impl, backend, warm) for name, warm in (("warm", True), ("cold", False))}
    got = {name: (r.status, {t.test_id: t.outcome for t in r.tests}) for name, r in runs.items()}
    assert got["warm"] == got["cold"] and got["warm"][1]


# The agent's suite takes half a minute a run: it is compared under the default backend (bwrap, here) only.
@SHARED_SCORES
@pytest.mark.parametrize("backend, name", [(b, n) for b in BACKENDS for n in REFERENCES
                                           if n != "minimal-coding-agent" or b is BACKENDS[-1]],
                         ids=lambda x: getattr(x, "name", x))
def test_warm_and_cold_agree_on_every_reference(backend, name):
    spec = load_spec(ROOT / "specs", name)
    same_outcomes(spec, spec.reference_dir, backend)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", LADDER)
def test_warm_and_cold_agree_on_the_clean_room_ladder(backend, name):
    same_outcomes(load_spec(ROOT / "specs", name), ROOT / "tests" / "fixtures" / "cleanroom" / "ladder" / name,
                  backend)


@SHARED_SCORES
@pytest.mark.parametrize("text", ["ours", "paper"])
def test_warm_and_cold_agree_on_the_clean_room_agents(text):
    same_outcomes(load_spec(ROOT / "specs", "minimal-coding-agent"), ROOT / "tests" / "fixtures" / "cleanroom" / text,
                  BACKENDS[-1])


# A suite that stops half-way until the test below has killed the template under it.
HELD_SUITE = """
import os, time

def test_held():
    scratch = os.environ["HARNESS_SCRATCH"]
    open(os.path.join(scratch, "started"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(scratch, "resume")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(os.path.join(scratch, "resume"))

def test_other():
    assert 1 + 1 == 2
"""


# It looks for held runs in every bwrap template's folders under /tmp: with a run of test_warm_attacks.py that does
# so too, it must not overlap on another pytest-xdist worker (one group: one worker, one test at a time).
@pytest.mark.xdist_group("warm-root-markers")
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_template_killed_under_a_run_costs_time_never_an_outcome(tmp_path, backend):
    sandbox = backend()
    spec = load_spec(tmp_path / "specs", make_spec(tmp_path / "specs", suite=HELD_SUITE).name)
    armed, stop, killed = threading.Event(), threading.Event(), []

    def release():
        """Let every held run go on; the first one held once `armed`, after killing the template under it."""
        while not stop.is_set():
            for held in run_markers(tmp_path, "started"):
                if armed.is_set() and not killed:
                    killed.append(sandbox.warm.pid())
                    os.killpg(killed[0], signal.SIGKILL)
                (held.parent / "resume").touch()
                held.unlink()
            time.sleep(0.01)

    watcher = threading.Thread(target=release, daemon=True)
    watcher.start()
    try:
        first = score(spec, spec.reference_dir, sandbox)  # the template is up
        armed.set()
        result = score(spec, spec.reference_dir, sandbox)
        after = score(spec, spec.reference_dir, sandbox)
    finally:
        stop.set()
        watcher.join()
    assert killed and all(passed(first).values()) and all(passed(result).values()) and all(passed(after).values())
    assert sandbox.warm.pid() not in (None, killed[0])  # started again for the run after
