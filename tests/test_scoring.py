"""The scorer with real pytest subprocesses on a tiny spec, and on every shipped spec's reference."""

from __future__ import annotations

import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from harness.sandbox import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring import ScoreStatus, TestOutcome, parse_junit, score
from harness.specs import load_spec
from tests.conftest import ROOT, make_spec


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


def test_wrong_implementation_fails_the_tests_it_breaks(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "def add(a, b):\n    return a - b\n"),
                   ProcessSandbox())
    outcomes = {t.test_id.split("::")[1]: t.outcome for t in result.tests}
    assert outcomes == {"test_small": TestOutcome.failed, "test_negative": TestOutcome.failed,
                        "test_zero": TestOutcome.passed}


def test_import_error_is_an_errored_suite_not_a_pass(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "raise ImportError('no')\n"), ProcessSandbox())
    assert result.status is ScoreStatus.scored
    assert result.tests and all(t.outcome is TestOutcome.errored for t in result.tests)


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


def test_a_dead_pytest_is_no_report_never_a_pass(tiny_specs, tmp_path):
    result = score(load_spec(tiny_specs, "adder"), impl(tmp_path, "import os\nos._exit(0)\n"), ProcessSandbox())
    assert result.status is ScoreStatus.no_report and result.tests == ()


def test_parse_junit_rejects_what_is_not_a_report():
    with pytest.raises(ET.ParseError):
        parse_junit("<html><body>hi</body></html>")
    with pytest.raises(ET.ParseError):
        parse_junit("not xml")


BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "specs").glob("*/manifest.yaml")))
def test_every_shipped_reference_passes_its_suite(name, backend):
    spec = load_spec(ROOT / "specs", name)
    result = score(spec, spec.reference_dir, backend())
    failed = [t.test_id for t in result.tests if t.outcome is not TestOutcome.passed]
    assert result.status is ScoreStatus.scored and len(result.tests) >= 15 and not failed, (result.detail, failed)
