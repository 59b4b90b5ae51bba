"""The scorer with real pytest subprocesses on a tiny spec, and on every shipped spec's reference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring.judge import MESSAGE_CHARS, judge, read_stream
from harness.scoring.rooms import score
from harness.seams import Events, ExecResult, ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import ROOT, SHARED_SCORES, make_spec, score_once


def impl(tmp_path, source: str):
    folder = tmp_path / "impl"
    folder.mkdir()
    (folder / "adder.py").write_text(source)
    return folder


def test_reference_passes_every_test(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), tiny_specs / "adder" / "reference", ProcessSandbox())
    assert result.status is ScoreStatus.scored
    assert [t.outcome for t in result.tests] == [TestOutcome.passed] * 3
    assert {t.test_id.split("::")[1] for t in result.tests} == {"test_small", "test_negative", "test_zero"}


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
def test_a_private_folder_is_scored_on_its_merits(tiny_specs, tmp_path):
    """The rooms run as an unprivileged uid: a 0700 folder of 0600 files must reach them readable, not fail as
    if the implementation were missing."""
    folder = impl(tmp_path, (tiny_specs / "adder" / "reference" / "adder.py").read_text())
    (folder / "adder.py").chmod(0o600)
    folder.chmod(0o700)
    result = score(load_spec(tiny_specs, "adder"), folder, BwrapSandbox())
    assert [t.outcome for t in result.tests] == [TestOutcome.passed] * 3, [t.message for t in result.tests]


def test_wrong_implementation_fails_the_tests_it_breaks(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "def add(a, b):\n    return a - b\n"),
                   ProcessSandbox())
    outcomes = {t.test_id.split("::")[1]: t.outcome for t in result.tests}
    assert outcomes == {"test_small": TestOutcome.failed, "test_negative": TestOutcome.failed,
                        "test_zero": TestOutcome.passed}
    messages = {t.test_id.split("::")[1]: t.message for t in result.tests}
    assert "assert -1 == 5" in messages["test_small"]  # the assertion, with the value the code returned
    assert "assert -3 == -1" in messages["test_negative"] and messages["test_zero"] == ""


def test_a_long_message_is_capped_in_the_room_and_by_the_judge(tiny_specs, tmp_path):
    """The code under test chooses what its exception says: the plugin cuts it to MESSAGE_CHARS, saying so."""
    result = score(load_spec(tiny_specs, "adder"),
                   impl(tmp_path, "def add(a, b):\n    raise ValueError('<b>' * 5000)\n"), ProcessSandbox())
    failed = [t for t in result.tests if not t.ok]
    assert len(failed) == 3 and all(len(t.message) <= MESSAGE_CHARS for t in failed)
    assert all("ValueError: <b><b>" in t.message and "more characters]" in t.message for t in failed)


def test_a_message_says_the_same_when_a_test_fails_the_same_way_again(tiny_specs, tmp_path):
    """Two scoring runs of one implementation: a message naming the implementation's file (which lies in each
    run's own folder) or quoting a default repr (a memory address) reads the same in both."""
    source = "class Box:\n    pass\n\ndef add(a, b):\n    raise ValueError(f'{__file__} {Box()!r}')\n"
    spec = load_spec(tiny_specs, "adder")
    runs = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        runs.append(score(spec, impl(tmp_path / str(i), source), ProcessSandbox()))
    messages = [[t.message for t in run.tests] for run in runs]
    assert messages[0] == messages[1] and len(messages[0]) == 3
    assert messages[0][0].startswith("ValueError: <scoring dir>/impl/adder.py <adder.Box object at 0x...>")


def test_a_message_is_kept_as_untrusted_text():
    """Capped again whatever the plugin sent, no terminal escapes, no secret of the harness's environment."""
    secret = "sk-planted-secret-0123456789"
    os.environ["HARNESS_TEST_API_KEY"] = secret
    try:
        long = {**FAIL, "message": "\x1b[31m" + secret + " x" * 5000}
        stream = read_stream(events(START, long, {"event": "end", "tests": 1, "exitstatus": 1}))
    finally:
        del os.environ["HARNESS_TEST_API_KEY"]
    message = stream.tests[0].message
    assert stream.complete and len(message) <= MESSAGE_CHARS and message.endswith("more characters]")
    assert message.startswith("\ufffd[31m[REDACTED] x x") and secret not in message and "\x1b" not in message


def test_import_error_fails_every_test_not_a_pass(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "raise ImportError('no')\n"), ProcessSandbox())
    assert result.status is ScoreStatus.scored
    assert len(result.tests) == 3 and all(t.outcome is TestOutcome.failed for t in result.tests)
    assert all(t.message == "ImportError: no" for t in result.tests)


def test_a_hang_is_a_timeout_and_leaves_no_process(tmp_path):
    specs = tmp_path / "specs"
    make_spec(specs, time_limit_s=2)
    marker = f"harness-hang-{os.getpid()}"
    # The implementation starts a grandchild, then hangs: the timeout must take both down.
    source = f"import subprocess, time\nsubprocess.Popen(['bash', '-c', 'exec -a {marker} sleep 300'])\n" \
             "while True:\n    time.sleep(1)\n"
    start = time.monotonic()
    result = score(load_spec(specs, "adder"), impl(tmp_path, source), ProcessSandbox())
    assert result.status is ScoreStatus.timeout and time.monotonic() - start < 10
    time.sleep(0.2)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_an_implementation_that_exits_fails_its_tests_and_cannot_end_the_judge(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "import os\nos._exit(0)\n"), ProcessSandbox())
    assert result.status is ScoreStatus.scored and len(result.tests) == 3
    assert all(t.outcome is TestOutcome.failed and "RoomError" in t.message for t in result.tests)


def test_a_dead_pytest_is_no_report_never_a_pass(tmp_path):
    specs = tmp_path / "specs"
    make_spec(specs, suite="import os\n\ndef test_dies():\n    os._exit(0)\n")
    result = score(load_spec(specs, "adder"), specs / "adder" / "reference", ProcessSandbox())
    assert result.status is ScoreStatus.no_report and result.tests == ()


def events(*lines: dict) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


START, PASS = {"event": "start"}, {"event": "test", "id": "t::a", "outcome": "passed", "seconds": 0.1}


def test_a_well_formed_stream_is_complete():
    stream = read_stream(events(START, PASS, {"event": "end", "tests": 1, "exitstatus": 0}))
    assert stream.complete and not stream.forged and [t.test_id for t in stream.tests] == ["t::a"]


@pytest.mark.parametrize("text, why", [
    (events(START, PASS, PASS, {"event": "end", "tests": 2, "exitstatus": 0}), "reported twice"),
    (events(START, PASS, START, PASS), "second start"),
    (events(PASS, {"event": "end", "tests": 1, "exitstatus": 0}), "second start or none first"),
    (events(START, PASS, {"event": "end", "tests": 3, "exitstatus": 0}), "does not close"),
    (events(START, {"event": "end", "tests": 0, "exitstatus": 0}, PASS), "does not close"),
    (events(START) + "<testsuite/>\n", "not a report event"),
    (events(START, {**PASS, "outcome": "great"}), "not a report event"),
    (events(START, {**PASS, "message": ["not", "text"]}, {"event": "end", "tests": 1, "exitstatus": 0}),
     "not a report event"),
])
def test_a_stream_our_plugin_could_not_have_written_is_forged(text, why):
    stream = read_stream(text)
    assert not stream.complete and why in stream.forged


def test_a_stream_cut_short_is_incomplete_but_not_forged():
    stream = read_stream(events(START, PASS))
    assert not stream.complete and not stream.forged and len(stream.tests) == 1


def test_a_report_that_disagrees_with_the_exit_code_is_tampered():
    report = events(START, PASS, {"event": "end", "tests": 1, "exitstatus": 0})
    result = judge(ExecResult(1, "", "", False, 0.1, report=report), time_limit_s=5)
    assert result.status is ScoreStatus.tampered and "exited 1" in result.detail


def test_a_generated_conftest_or_helper_cannot_shadow_the_suite(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    folder = impl(tmp_path, "def add(a, b):\n    return a + b\n")
    (folder / "json.py").write_text("")
    assert score(spec, folder, ProcessSandbox()).status is ScoreStatus.tampered
    (folder / "json.py").unlink()
    (folder / "test_adder.py").write_text("def test_forged():\n    pass\n")
    result = score(spec, folder, ProcessSandbox())
    assert result.status is ScoreStatus.tampered and "hidden suite" in result.detail
    (folder / "test_adder.py").unlink()
    (folder / "conftest.py").write_text("raise SystemExit('pwned')\n")
    assert score(spec, folder, ProcessSandbox()).status is ScoreStatus.tampered


BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])


@SHARED_SCORES  # the same runs test_warm.py compares warm against cold
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "specs").glob("*/manifest.yaml")))
def test_every_shipped_reference_passes_its_suite(name, backend):
    spec = load_spec(ROOT / "specs", name)
    result = score_once(spec, spec.reference_dir, backend)
    failed = [t.test_id for t in result.tests if t.outcome is not TestOutcome.passed]
    assert result.status is ScoreStatus.scored and len(result.tests) >= 15 and not failed, (result.detail, failed)


@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "tests" / "fixtures").glob("*/manifest.yaml")))
def test_every_fixture_reference_passes_its_suite(name):
    """A fixture spec whose own reference fails makes every test built on it check plumbing only."""
    spec = load_spec(ROOT / "tests" / "fixtures", name)
    result = score(spec, spec.reference_dir, BACKENDS[-1]())
    assert result.status is ScoreStatus.scored and result.tests, result.detail
    assert all(t.outcome is TestOutcome.passed for t in result.tests), [t.message for t in result.tests]


FAIL = {"event": "test", "id": "t::b", "outcome": "failed", "seconds": 0.1, "message": "MemoryError"}
CLEAN = events(START, PASS, {"event": "end", "tests": 1, "exitstatus": 0})
FAILING = events(START, PASS, FAIL, {"event": "end", "tests": 2, "exitstatus": 1})


@pytest.mark.parametrize("seen, status", [
    (Events(oom_kills=2, forks_refused=0, memory_at_limit=5), ScoreStatus.memory),
    (Events(oom_kills=0, forks_refused=40, memory_at_limit=0), ScoreStatus.processes),
])
def test_a_limit_the_kernel_counted_names_a_run_that_failed_and_only_that(seen, status):
    failed = judge(ExecResult(1, "", "", False, 0.1, report=FAILING, events=seen), time_limit_s=5)
    assert failed.status is status and len(failed.tests) == 2  # the per-test outcomes stay on the record
    cut = judge(ExecResult(-9, "", "", True, 0.1, report=events(START, PASS), events=seen), time_limit_s=5)
    assert cut.status is status  # before the timeout: a fork bomb also runs out of time
    recovered = judge(ExecResult(0, "", "", False, 0.1, report=CLEAN, events=seen), time_limit_s=5)
    assert recovered.status is ScoreStatus.scored and recovered.passed and "passed every test, though" in \
        recovered.detail


def test_memory_reclaimed_at_the_limit_and_the_words_of_a_limit_are_no_failure():
    words = "MemoryError\nBlockingIOError: [Errno 11] Resource temporarily unavailable\nNo space left on device\n"
    result = judge(ExecResult(1, words, words, False, 0.1, report=FAILING,
                              events=Events(oom_kills=0, forks_refused=0, memory_at_limit=7)), time_limit_s=5)
    assert result.status is ScoreStatus.scored and result.observed == "memory,processes,disk,output"
    unseen = judge(ExecResult(1, words, words, False, 0.1, report=FAILING), time_limit_s=5)
    assert unseen.status is ScoreStatus.scored and unseen.observed == "disk,output"


def test_a_child_killed_by_sigxfsz_is_a_disk_failure():
    result = judge(ExecResult(-signal.SIGXFSZ, "", "", False, 0.1, report=events(START)), time_limit_s=5)
    assert result.status is ScoreStatus.disk and "SIGXFSZ" in result.detail


def test_a_run_killed_at_a_limit_is_named_for_it_even_with_a_clean_report():
    report = events(START, PASS, {"event": "end", "tests": 1, "exitstatus": 0})
    for flag, status in (("disk_exceeded", ScoreStatus.disk), ("output_exceeded", ScoreStatus.output)):
        result = judge(ExecResult(0, "", "", False, 0.1, report=report, **{flag: True}), time_limit_s=5)
        assert result.status is status


DIGS_DEEP = """
import os
here = os.getcwd()
for _ in range(1100):
    os.mkdir("d")
    os.chdir("d")
os.chdir(here)

def add(a, b):
    return a + b
"""


def test_a_folder_dug_deeper_than_pythons_recursion_limit_is_cleaned_up_not_an_error(tiny_specs, deep_ok):
    """Under the process backend the code's writes land in the scorer's temp dir, which is removed after."""
    result = score(load_spec(tiny_specs, "adder"), impl(deep_ok, DIGS_DEEP), ProcessSandbox())
    assert result.status is ScoreStatus.scored and result.passed


# What the plugins the scorer leaves out (rooms.UNUSED_PLUGINS) would have caught: a warning, a log record, an
# exception in a thread and one no caller can see; none of them decides a test, with or without those plugins.
NOISY_SUITE = '''
import gc, logging, threading, warnings
import harness_room

add = harness_room.import_module("adder").add

def test_warns():
    warnings.warn("noisy", UserWarning)
    assert add(1, 2) == 3

def test_logs():
    logging.getLogger("noisy").error("a record")
    assert add(0, 0) == 0

def test_thread_raises():
    thread = threading.Thread(target=lambda: 1 / 0)
    thread.start()
    thread.join()
    assert add(2, 2) == 4

class Broken:
    def __del__(self):
        raise RuntimeError("unraisable")

def test_unraisable():
    Broken()
    gc.collect()
    assert add(-1, 1) == 0

def test_fails():
    assert add(1, 2) == 4
'''


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_warnings_logs_and_stray_exceptions_decide_nothing_and_a_failure_keeps_its_message(tmp_path, backend):
    make_spec(tmp_path, suite=NOISY_SUITE)
    spec = load_spec(tmp_path, "adder")
    runs = [score(spec, spec.reference_dir, backend(warm=warm)) for warm in (True, False)]
    for result in runs:
        outcomes = {t.test_id.split("::")[1]: t.outcome for t in result.tests}
        assert result.status is ScoreStatus.scored, result.detail
        assert outcomes == {"test_warns": TestOutcome.passed, "test_logs": TestOutcome.passed,
                            "test_thread_raises": TestOutcome.passed, "test_unraisable": TestOutcome.passed,
                            "test_fails": TestOutcome.failed}
        assert "assert 3 == 4" in next(t.message for t in result.tests if t.outcome is TestOutcome.failed)
    assert [(t.test_id, t.outcome, t.message) for t in runs[0].tests] == [
        (t.test_id, t.outcome, t.message) for t in runs[1].tests]
