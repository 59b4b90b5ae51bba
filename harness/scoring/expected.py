"""The tests a suite holds, and a scoring run counted against them when some of its modules did not import.

pytest reports a module that fails to import (`from semver import satisfies`, where the implementation has no
`satisfies`) as one collection error, not as the tests it holds. Counted that way, an implementation that lacks
one name would be judged on one "test" for a module of sixty, and the suite's size would depend on the code under
test. So the scorer runs every module that imports (`--continue-on-collection-errors`) and counts each test of a
module that did not as errored, with the import's error as its message: the suite's tests as pytest collects
them against the spec's own reference (`collect`), which imports every module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from harness.errors import SpecError
from harness.scoring.room_files import IMPL_ROOM_FILES, PYTEST_INI, SUITE_ROOM_FILES
from harness.seams import Score, ScoreStatus, TestOutcome, TestResult
from harness.specs.loading import Spec

UNCOLLECTED = "::<collection>"  # our plugin's id suffix for a module (or folder) that did not collect
NOT_RUN = "not run: its module did not import: "  # the message of a test counted for its module's import error


def collect(spec: Spec) -> list[dict]:
    """Every test of the spec's suite with its clause id, texts and description, as our plugin lists them.

    Collection imports our own suite; a suite that imports the implementation when it is collected (`from
    fizzbuzz import fizzbuzz`) reaches it through the implementation's room, as when it is scored, so the spec's
    own reference is served by our room server beside it. The reference is the spec's, not code under test: it
    runs unsandboxed, as the reference's own tests run it."""
    spec = dataclasses.replace(spec, root=spec.root.resolve())  # pytest runs in a folder of its own
    with tempfile.TemporaryDirectory(prefix="harness-clauses-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text(PYTEST_INI)
        for name, source in {**SUITE_ROOM_FILES, **IMPL_ROOM_FILES}.items():
            shutil.copy(source, work / name)
        door = work / "room.sock"
        room = subprocess.Popen([sys.executable, "-S", str(work / "harness_room_server.py"), str(door),
                                 str(spec.reference_dir), *(a for f in site.getsitepackages() for a in ("--site", f))],
                                cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            return _listed(spec, work, door)
        finally:
            room.kill()
            room.wait()


def _listed(spec: Spec, work: Path, door: Path) -> list[dict]:
    """pytest's collection of the suite in `work`, reaching the room on `door`, as our plugin lists it."""
    listing = work / "tests.json"
    argv = [sys.executable, "-m", "pytest", str(spec.suite_dir), "--collect-only", "-q", "-p", "no:cacheprovider",
            "-p", "harness_report", "-c", str(work / "pytest.ini"), "--rootdir", str(spec.suite_dir),
            "--harness-list", str(listing)]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_IMPL_DIR": str(spec.reference_dir),
           "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1", "HARNESS_ROOM": str(door)}
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not listing.exists():
        raise SpecError(f"spec '{spec.name}': its suite did not collect: {(done.stdout + done.stderr)[-500:]}")
    return json.loads(listing.read_text(encoding="utf-8"))


_collected: dict[tuple[str, str], list[dict]] = {}
_lock = threading.Lock()  # the sweep's pool scores trials from several threads: one collection per suite


def suite_tests(spec: Spec) -> list[dict]:
    """`collect(spec)`, once per suite (by its folder and sha256) in this process: paid only by a run that needs
    it, one with a module that did not import."""
    key = (str(spec.suite_dir), spec.suite_sha256)
    with _lock:
        if key not in _collected:
            _collected[key] = collect(spec)
        return _collected[key]


def count_uncollected(score: Score, spec: Spec) -> Score:
    """`score` with each module that did not import counted as its tests, each errored with the import's error.

    A test the run did not report is counted when its module (or a folder above it) reported a collection error;
    the tests are the suite's as collected against the reference, those of the text's selection only. Where the
    suite itself does not collect against its reference, the run's own report stands, and its detail says so."""
    failed = {t.test_id[:-len(UNCOLLECTED)]: t for t in score.tests if t.test_id.endswith(UNCOLLECTED)}
    if not failed or score.status is not ScoreStatus.scored:
        return score
    try:
        listed = suite_tests(spec)
    except SpecError as exc:
        return dataclasses.replace(score, detail=_joined(score.detail, f"modules that did not import are counted "
                                                         f"as one test each: {exc}"))
    reported = {t.test_id for t in score.tests}
    kept = [t for t in score.tests if not t.test_id.endswith(UNCOLLECTED)]
    counted = 0
    for test in listed:
        if test["id"] in reported or (spec.judged_by and not set(spec.judged_by) & set(test["texts"])):
            continue
        error = _error_for(test["id"], failed)
        if error is not None:
            kept.append(TestResult(test["id"], TestOutcome.errored, 0.0, NOT_RUN + error.message, test["clause"]))
            counted += 1
    kept += [t for prefix, t in failed.items() if not any(_holds(prefix, x["id"]) for x in listed)]
    note = (f"{len(failed)} suite module(s) did not import: their {counted} test(s) are counted as errored, "
            "with the import's error")
    return dataclasses.replace(score, tests=tuple(kept), detail=_joined(score.detail, note))


def _error_for(test_id: str, failed: dict[str, TestResult]) -> TestResult | None:
    """The collection error of the module holding `test_id`, or of a folder above it."""
    return next((error for prefix, error in failed.items() if _holds(prefix, test_id)), None)


def _holds(prefix: str, test_id: str) -> bool:
    """Whether the module or folder `prefix` ("" is the suite's root) holds the test `test_id`."""
    module = test_id.split("::")[0]
    return not prefix or module == prefix or module.startswith(prefix + ".")


def _joined(detail: str, note: str) -> str:
    return f"{detail}; {note}" if detail else note
