"""Scoring: run a spec's hidden suite against an implementation, in the sandbox, and read per-test outcomes."""

from __future__ import annotations

import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from harness.seams import Sandbox
from harness.specs import Spec

# Our own pytest configuration, passed with -c, so files in the implementation cannot reconfigure the run.
PYTEST_INI = "[pytest]\naddopts =\njunit_family = xunit1\n"


class TestOutcome(str, Enum):
    __test__ = False  # not a pytest test class
    passed = "passed"
    failed = "failed"
    errored = "errored"
    skipped = "skipped"


class ScoreStatus(str, Enum):
    scored = "scored"  # the suite ran and wrote a readable report (whatever the pass rate)
    timeout = "timeout"  # the suite exceeded the spec's time limit
    no_report = "no_report"  # pytest ended without a readable report: counted as a failure, never a pass


@dataclass(frozen=True)
class TestResult:
    __test__ = False
    test_id: str
    outcome: TestOutcome
    seconds: float


@dataclass(frozen=True)
class Score:
    status: ScoreStatus
    tests: tuple[TestResult, ...]
    seconds: float
    detail: str = ""

    def count(self, outcome: TestOutcome) -> int:
        return sum(t.outcome is outcome for t in self.tests)


def score(spec: Spec, impl_dir: Path, sandbox: Sandbox, fail_fast: bool = False) -> Score:
    """Copy the implementation and the hidden suite to a fresh directory and run pytest there with a time limit.

    `fail_fast` stops at the first failing test (for mutation analysis, where one failure is enough)."""
    with tempfile.TemporaryDirectory(prefix="harness-score-") as tmp:
        work = Path(tmp)
        shutil.copytree(impl_dir, work / "impl", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(spec.suite_dir, work / "suite", ignore=shutil.ignore_patterns("__pycache__"))
        (work / "pytest.ini").write_text(PYTEST_INI)
        report = work / "report.xml"
        argv = [
            sys.executable, "-m", "pytest", str(work / "suite"), "-q", "-p", "no:cacheprovider",
            "-c", str(work / "pytest.ini"), "--rootdir", str(work / "suite"), f"--junitxml={report}",
        ] + (["-x"] if fail_fast else [])
        env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_IMPL_DIR": str(work / "impl")}
        # The suite and our pytest config are read-only to the code under test (under bwrap).
        result = sandbox.exec(argv, cwd=work, env=env, timeout_s=spec.time_limit_s,
                              read_only=[work / "suite", work / "pytest.ini"])
        if result.timed_out:
            return Score(ScoreStatus.timeout, (), result.seconds, f"suite exceeded {spec.time_limit_s:g} s")
        try:
            tests = parse_junit(report.read_text(encoding="utf-8"))
        except (OSError, ET.ParseError) as exc:
            tail = (result.stdout + result.stderr)[-500:]
            return Score(ScoreStatus.no_report, (), result.seconds, f"{exc.__class__.__name__}: {tail}")
        return Score(ScoreStatus.scored, tests, result.seconds)


def parse_junit(xml_text: str) -> tuple[TestResult, ...]:
    """Per-test outcomes from a pytest junit report; raises ParseError when the report is not junit XML."""
    root = ET.fromstring(xml_text)
    if root.tag not in ("testsuites", "testsuite"):
        raise ET.ParseError(f"unexpected root element <{root.tag}>")
    results = []
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        results.append(TestResult(test_id, _outcome(case), float(case.get("time") or 0.0)))
    return tuple(results)


def _outcome(case: ET.Element) -> TestOutcome:
    tags = {child.tag for child in case}
    if "error" in tags:
        return TestOutcome.errored
    if "failure" in tags:
        return TestOutcome.failed
    if "skipped" in tags:
        return TestOutcome.skipped
    return TestOutcome.passed
