"""Separate rooms: the code under test runs apart from the pytest that judges it, and never sees the hidden suite.

Real scorer, real sandboxes, under each backend that can stop the attack (docs/sandbox.md, "What the sandbox cannot
promise", lists those the process backend cannot). As in test_hostile.py, an implementation that hunts for
something does the right thing only if it found nothing, so "every test passed" means "the attack found nothing".
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap

import pytest

from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import ROOT, make_spec

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")

# The attack that turned 45/253 into a clean 253/253 while the implementation ran inside the judging pytest:
# every test report it makes is rewritten to "passed" at import.
PATCH_TEST_REPORT = """
    def _forge():
        try:
            from _pytest import reports
        except ImportError:
            return
        original = reports.TestReport.from_item_and_call.__func__
        def from_item_and_call(cls, item, call):
            report = original(cls, item, call)
            report.outcome, report.longrepr = "passed", None
            return report
        reports.TestReport.from_item_and_call = classmethod(from_item_and_call)
    _forge()
    """
# A weak implementation for it to cover: every constraint check fails.
NO_CONSTRAINTS = "\ndef satisfies(version, constraint):\n    raise NotImplementedError\n"


def hunt_for(names: set[str], marker: str) -> str:
    """Code that looks everywhere it may for files named `names` holding `marker`, and sets FOUND to them."""
    return textwrap.dedent(f"""
        import os, sys
        def _hunt(names={sorted(names)!r}, marker={marker!r}):
            roots = {{"/", "/tmp", os.getcwd(), os.path.expanduser("~"), *sys.path}}
            here = os.path.dirname(os.path.abspath(__file__))
            roots |= {{here, os.path.dirname(here), os.path.dirname(os.path.dirname(here))}}
            roots |= {{v for v in os.environ.values() if v.startswith("/")}}
            for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                for link in ("cwd", "root"):
                    try:
                        roots.add(os.readlink(f"/proc/{{pid}}/{{link}}"))
                    except OSError:
                        pass
            found, seen = [], 0
            for root in sorted(r for r in roots if r and os.path.isdir(r)):
                for folder, dirs, files in os.walk(root):
                    seen += 1
                    depth = folder[len(root):].count(os.sep)
                    dirs[:] = [] if depth >= 4 or seen > 200000 else [
                        d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev", "/usr")]
                    for name in set(names).intersection(files):
                        try:
                            with open(os.path.join(folder, name), errors="replace") as source:
                                if marker in source.read():
                                    found.append(os.path.join(folder, name))
                        except OSError:
                            pass
            return found
        FOUND = _hunt()
        """)


def semver_impl(tmp_path, source: str):
    impl = tmp_path / "impl"
    impl.mkdir(exist_ok=True)
    (impl / "semver.py").write_text(source)
    return impl


def outcomes(result) -> dict[str, TestOutcome]:
    assert result.status is ScoreStatus.scored, (result.status, result.detail)
    return {t.test_id: t.outcome for t in result.tests}


@pytest.fixture(autouse=True)
def scoring_dirs_under_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_patching_pytest_at_import_does_not_change_the_verdict(tmp_path, backend):
    spec = load_spec(ROOT / "specs", "semver")
    weak = (spec.reference_dir / "semver.py").read_text() + NO_CONSTRAINTS
    honest = outcomes(score(spec, semver_impl(tmp_path, weak), backend()))
    attacked = outcomes(score(spec, semver_impl(tmp_path, textwrap.dedent(PATCH_TEST_REPORT) + weak), backend()))
    assert attacked == honest and len(honest) == 253
    assert 0 < sum(o is TestOutcome.passed for o in honest.values()) < 253


@needs_bwrap
def test_a_library_finds_no_suite_to_read(tmp_path):
    spec = load_spec(ROOT / "specs", "semver")
    names = {p.name for p in spec.suite_dir.glob("*.py")}
    hunter = hunt_for(names, "semver") + "if FOUND:\n    raise ImportError(f'found {FOUND}')\n"
    result = score(spec, semver_impl(tmp_path, hunter + (spec.reference_dir / "semver.py").read_text()),
                   BwrapSandbox())
    assert set(outcomes(result).values()) == {TestOutcome.passed}, result.tests[0].message


@needs_bwrap
def test_an_agent_run_as_a_subprocess_finds_no_suite_to_read(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "minimal-coding-agent", specs / "minimal-coding-agent",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for module in (specs / "minimal-coding-agent" / "suite").glob("test_*.py"):
        if module.name != "test_secrets.py":  # one small module: enough runs of the agent to show it
            module.unlink()
    spec = load_spec(specs, "minimal-coding-agent")
    names = {p.name for p in (ROOT / "specs" / "minimal-coding-agent" / "suite").glob("*.py")}
    hunter = hunt_for(names, "ScriptedServer") + "if FOUND:\n    sys.exit(f'found {FOUND}')\n"
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "agent.py").write_text(hunter + (spec.reference_dir / "agent.py").read_text())
    result = score(spec, impl, BwrapSandbox())
    assert len(result.tests) >= 3 and set(outcomes(result).values()) == {TestOutcome.passed}, result.tests


# One call hangs, one ends the room's worker, one raises what would stop pytest itself: each fails its own test.
CALLS_SUITE = """
import harness_room

adder = harness_room.import_module("adder", timeout=2)

def test_before():
    assert adder.add(1, 2) == 3

def test_box_before():
    global BOX
    BOX = adder.Box(5)
    assert BOX.value == 5

def test_hang():
    assert adder.add(-1, 0) == -1

def test_crash():
    assert adder.add(-2, 0) == -2

def test_interrupt():
    assert adder.add(-3, 0) == -3

def test_box_after():
    assert BOX.value == 5  # it lived in a worker that the hang and the crash have replaced since

def test_after():
    assert adder.add(2, 2) == 4 and adder.Box(7).value == 7
"""
TRAPPED_ADDER = """
import os

class Box:
    def __init__(self, value):
        self.value = value

def add(a, b):
    if a == -1:
        while True:
            pass
    if a == -2:
        os._exit(1)
    if a == -3:
        raise KeyboardInterrupt
    return a + b
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_call_that_hangs_or_crashes_fails_only_its_own_test(tmp_path, backend):
    specs = tmp_path / "specs"
    make_spec(specs, suite=CALLS_SUITE, reference=TRAPPED_ADDER, time_limit_s=30)
    spec = load_spec(specs, "adder")
    result = score(spec, specs / "adder" / "reference", backend())
    got = {t.test_id.split("::")[1]: (t.outcome, t.message) for t in result.tests}
    assert result.status is ScoreStatus.scored, result.detail
    assert {name for name, (outcome, _) in got.items() if outcome is TestOutcome.passed} == {
        "test_before", "test_box_before", "test_after"}
    assert "did not answer within 2 s" in got["test_hang"][1]
    assert "ended during this call" in got["test_crash"][1]
    assert "raised KeyboardInterrupt" in got["test_interrupt"][1]
    assert "restarted" in got["test_box_after"][1]


# Two tests hand the implementation a folder of theirs: it must not learn which test calls it, nor find the other's.
NAMES_SUITE = """
import harness_room

probe = harness_room.import_module("adder")

def test_alpha(tmp_path):
    (tmp_path / "input.txt").write_text("alpha-input")
    assert probe.look(str(tmp_path)) == "nothing found"

def test_beta(tmp_path):
    (tmp_path / "input.txt").write_text("beta-input")
    assert probe.look(str(tmp_path)) == "nothing found"
"""
PROBE = """
import os

def look(folder):
    found = [word for word in ("alpha", "beta", "test") if word in os.path.basename(folder)]
    parent = os.path.dirname(folder)
    try:
        others = [name for name in os.listdir(parent) if name != os.path.basename(folder)]
        found += [name for name in others if os.path.isfile(os.path.join(parent, name, "input.txt"))]
    except OSError:
        pass
    return ", ".join(found) or "nothing found"
"""


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_tests_folder_has_a_neutral_name_and_the_others_cannot_be_listed(tmp_path, backend):
    specs = tmp_path / "specs"
    make_spec(specs, suite=NAMES_SUITE, reference=PROBE)
    result = score(load_spec(specs, "adder"), specs / "adder" / "reference", backend())
    crashes = {t.test_id: t.message for t in result.tests}
    if backend is BwrapSandbox:
        assert result.passed, crashes
    else:  # as root, the process backend lists any folder (docs/sandbox.md): the names are neutral all the same
        assert all(not c or c.startswith("AssertionError: assert '") and "alpha" not in c and "beta" not in c
                   and "test" not in c for c in crashes.values()), crashes


FLOOD_SUITE = """
import os, harness_room

def test_flood():
    done = harness_room.run_script(os.path.join(os.environ["HARNESS_IMPL_DIR"], "adder.py"), timeout=60)
    assert done.returncode == 0
"""
FLOODER = "import sys\nfor _ in range(300):\n    sys.stdout.write('x' * (1 << 20))\n"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_flood_through_a_script_run_in_the_room_is_charged_as_output(tmp_path, backend):
    specs = tmp_path / "specs"
    make_spec(specs, suite=FLOOD_SUITE, reference=FLOODER, time_limit_s=60)
    result = score(load_spec(specs, "adder"), specs / "adder" / "reference", backend())
    assert result.status is ScoreStatus.output, (result.status, result.detail)


# The red team's forged pass: a str subclass whose == records the suite's expected answer (then says yes), and the
# exact str once learned. Compared in the room, it passed the whole fizzbuzz suite without computing anything.
LEARNER = """
    _TABLE = {}

    class _Learner(str):
        def __eq__(self, other):
            _TABLE[self.n] = other
            return True

        def __ne__(self, other):
            return False

        __hash__ = str.__hash__

    def fizzbuzz(n):
        if n in _TABLE:
            return _TABLE[n]
        answer = _Learner("?")
        answer.n = n
        return answer
    """
# An honest subclass (as a str-valued Enum would be): judged by its data, it is right wherever its type is not asked.
SUBCLASS = """
    class Answer(str):
        pass

    def fizzbuzz(n):
        return Answer("FizzBuzz" if n % 15 == 0 else "Fizz" if n % 3 == 0 else "Buzz" if n % 5 == 0 else str(n))
    """


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_suites_expected_values_never_reach_the_implementations_code(tmp_path, backend):
    spec = load_spec(ROOT / "specs", "fizzbuzz")
    results = {}
    for name, source in (("learner", LEARNER), ("subclass", SUBCLASS)):
        impl = tmp_path / name
        impl.mkdir()
        (impl / "fizzbuzz.py").write_text(textwrap.dedent(source))
        results[name] = outcomes(score(spec, impl, backend()))
    assert set(results["learner"].values()) == {TestOutcome.failed}
    failed = {test for test, outcome in results["subclass"].items() if outcome is not TestOutcome.passed}
    assert failed and all("test_the_answer_is_a_str" in test for test in failed), failed
