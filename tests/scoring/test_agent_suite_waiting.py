"""A scenario that waits (a back-off, a command's timeout) starts at once, not queued behind the busy runs.

The agent suite plays at most 8 runs at a time (an agent's start-up is CPU-bound); its back-off and timeout
scenarios spend seconds asleep, and queued behind the rest they ended a scoring run of the reference about 5 s
late (16 s against 11 s). Here eight busy runs of a copy of the reference hang until the suite ends, and the only
test reads a ninth, waiting run declared after them: queued, it would wait for a free slot until the spec's time
limit; started at once, it passes and the suite's end kills the hanging runs.
"""
from __future__ import annotations

from harness.seams import ScoreStatus
from tests.scoring.agent_suites import score_under_suite

SUITE = '''
from agentrun import MAX_PARALLEL_RUNS, run_agent
from clauses import paper
from scenarios import registry
from scripted_server import answer

SCENARIOS = {}
waiting = registry(SCENARIOS, waits=True)


def busy(ws):
    return run_agent(ws, [answer("done")], task="HANG", timeout=3600)


for number in range(MAX_PARALLEL_RUNS):
    SCENARIOS[f"busy{number}"] = busy


@waiting
def patient(ws):
    return run_agent(ws, [answer("done")], task="Finish.")


@paper("cli.final_answer.stdout")
def test_reads_the_waiting_run(runs):
    assert runs["patient"].returncode == 0 and runs["patient"].stdout.strip() == "done", runs["patient"].describe()
'''


def test_a_waiting_scenario_starts_beside_busy_runs_that_fill_every_slot(tmp_path):
    hang = 'import openai\nif sys.argv[-1] == "HANG":\n    time.sleep(3600)\n'
    result = score_under_suite(tmp_path, SUITE, "import openai\n", hang)
    assert result.status is ScoreStatus.scored, result.detail
    got = {t.test_id.split("::")[-1]: (t.ok, t.message) for t in result.tests}
    assert got == {"test_reads_the_waiting_run": (True, "")}, got
