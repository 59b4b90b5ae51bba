"""A fail-fast scoring of the agent suite (what `harness-killrate` runs per mutant) ends at its first failing test.

The suite starts every scenario at once and a test waits only for the runs it reads, so once pytest stops at a
failure the runs nobody will read are dropped: those not begun are not started, and agents still running are
killed. Here a suite of two tests scores a copy of the reference that hangs when its task says so: the first
test fails at once; the second would read a run that never ends. Before, the suite waited for every run, and
the hanging one held the whole scoring until the spec's time limit.
"""
from __future__ import annotations

from harness.seams import ScoreStatus
from tests.scoring.agent_suites import score_under_suite

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
    hang = 'import openai\nif sys.argv[-1] == "HANG":\n    time.sleep(3600)\n'
    result = score_under_suite(tmp_path, SUITE, "import openai\n", hang, fail_fast=True)
    # Waiting for the endless run would end in the spec's time limit (180 s), with no outcome kept.
    assert result.status is ScoreStatus.scored, result.detail
    got = {t.test_id.split("::")[-1]: (t.ok, t.message) for t in result.tests}
    assert list(got) == ["test_fails_first"], got  # pytest -x stopped there
    assert not got["test_fails_first"][0] and "failing on purpose" in got["test_fails_first"][1], got
