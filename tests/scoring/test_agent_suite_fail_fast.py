"""A fail-fast scoring of the agent suite (what `harness-killrate` runs per mutant) ends at its first failing test.

The suite starts every scenario at once and a test waits only for the runs it reads, so once pytest stops at a
failure the runs nobody will read are dropped: those not begun are not started, and agents still running are
killed. Here a suite of two tests scores a copy of the reference that hangs when its task says so: the first
test fails at once; the second would read a run that never ends. Before, the suite waited for every run, and
the hanging one held the whole scoring until the spec's time limit.
"""
from __future__ import annotations

import shutil

from harness.config.schema import SandboxConfig
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.seams import ScoreStatus
from harness.specs.loading import load_spec
from tests.conftest import ROOT

SPEC = "minimal-coding-agent"
REFERENCE = ROOT / "specs" / SPEC / "reference" / "agent.py"

SUITE = '''
from agentrun import run_agent
from clauses import paper
from scenarios import registry
from scripted_server import answer

SCENARIOS = {}
scenario = registry(SCENARIOS)


@scenario
def quick(ws):
    return run_agent(ws, [answer("done")], task="Finish.")


@scenario
def endless(ws):
    return run_agent(ws, [answer("done")], task="HANG", timeout=3600)


@paper("cli.final_answer.stdout")
def test_fails_first(runs):
    assert runs["quick"].returncode == 99, "failing on purpose"


@paper("cli.final_answer.stdout")
def test_reads_the_endless_run(runs):
    assert runs["endless"].returncode == 0
'''


def test_a_fail_fast_score_does_not_wait_for_runs_no_test_will_read(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / SPEC, specs / SPEC, ignore=shutil.ignore_patterns("__pycache__"))
    for module in (specs / SPEC / "suite").glob("test_*.py"):
        module.unlink()
    (specs / SPEC / "suite" / "test_fail_fast.py").write_text(SUITE)
    source = REFERENCE.read_text()
    assert source.count("import openai\n") == 1
    hang = 'import openai\nif sys.argv[-1] == "HANG":\n    time.sleep(3600)\n'
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "agent.py").write_text(source.replace("import openai\n", hang))
    spec = load_spec(specs, SPEC)
    result = score(spec, tmp_path / "impl", make_sandbox(SandboxConfig(warm=False)), fail_fast=True)
    # Waiting for the endless run would end in the spec's time limit (180 s), with no outcome kept.
    assert result.status is ScoreStatus.scored, result.detail
    got = {t.test_id.split("::")[-1]: (t.ok, t.message) for t in result.tests}
    assert list(got) == ["test_fails_first"], got  # pytest -x stopped there
    assert not got["test_fails_first"][0] and "failing on purpose" in got["test_fails_first"][1], got
