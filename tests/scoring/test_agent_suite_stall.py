"""The agent suite's stall clock (agentrun.run_cases) starts at the agent's first request, never at its spawn.

Start-up is CPU-bound (the client library's imports): with many cold starts at once beside another trial on a
2-core machine, a correct agent took longer than a stall to send its first request and failed calls it never
saw. These tests score copies of the reference under a suite of one module that plays two calls with a 5 s
stall (1 s was too tight between two requests on a loaded CI machine): a reference that starts slowly must
pass, and one that hangs on a call must still be stopped there.
"""
from __future__ import annotations

from harness.seams import ScoreStatus
from tests.scoring.agent_suites import score_under_suite

SUITE = '''
from agentrun import run_cases
from clauses import paper
from scripted_server import call

CALLS = [call("read_file", {"path": "poem.txt"}, id="first"), call("read_file", {"path": "poem.txt"}, id="second")]


@paper("tools.read_file.lines")
def test_both_calls_answered(tmp_path):
    (tmp_path / "poem.txt").write_text("one\\n")
    played = run_cases(tmp_path, CALLS, stall_s=5)
    assert played.result("first") == "one\\n" and played.result("second") == "one\\n"
    assert played.completed, played.describe()
'''


def scored(tmp_path, old: str, new: str) -> dict[str, tuple]:
    result = score_under_suite(tmp_path, SUITE, old, new)
    assert result.status is ScoreStatus.scored, result.detail
    return {t.test_id.split("::")[-1]: (t.ok, t.message) for t in result.tests}


def test_a_slow_start_is_not_a_stall(tmp_path):
    got = scored(tmp_path, "import openai\n", "import openai\ntime.sleep(8)  # start-up past the stall\n")
    assert got["test_both_calls_answered"][0], got


def test_a_call_that_keeps_the_agent_busy_is_still_a_stall(tmp_path):
    hang = "    def read_file(self, path, start_line=None, end_line=None):\n"
    got = scored(tmp_path, hang, hang + "        time.sleep(60)\n")
    ok, message = got["test_both_calls_answered"]
    assert not ok and "the agent got no further than this call (read_file" in message and "stall" in message, got
