"""Scoring: run a spec's hidden suite against an implementation, in the sandbox, and read per-test outcomes.

Two rooms, each its own sandboxed process: the implementation's room runs the code under test (our server,
harness/inside/harness_room_server.py) and sees the implementation and a shared scratch dir; the suite's room runs pytest and
sees the suite and the same scratch dir. The suite reaches the implementation only through the room's Unix
socket in that dir (harness/inside/harness_room.py): the code under test never runs in the process that judges it, and never
sees the hidden suite.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import secrets
import shutil
import site
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from harness.sandbox.copies import copy_tree
from harness.sandbox.removal import remove_tree
from harness.sandbox.walk import OWN_TREES
from harness.sandbox.warm import WarmLost
from harness.scoring import bytecode
from harness.scoring.expected import count_uncollected
from harness.scoring.judge import judge
from harness.scoring.room_files import IMPL_ROOM_FILES, PLUGIN, PYTEST_INI, SUITE_ROOM_FILES
from harness.seams import ExecResult, Sandbox, Score, ScoreStatus
from harness.specs.loading import Spec


def score(spec: Spec, impl_dir: Path, sandbox: Sandbox, fail_fast: bool = False) -> Score:
    """Run the hidden suite on the implementation, each in its own room in the sandbox, with a time limit.

    Outcomes come back over a pipe from our plugin (harness/inside/harness_report.py), not from a file the code under
    test could rewrite. Only the tests that judge the spec's text run (`spec.judged_by`, by clause tag).
    `fail_fast` stops at the first failing test (for mutation analysis)."""
    shadowed = shadowing(impl_dir, spec.suite_dir)
    if shadowed:
        return Score(ScoreStatus.tampered, (), 0.0, shadowed)
    try:
        result = _score(spec, impl_dir, sandbox, fail_fast, warm=True)
    except WarmLost:  # the suite's warm template died under it: that run's end was not seen, so run it again cold
        result = _score(spec, impl_dir, sandbox, fail_fast, warm=False)
    return result if fail_fast else count_uncollected(result, spec)


def _score(spec: Spec, impl_dir: Path, sandbox: Sandbox, fail_fast: bool, warm: bool) -> Score:
    # Where a warm template can see it, under bwrap (harness/sandbox/warm_root.py); else the system's temp dir.
    root = sandbox.scratch_root() if warm else None
    scratch = Path(tempfile.mkdtemp(prefix="harness-score-", dir=root))
    try:
        # One writable dir of the sandbox holds all the rooms see (a tmpfs capped at disk_mb, as root): the code's
        # writes, under either backend, never reach the host's disk, and its name says nothing of the trial.
        with sandbox.writable(scratch / "run") as wdir:
            work = lay_out(wdir.path, impl_dir, spec.suite_dir, SUITE_ROOM_FILES)
            result, served = _run_rooms(work, spec, sandbox, fail_fast, warm)
    finally:
        remove_tree(scratch)
    return _placeless(judge(_charged(result, served), spec.time_limit_s), work)


def _placeless(score: Score, work: Path) -> Score:
    """The score with the scoring run's own folder (a new name each run) named `<scoring dir>` in its messages,
    so a test that fails the same way in two runs says the same thing (a traceback quotes the implementation's
    path)."""
    folder = str(work)
    if not any(folder in t.message for t in score.tests):
        return score
    tests = tuple(dataclasses.replace(t, message=t.message.replace(folder, "<scoring dir>")) for t in score.tests)
    return dataclasses.replace(score, tests=tests)


def lay_out(work: Path, impl_dir: Path, suite_dir: Optional[Path], suite_files: dict[str, Path]) -> Path:
    """What the two rooms see, laid out in `work`: inert copies of the implementation and the suite, our files
    beside them (with their bytecode), and the shared dir. That dir and its `tmp` (the suite's tmp_path folders,
    each under a random name) are the harness's and sticky, so neither room (uid nobody, under bwrap as root)
    can rename them, and `tmp` cannot be listed: the implementation reaches a test's folder only by the path
    the suite hands it."""
    copy_tree(impl_dir, work / "impl", OWN_TREES)
    if suite_dir is not None:
        copy_tree(suite_dir, work / "suite", OWN_TREES)
    else:
        (work / "suite").mkdir()
    for name, source in {**suite_files, **IMPL_ROOM_FILES}.items():
        shutil.copy(source, work / name)
        compiled = Path(importlib.util.cache_from_source(str(work / name)))
        compiled.parent.mkdir(exist_ok=True)
        compiled.write_bytes(bytecode.unchecked(source, source.stat().st_mtime_ns))
    bytecode.lay_out_suite(work / "suite", plugins=tuple(p for p in [work / PLUGIN.name] if p.exists()))
    (work / "pytest.ini").write_text(PYTEST_INI)
    for folder, mode in ((work / "shared", 0o1777), (work / "shared" / "tmp", 0o1733)):
        folder.mkdir()
        folder.chmod(mode)
    return work


def _run_rooms(work: Path, spec: Spec, sandbox: Sandbox, fail_fast: bool,
               warm: bool) -> tuple[ExecResult, ExecResult]:
    """The implementation's room started, the suite run against it, the room stopped: both results. The suite's
    room, which runs only our code and the hidden suite, may be forked from a warm template (`warm`); the
    implementation's room always starts cold, so nothing of the code under test outlives its run (with `warm`,
    the programs it starts may be forked from a warm interpreter of its own, which ends with it)."""
    shared, door = work / "shared", work / "shared" / "room.sock"
    # Everything is read-only in both rooms under bwrap; the code's own writes land in a capped, discarded
    # tmpfs, or in the shared dir, which holds the room's socket and the suite's tmp_path folders.
    warm_imports = spec.warm_imports if warm and sandbox.warm is not None else ()  # sandbox.warm=false: all cold
    with sandbox.start(room_argv(work, door, sandbox, warm_imports), cwd=work, env={},
                       timeout_s=spec.time_limit_s + 5,
                       keep_writes=False, shared=[shared],
                       read_only=[work / "impl", work / "__pycache__", *(work / n for n in IMPL_ROOM_FILES)]) as room:
        result = sandbox.exec(_pytest_argv(work, spec, fail_fast), cwd=work, timeout_s=spec.time_limit_s,
                              env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_ROOM": str(door),
                                   "HARNESS_IMPL_DIR": str(work / "impl"), "PYTHONPATH": str(work),
                                   "HARNESS_SCRATCH": str(shared / "tmp")},
                              keep_writes=False, report=True, shared=[shared],
                              read_only=[work / "suite", work / "pytest.ini", work / "__pycache__",
                                         *(work / name for name in SUITE_ROOM_FILES)], warm=warm)
        served = room.stop()
    return result, served


def room_argv(work: Path, door: Path, sandbox: Sandbox, warm_imports: Sequence[str] = ()) -> list[str]:
    """The implementation's room: our server on `door`, serving the implementation in `work/impl`; its Python
    programs forked from a warm interpreter that imported `warm_imports` (harness/inside/harness_room_zygote.py)."""
    return [sys.executable, "-S", str(work / "harness_room_server.py"), str(door), str(work / "impl"),
            *(["--private-net"] if sandbox.isolates_network else []),
            *(arg for folder in site.getsitepackages() for arg in ("--site", folder)),
            *(arg for module in warm_imports for arg in ("--warm-import", module))]


# pytest's plugins a hidden suite never uses (no suite asks for caplog, tmpdir, recwarn's filters or junit XML),
# each of which costs every test hooks of its own; their loss changes no outcome and no message. `warnings`,
# `unraisableexception` and `threadexception` only turn what Python would print to stderr into pytest warnings
# (and the last two a garbage collection at the end of a run); `logging` keeps each test's log records for a
# report nobody reads. Our plugin's stream carries the outcomes, and the terminal's output stays as it was.
UNUSED_PLUGINS = ("cacheprovider", "logging", "warnings", "unraisableexception", "threadexception", "junitxml",
                  "doctest", "pastebin", "stepwise", "setuponly", "setupplan", "legacypath")


def _pytest_argv(work: Path, spec: Spec, fail_fast: bool) -> list[str]:
    # -s: output reaches the sandbox's capped pipes, where a flood is seen and stopped, not pytest's files.
    # --continue-on-collection-errors: the modules that import run when one does not (harness/scoring/expected.py
    # counts that one's tests).
    # --basetemp: pytest's temp folders (tmp_path_factory's) go to the shared dir, under a random name in its
    # `tmp`, which neither room can list; each test's tmp_path is our plugin's, beside it ($HARNESS_SCRATCH).
    return [
        sys.executable, "-m", "pytest", str(work / "suite"), "-q", "-s", "--tb=short",
        *(arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")), "-p", "harness_report",
        "-c", str(work / "pytest.ini"), "--rootdir", str(work / "suite"),
        "--continue-on-collection-errors", "--basetemp", str(work / "shared" / "tmp" / secrets.token_hex(16)),
    ] + (["-x"] if fail_fast else []) + (["--harness-select", ",".join(spec.judged_by)] if spec.judged_by else [])


def _charged(suite: ExecResult, room: ExecResult) -> ExecResult:
    """The suite's run, charged with what the implementation's room ran into: its flood, its disk, its errors."""
    return dataclasses.replace(suite, output_exceeded=suite.output_exceeded or room.output_exceeded,
                               disk_exceeded=suite.disk_exceeded or room.disk_exceeded,
                               stdout=suite.stdout + room.stdout, stderr=suite.stderr + room.stderr,
                               events=suite.events + room.events)


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
