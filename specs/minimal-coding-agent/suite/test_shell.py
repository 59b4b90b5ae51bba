"""Spec §6 run_shell: bash in --cwd, the JSON result, the 10 000-character caps, timeouts, empty stdin.

Calls are played one per turn (agentrun.run_cases), so the time a call took is the gap between the request
that asked for it and the one that carried its result.
"""
import json
import os
import re

from agentrun import run_cases
from clauses import ours, paper
from scenarios import make_files, registry
from scripted_server import call

SCENARIOS = {}
waiting = registry(SCENARIOS, waits=True)  # its calls sleep and time out for seconds


def repeat_a(count, stream=""):
    """A command printing `count` characters 'a' (no newline), to stderr if stream is '>&2'."""
    return f"head -c {count} /dev/zero | tr '\\0' a {stream}"


SHELL_CASES = {  # id -> arguments
    "echo": {"command": "echo hello"},
    "streams_and_status": {"command": "echo out; echo err >&2; exit 3"},
    "cwd_file": {"command": "cat marker.txt"},
    "pwd": {"command": "pwd"},
    "is_bash": {"command": "[[ -n $BASH_VERSION ]] && echo bash"},
    "stdin_empty": {"command": "cat; echo end", "timeout": 5},
    "environment": {"command": "echo $SUITE_MARKER"},
    "exactly_cap": {"command": repeat_a(10_000)},
    "one_over_cap": {"command": repeat_a(10_001)},
    "far_over_cap": {"command": repeat_a(30_000)},
    "stderr_cap": {"command": repeat_a(12_000, ">&2")},
    "invalid_utf8": {"command": "printf 'a\\377b'"},
    "timeout": {"command": "sleep 30; echo late", "timeout": 1},
    "default_timeout": {"command": "sleep 2; echo slept"},
    "missing_command": {"timeout": 5},
    "string_timeout": {"command": "touch ran.txt", "timeout": "5"},
}


@waiting
def shell(ws):
    make_files(ws, {"marker.txt": "in the workspace\n"})
    calls = [call("run_shell", args, id=case) for case, args in SHELL_CASES.items()]
    # stdin held open: a command that inherited the agent's stdin would block in `cat` until its timeout.
    return run_cases(ws, calls, hold_stdin_open=True, env={"SUITE_MARKER": "marker-value"})


def shell_result(runs, case):
    return json.loads(runs["shell"].result(case))


def longest_run_of_a(text):
    return max((len(m) for m in re.findall("a+", text)), default=0)


@paper("tools.run_shell.result")
def test_result_is_json_with_exactly_three_keys(runs):
    assert shell_result(runs, "echo") == {"stdout": "hello\n", "stderr": "", "exit_code": 0}


@paper("tools.run_shell.result")
def test_stderr_and_exit_status_reported(runs):
    assert shell_result(runs, "streams_and_status") == {"stdout": "out\n", "stderr": "err\n", "exit_code": 3}


@paper("tools.run_shell.cwd")
def test_runs_in_cwd(runs):
    assert shell_result(runs, "cwd_file")["stdout"] == "in the workspace\n"
    reported = shell_result(runs, "pwd")["stdout"].strip()
    assert os.path.realpath(reported) == os.path.realpath(runs["shell"].workspace)


@paper("tools.run_shell.bash")
def test_runs_under_bash(runs):
    assert shell_result(runs, "is_bash")["stdout"] == "bash\n"


@ours("tools.run_shell.stdin")
def test_stdin_is_empty(runs):
    assert shell_result(runs, "stdin_empty") == {"stdout": "end\n", "stderr": "", "exit_code": 0}


@ours("tools.run_shell.environment")
def test_inherits_environment(runs):
    assert shell_result(runs, "environment")["stdout"] == "marker-value\n"


@paper("tools.run_shell.cap")
def test_output_of_exactly_10000_characters_is_not_truncated(runs):
    assert shell_result(runs, "exactly_cap")["stdout"] == "a" * 10_000


@paper("tools.run_shell.cap")
def test_output_past_10000_characters_is_cut_with_a_notice(runs):
    for case, stream in (("one_over_cap", "stdout"), ("far_over_cap", "stdout"), ("stderr_cap", "stderr")):
        text = shell_result(runs, case)[stream]
        assert longest_run_of_a(text) == 10_000 and text != "a" * 10_000, (case, text[-200:])


@ours("tools.run_shell.cap_notice")
def test_truncation_notice_counts_dropped_characters(runs):
    assert shell_result(runs, "one_over_cap")["stdout"] == "a" * 10_000 + "\n[truncated: 1 more characters]"
    assert shell_result(runs, "far_over_cap")["stdout"] == "a" * 10_000 + "\n[truncated: 20000 more characters]"


@ours("tools.run_shell.cap_notice")
def test_stderr_capped_separately(runs):
    result = shell_result(runs, "stderr_cap")
    assert result["stdout"] == ""
    assert result["stderr"] == "a" * 10_000 + "\n[truncated: 2000 more characters]"


@ours("tools.run_shell.invalid_utf8")
def test_invalid_utf8_output_replaced(runs):
    assert shell_result(runs, "invalid_utf8")["stdout"] == "a\ufffdb"


@paper("tools.run_shell.timeout")
def test_timeout_stops_the_command(runs):
    run = runs["shell"]
    # `sleep 30` is a child of bash: if only bash were killed, the agent would wait for it to finish.
    sent, answered = run.request_after("timeout")
    assert answered - sent < 10, f"the call took {answered - sent:.1f} s with timeout 1"
    assert "late" not in run.result("timeout")


@ours("tools.run_shell.timeout_error")
def test_timeout_reports_an_error(runs):
    assert runs["shell"].result("timeout") == "ERROR: command timed out after 1 seconds"


@paper("tools.run_shell.timeout")
def test_default_timeout_allows_a_few_seconds(runs):
    assert shell_result(runs, "default_timeout")["stdout"] == "slept\n"


@paper("tools.arguments.missing")
def test_missing_command_runs_nothing(runs):
    assert runs["shell"].result("missing_command").startswith("ERROR:")


@ours("tools.arguments.missing_named")
def test_missing_command_is_named(runs):
    assert "command" in runs["shell"].result("missing_command")


@ours("tools.arguments.types")
def test_string_timeout_runs_nothing(runs):
    run = runs["shell"]
    assert run.result("string_timeout").startswith("ERROR:")
    assert not (run.workspace / "ran.txt").exists()
