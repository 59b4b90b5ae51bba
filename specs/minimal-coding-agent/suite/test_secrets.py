"""Spec §4: the API key is never printed nor returned by a tool; it is replaced by [REDACTED].

Every run in the suite also checks that its key is absent from stdout and stderr (agentrun.run_agent), and
test_retries.py checks error lines that quote the key.
"""
import json

from agentrun import new_key, run_agent
from scenarios import make_files, registry
from scripted_server import answer, call, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)


@scenario
def key_in_tool_output(ws):
    # The key comes from the environment, so commands the agent runs can read it too.
    key = new_key()
    make_files(ws, {"config.env": f"API_KEY={key}\n"})
    steps = [tool_reply(call("run_shell", {"command": f"echo {key}"}, id="echo"),
                        call("run_shell", {"command": "echo $OPENAI_API_KEY"}, id="env"),
                        call("read_file", {"path": "config.env"}, id="read")),
             answer(f"The key is {key}.")]
    return run_agent(ws, steps, key=key, omit={"--api-key"}, env={"OPENAI_API_KEY": key})


def test_key_never_printed(runs):
    run = runs["key_in_tool_output"]
    assert run.returncode == 0, run.describe()
    assert run.key not in run.stdout + run.stderr


def test_key_redacted_in_final_answer(runs):
    assert runs["key_in_tool_output"].stdout == "The key is [REDACTED].\n"


def test_key_redacted_in_tool_results(runs):
    run = runs["key_in_tool_output"]
    assert json.loads(run.result("echo"))["stdout"] == "[REDACTED]\n"
    assert json.loads(run.result("env"))["stdout"] == "[REDACTED]\n"
    assert run.result("read") == "API_KEY=[REDACTED]\n"


def test_key_redacted_in_progress_lines(runs):
    run = runs["key_in_tool_output"]
    assert "[REDACTED]" in run.lines("[tool] run_shell")[0]
    assert "[REDACTED]" in run.lines("[result] ")[0]
