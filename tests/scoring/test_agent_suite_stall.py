"""The agent suite's stall clock (agentrun.run_cases) starts at the agent's first request, never at its spawn.

Start-up is CPU-bound (the client library's imports): with many cold starts at once beside another trial on a
2-core machine, a correct agent took longer than a stall to send its first request and failed calls it never
saw. These tests score copies of the reference under a suite of one module that plays two calls with a 5 s
stall (1 s was too tight between two requests on a loaded CI machine): a reference that starts slowly must
pass, and one that hangs on a call must still be stopped there.
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
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / SPEC, specs / SPEC, ignore=shutil.ignore_patterns("__pycache__"))
    for module in (specs / SPEC / "suite").glob("test_*.py"):
        module.unlink()
    (specs / SPEC / "suite" / "test_stall.py").write_text(SUITE)
    source = REFERENCE.read_text()
    assert source.count(old) == 1
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "agent.py").write_text(source.replace(old, new))
    result = score(load_spec(specs, SPEC), tmp_path / "impl", make_sandbox(SandboxConfig(warm=False)))
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
