"""A suite module that does not import is counted as the tests it holds, not as one error, and the modules that
import still run: the suite's size does not depend on the code under test (harness/scoring/expected.py)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from harness.config.schema import SandboxConfig, SandboxKind
from harness.sandbox.backends import make_sandbox
from harness.scoring.expected import NOT_RUN, UNCOLLECTED, collect
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import ROOT, make_spec

MARKED_SUITE = '''
import pytest
import harness_room

adder = harness_room.import_module("adder")
mul = adder.mul  # a name the implementation may lack: then this module does not import

@pytest.mark.clause("mul.small", "paper", "ours")
def test_mul_small():
    assert mul(2, 3) == 6

@pytest.mark.clause("mul.zero", "paper", "ours")
def test_mul_zero():
    assert mul(0, 3) == 0

@pytest.mark.clause("mul.negative", "ours")
def test_mul_negative():
    assert mul(-2, 3) == -6
'''


@pytest.fixture(scope="module")
def sandbox():
    return make_sandbox(SandboxConfig(kind=SandboxKind.process))


@pytest.fixture(scope="module")
def semver():
    return load_spec(ROOT / "specs", "semver")


def test_a_module_that_does_not_import_counts_as_its_tests_and_the_rest_still_run(semver, sandbox, tmp_path):
    impl = tmp_path / "impl"
    shutil.copytree(semver.reference_dir, impl)
    source = impl / "semver.py"
    source.write_text(source.read_text().replace("def satisfies(", "def satisfies_renamed("))
    reference = score(semver, semver.reference_dir, sandbox)
    lacking = score(semver, impl, sandbox)
    assert lacking.status is ScoreStatus.scored
    assert [t.test_id for t in reference.tests] == [t["id"] for t in collect(semver)]
    assert sorted(t.test_id for t in lacking.tests) == sorted(t.test_id for t in reference.tests)  # 253, not 1
    failed = [t for t in lacking.tests if not t.ok]
    assert failed and {t.test_id.split("::")[0] for t in failed} == {"test_constraints"}
    assert all(t.outcome is TestOutcome.errored and t.message.startswith(NOT_RUN) and "'satisfies'" in t.message
               for t in failed)
    assert sum(t.ok for t in lacking.tests) == len(reference.tests) - len(failed) > 100  # the other modules ran
    assert f"did not import: their {len(failed)} test(s)" in lacking.detail


def test_code_that_does_not_import_at_all_fails_every_test_of_the_suite(semver, sandbox, tmp_path):
    (tmp_path / "semver.py").write_text("def parse(:\n")
    result = score(semver, tmp_path, sandbox)
    assert len(result.tests) == len(collect(semver)) and not any(t.ok for t in result.tests)
    assert not any(t.test_id.endswith(UNCOLLECTED) for t in result.tests)


@pytest.mark.parametrize("judged_by, counted", [((), 3), (("paper",), 2)])
def test_only_the_selected_tests_of_a_module_are_counted(tmp_path, sandbox, judged_by, counted):
    folder = make_spec(tmp_path, reference="def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b\n")
    (folder / "suite" / "test_mul.py").write_text(MARKED_SUITE)
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "adder.py").write_text("def add(a, b):\n    return a + b\n")  # no mul
    spec = dataclasses.replace(load_spec(tmp_path, "adder"), judged_by=judged_by)
    result = score(spec, tmp_path / "impl", sandbox)
    errored = sorted(t.test_id for t in result.tests if not t.ok)
    assert len(errored) == counted and all(t.startswith("test_mul::test_mul_") for t in errored)
    assert sum(t.ok for t in result.tests) == (3 if not judged_by else 0)  # test_adder's tests name no clause


def test_where_the_reference_does_not_collect_the_run_stands_and_says_why(tmp_path, sandbox):
    folder = make_spec(tmp_path)
    (folder / "suite" / "test_mul.py").write_text(MARKED_SUITE)  # the reference has no mul either
    result = score(load_spec(tmp_path, "adder"), folder / "reference", sandbox)
    assert [t.test_id for t in result.tests if not t.ok] == ["test_mul::<collection>"]
    assert "counted as one test each" in result.detail and "did not collect" in result.detail


def test_a_fail_fast_run_is_left_as_pytest_reported_it(semver, sandbox, tmp_path):
    (tmp_path / "semver.py").write_text("def parse(:\n")
    result = score(semver, tmp_path, sandbox, fail_fast=True)
    assert not result.passed and len(result.tests) < len(collect(semver))
