"""Spec §4 (paper: Security Considerations): the API key is never printed; ours adds [REDACTED] everywhere.

The paper says only that keys are never logged: the agent's own output (progress, warnings, errors) must not
carry its key. Our restatement also redacts the key where a tool or the model brings it back, and from error
text a server quotes.
"""
import json

from agentrun import CaseRun, new_key, run_cases
from clauses import ours, paper
from scenarios import make_files, registry
from scripted_server import call

SCENARIOS = {}
scenario = registry(SCENARIOS)

# Runs in which the key reaches the agent's output only through text the model, a tool or the server supplies.
KEY_ECHOED_BY_OTHERS = {"key_in_tool_output", "key_rejected"}


@scenario
def key_in_tool_output(ws):
    # The key comes from the environment, so commands the agent runs can read it too. One call per turn: a tool
    # that crashes the agent costs only its own case (agentrun.run_cases).
    key = new_key()
    make_files(ws, {"config.env": f"API_KEY={key}\n"})
    calls = [call("run_shell", {"command": f"echo {key}"}, id="echo"),
             call("run_shell", {"command": "echo $OPENAI_API_KEY"}, id="env"),
             call("read_file", {"path": "config.env"}, id="read")]
    return run_cases(ws, calls, final=f"The key is {key}.", key=key, omit={"--api-key"},
                     env={"OPENAI_API_KEY": key})


def every_run(runs):
    for name in runs:
        try:
            found = runs[name]
        except AssertionError:
            continue  # a scenario that failed to run is reported by its own tests
        for run in (found.runs if isinstance(found, CaseRun) else [found]):
            yield name, run


@paper("secrets.never_logged")
def test_key_never_in_the_agents_own_output(runs):
    leaks = [name for name, run in every_run(runs) if name not in KEY_ECHOED_BY_OTHERS
             and run.key in run.stdout + run.stderr]
    assert not leaks, f"the API key was printed in runs {sorted(set(leaks))}"


@ours("secrets.redacted")
def test_key_never_printed_even_when_echoed(runs):
    leaks = [name for name, run in every_run(runs) if run.key in run.stdout + run.stderr]
    assert not leaks, f"the API key was printed in runs {sorted(set(leaks))}"


@ours("secrets.redacted")
def test_key_redacted_in_final_answer(runs):
    assert runs["key_in_tool_output"].stdout.strip() == "The key is [REDACTED]."


@ours("secrets.redacted")
def test_key_redacted_in_tool_results(runs):
    run = runs["key_in_tool_output"]
    assert json.loads(run.result("echo"))["stdout"] == "[REDACTED]\n"
    assert json.loads(run.result("env"))["stdout"] == "[REDACTED]\n"
    assert run.result("read") == "API_KEY=[REDACTED]\n"


@ours("secrets.redacted")
def test_key_redacted_in_progress_lines(runs):
    run = runs["key_in_tool_output"]
    assert "[REDACTED]" in run.lines("[tool] run_shell")[0]
    assert "[REDACTED]" in run.lines("[result] ")[0]
