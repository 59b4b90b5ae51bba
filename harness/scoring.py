"""Scoring: run a spec's hidden suite against an implementation, in the sandbox, and read per-test outcomes.

Two rooms, each its own sandboxed process: the implementation's room runs the code under test (our server,
harness/room_server.py) and sees the implementation and a shared scratch dir; the suite's room runs pytest and
sees the suite and the same scratch dir. The suite reaches the implementation only through the room's Unix
socket in that dir (harness/room.py): the code under test never runs in the process that judges it, and never
sees the hidden suite.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import marshal
import os
import shutil
import signal
import site
import sys
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

from harness.capture import remove_tree
from harness.child import ExecResult
from harness.seams import Sandbox
from harness.specs import Spec

# Our own pytest configuration, passed with -c, so files in the implementation cannot reconfigure the run.
PYTEST_INI = "[pytest]\naddopts =\n"
PLUGIN = Path(__file__).with_name("pytest_report.py")
# Our standalone files, by the names they take in the rooms (the suite imports `harness_room`).
SUITE_ROOM_FILES = {"harness_report.py": PLUGIN, "harness_room.py": PLUGIN.with_name("room.py"),
                    "harness_room_wire.py": PLUGIN.with_name("room_wire.py")}
IMPL_ROOM_FILES = {"harness_room_server.py": PLUGIN.with_name("room_server.py"),
                   "harness_room_programs.py": PLUGIN.with_name("room_programs.py"),
                   "harness_room_wire.py": PLUGIN.with_name("room_wire.py")}


class TestOutcome(str, Enum):
    __test__ = False  # not a pytest test class
    passed = "passed"
    failed = "failed"
    errored = "errored"
    skipped = "skipped"


class ScoreStatus(str, Enum):
    """How a scoring run ended. Every status but `scored` names a failure; none of them is ever a pass."""

    scored = "scored"  # the suite ran and reported every test (whatever the pass rate)
    timeout = "timeout"  # the suite exceeded the spec's time limit
    memory = "memory"  # the code under test ran out of memory (the sandbox's address-space limit)
    processes = "processes"  # the code under test hit the process limit (a fork bomb, say)
    disk = "disk"  # a file or the scratch space outgrew its limit
    output = "output"  # stdout + stderr passed the output limit (the run was killed)
    tampered = "tampered"  # the report stream was forged or garbled, or a file would shadow a module we import
    no_report = "no_report"  # pytest ended without a complete report (killed, crashed, exited early)


@dataclass(frozen=True)
class TestResult:
    __test__ = False
    test_id: str
    outcome: TestOutcome
    seconds: float
    crash: str = ""  # the error's one-line summary, for a test that did not pass
    clause: str = ""  # the spec clause the test checks, when the suite names one

    @property
    def ok(self) -> bool:
        return self.outcome in (TestOutcome.passed, TestOutcome.skipped)


@dataclass(frozen=True)
class Score:
    status: ScoreStatus
    tests: tuple[TestResult, ...]
    seconds: float
    detail: str = ""
    observed: str = ""  # the limits whose hits the sandbox could see ("memory,processes,disk,output" at most)

    def count(self, outcome: TestOutcome) -> int:
        return sum(t.outcome is outcome for t in self.tests)

    @property
    def passed(self) -> bool:
        """The suite ran and every test it reported passed (or was skipped)."""
        return self.status is ScoreStatus.scored and bool(self.tests) and all(t.ok for t in self.tests)


def score(spec: Spec, impl_dir: Path, sandbox: Sandbox, fail_fast: bool = False) -> Score:
    """Run the hidden suite on the implementation, each in its own room in the sandbox, with a time limit.

    Outcomes come back over a pipe from our plugin (harness/pytest_report.py), not from a file the code under
    test could rewrite. Only the tests that judge the spec's text run (`spec.judged_by`, by clause tag).
    `fail_fast` stops at the first failing test (for mutation analysis)."""
    shadowed = shadowing(impl_dir, spec.suite_dir)
    if shadowed:
        return Score(ScoreStatus.tampered, (), 0.0, shadowed)
    # Not TemporaryDirectory: its clean-up recurses, and under the process backend the code under test writes
    # here (a folder deeper than Python's recursion limit would end the trial as a harness error).
    work = Path(tempfile.mkdtemp(prefix="harness-score-"))
    try:
        for folder, source in (("impl", impl_dir), ("suite", spec.suite_dir)):
            shutil.copytree(source, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
            _open_to_the_rooms(work / folder)
        for name, source in {**SUITE_ROOM_FILES, **IMPL_ROOM_FILES}.items():
            shutil.copy(source, work / name)
            compiled = Path(importlib.util.cache_from_source(str(work / name)))
            compiled.parent.mkdir(exist_ok=True)
            compiled.write_bytes(_bytecode(source, source.stat().st_mtime_ns))
        (work / "pytest.ini").write_text(PYTEST_INI)
        shared, door = work / "shared", work / "shared" / "room.sock"
        shared.mkdir()
        # Everything is read-only in both rooms under bwrap; the code's own writes land in a capped, discarded
        # tmpfs, or in the shared dir, which holds the room's socket and the suite's tmp_path dirs.
        room_argv = [sys.executable, "-S", str(work / "harness_room_server.py"), str(door), str(work / "impl"),
                     *(["--private-net"] if sandbox.isolates_network else []),
                     *(arg for folder in site.getsitepackages() for arg in ("--site", folder))]
        with sandbox.start(room_argv, cwd=work, env={},
                           timeout_s=spec.time_limit_s + 5, keep_writes=False, shared=[shared],
                           read_only=[work / "impl", work / "__pycache__",
                                      *(work / name for name in IMPL_ROOM_FILES)]) as room:
            result = sandbox.exec(_pytest_argv(work, spec, fail_fast), cwd=work, timeout_s=spec.time_limit_s,
                                  env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_ROOM": str(door),
                                       "HARNESS_IMPL_DIR": str(work / "impl"), "PYTHONPATH": str(work)},
                                  keep_writes=False, report=True, shared=[shared],
                                  read_only=[work / "suite", work / "pytest.ini", work / "__pycache__",
                                             *(work / name for name in SUITE_ROOM_FILES)])
            served = room.stop()
    finally:
        remove_tree(work)
    return judge(_charged(result, served), spec.time_limit_s)


@functools.lru_cache(maxsize=None)
def _bytecode(source: Path, mtime_ns: int) -> bytes:
    """A .pyc of one of our standalone files that Python loads without checking a timestamp. The rooms cannot
    write a bytecode cache (read-only, PYTHONDONTWRITEBYTECODE), and compiling these files took ~12 ms a run."""
    data = source.read_bytes()
    code = compile(data, source.name, "exec", dont_inherit=True)
    unchecked_hash = (0b01).to_bytes(4, "little")  # PEP 552: hash-based, source not checked
    return importlib.util.MAGIC_NUMBER + unchecked_hash + importlib.util.source_hash(data) + marshal.dumps(code)


def _pytest_argv(work: Path, spec: Spec, fail_fast: bool) -> list[str]:
    # -s: output reaches the sandbox's capped pipes, where a flood is seen and stopped, not pytest's files.
    # --basetemp: the suite's tmp_path dirs go to the shared dir, where the implementation's room finds them.
    return [
        sys.executable, "-m", "pytest", str(work / "suite"), "-q", "-s", "--tb=short", "-p", "no:cacheprovider",
        "-p", "harness_report", "-c", str(work / "pytest.ini"), "--rootdir", str(work / "suite"),
        "--basetemp", str(work / "shared" / "tmp"),
    ] + (["-x"] if fail_fast else []) + (["--harness-select", ",".join(spec.judged_by)] if spec.judged_by else [])


def _open_to_the_rooms(root: Path) -> None:
    """Readable by the rooms' unprivileged uid whatever modes the source had (copytree keeps them: a 0700 folder,
    as mkdtemp or pytest's tmp_path make, would fail every test with ModuleNotFoundError)."""
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def _charged(suite: ExecResult, room: ExecResult) -> ExecResult:
    """The suite's run, charged with what the implementation's room ran into: its flood, its disk, its errors."""
    return dataclasses.replace(suite, output_exceeded=suite.output_exceeded or room.output_exceeded,
                               disk_exceeded=suite.disk_exceeded or room.disk_exceeded,
                               stdout=suite.stdout + room.stdout, stderr=suite.stderr + room.stderr,
                               events=suite.events + room.events)


def judge(result: ExecResult, time_limit_s: float) -> Score:
    """Name how the run ended: a limit the sandbox saw it hit, a report it forged, or the per-test outcomes.

    Statuses come from what the sandbox observed, never from text the code under test printed: `output` and
    `disk` from the watcher that killed the run (or a child killed by SIGXFSZ), `memory` from the OOM killer's
    count in the run's cgroup, `processes` from the forks the cgroup refused. A limit names a run that did not
    pass every test; a run that passed them all stays `scored` (it recovered, and what it was judged on is
    intact), the hit named in its detail. A limit reached with nothing killed or refused (memory reclaimed at the
    limit) is no failure. Where the host cannot count a limit's hits, none is inferred: the outcomes stand."""
    stream = read_stream(result.report)
    if stream.complete and stream.exitstatus != result.returncode:
        stream = Stream(stream.tests, False, f"pytest exited {result.returncode}, its report says {stream.exitstatus}")
    tests, seconds, seen = (stream.tests if stream.complete else ()), result.seconds, observed(result)
    if result.output_exceeded:
        return Score(ScoreStatus.output, tests, seconds, "stdout + stderr passed the sandbox's output limit", seen)
    if result.disk_exceeded:
        return Score(ScoreStatus.disk, tests, seconds, "the run's writes passed sandbox.disk_mb (a host dir it may "
                     "write, or a scratch tmpfs found full)", seen)
    hit = limit_hit(result)
    if hit and not (stream.complete and all(t.ok for t in stream.tests)):
        return Score(hit[0], tests, seconds, hit[1], seen)
    if result.timed_out:
        return Score(ScoreStatus.timeout, tests, seconds, f"suite exceeded {time_limit_s:g} s", seen)
    if stream.forged:
        return Score(ScoreStatus.tampered, (), seconds, stream.forged, seen)
    if not stream.complete:
        tail = (result.stdout + result.stderr)[-500:]
        return Score(ScoreStatus.no_report, (), seconds,
                     f"pytest exited {result.returncode} without finishing its report: {tail}", seen)
    return Score(ScoreStatus.scored, tests, seconds, f"passed every test, though {hit[1]}" if hit else "", seen)


def limit_hit(result: ExecResult) -> Optional[tuple[ScoreStatus, str]]:
    """The limit the sandbox saw the run hit, from the kernel's counts and the signals that ended its child."""
    events = result.events
    if events.oom_kills:
        return ScoreStatus.memory, f"the OOM killer ended {events.oom_kills} process(es) at sandbox.memory_mb"
    if events.forks_refused:
        return ScoreStatus.processes, f"{events.forks_refused} fork(s) refused at sandbox.processes"
    if result.returncode == -signal.SIGXFSZ:
        return ScoreStatus.disk, "killed by SIGXFSZ: a file reached sandbox.file_mb"
    return None


def observed(result: ExecResult) -> str:
    """The limits whose hits this run's sandbox could see (the record's list; what is missing was not counted)."""
    return ",".join(name for name, seen in (("memory", result.events.oom_kills is not None),
                                            ("processes", result.events.forks_refused is not None),
                                            ("disk", True), ("output", True)) if seen)


@dataclass(frozen=True)
class Stream:
    tests: tuple[TestResult, ...]
    complete: bool  # the stream ended with pytest's "end" event
    forged: str = ""  # why the stream cannot have come from our plugin alone; empty when it could
    exitstatus: int = -1  # pytest's exit code, as the end event reports it


def read_stream(text: str) -> Stream:
    """Per-test outcomes from the plugin's JSON lines, checked for the shape only our plugin writes."""
    tests: list[TestResult] = []
    seen: set[str] = set()
    lines = text.splitlines()
    for number, line in enumerate(lines):
        try:
            event = json.loads(line)
            kind = event["event"]
            if (kind == "start") != (number == 0):
                return Stream(tuple(tests), False, f"line {number + 1}: a second start or none first")
            if kind == "end":
                if number != len(lines) - 1 or event["tests"] != len(tests):
                    return Stream(tuple(tests), False, f"line {number + 1}: an end that does not close the stream")
                return Stream(tuple(tests), True, exitstatus=int(event["exitstatus"]))
            if kind == "test":
                if event["id"] in seen:
                    return Stream(tuple(tests), False, f"line {number + 1}: {event['id']} reported twice")
                seen.add(event["id"])
                tests.append(TestResult(event["id"], TestOutcome(event["outcome"]), float(event["seconds"]),
                                        str(event.get("crash", "")), str(event.get("clause", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            return Stream(tuple(tests), False, f"line {number + 1} is not a report event ({exc.__class__.__name__})")
    return Stream(tuple(tests), False)


# Modules pytest and our plugin import while the implementation is on sys.path: a file by one of these names
# in the implementation would run in their place.
RUNNER_MODULES = frozenset({"pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py", "conftest",
                            *(Path(name).stem for name in {**SUITE_ROOM_FILES, **IMPL_ROOM_FILES})})


def shadowing(impl_dir: Path, suite_dir: Path) -> str:
    """Why the implementation's top-level modules would shadow the suite's, the runner's or the stdlib's; or ''."""
    suite = {p.stem for p in suite_dir.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    reserved = suite | RUNNER_MODULES | set(sys.stdlib_module_names)
    for path in sorted(impl_dir.iterdir()):
        name = path.stem if path.suffix in (".py", ".pyc", ".so") else path.name if path.is_dir() else ""
        if name in reserved:
            owner = "the hidden suite" if name in suite else "the test runner" if name in RUNNER_MODULES else (
                "the standard library")
            return f"{path.name} would shadow the module {name!r} of {owner}; rename it"
    return ""
