"""Spec §7: retries after 1, 2 and 4 s on connection errors, 429 and 5xx; other statuses fail at once.

Only `exhausted` waits through the whole back-off sequence; in `recoveries` each failure succeeds on its first
retry. Scenarios run concurrently with the rest of the suite, so these waits cost little wall time.
"""
from agentrun import new_key, run_agent
from scenarios import registry
from scripted_server import answer, call, drop, http_error, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)


@scenario
def recoveries(ws):
    # Three turns, each failing once first. With --max-turns 3 the run only succeeds if retries are not turns.
    steps = [http_error(500), tool_reply(call("list_files", {"pattern": "*"})),
             http_error(429, retry_after=30), tool_reply(call("list_files", {"pattern": "*"})),  # Retry-After ignored
             drop(), answer("Recovered.")]
    return run_agent(ws, steps, extra_args=["--max-turns", "3"])


@scenario
def key_rejected(ws):
    # Real servers quote the key they reject; the [error] line must not repeat it (spec §4).
    key = new_key()
    return run_agent(ws, [http_error(401, message=f"Incorrect API key provided: {key}"), answer("never sent")],
                     key=key)


@scenario
def exhausted(ws):
    return run_agent(ws, [http_error(503)] * 4 + [answer("never sent")])


def gaps(run):
    times = [r.time for r in run.requests]
    return [later - earlier for earlier, later in zip(times, times[1:])]


def assert_retried_once(run, failed):
    """Request `failed` failed; the next one must repeat it after the first back-off delay."""
    assert run.requests[failed + 1].body == run.requests[failed].body
    assert 0.9 <= gaps(run)[failed] < 10, gaps(run)


def test_recoveries_run_completes(runs):
    run = runs["recoveries"]
    assert run.returncode == 0, run.describe()
    assert run.stdout == "Recovered.\n" and len(run.requests) == 6


def test_http_500_retried(runs):
    assert_retried_once(runs["recoveries"], 0)


def test_http_429_retried_ignoring_retry_after(runs):
    assert_retried_once(runs["recoveries"], 2)


def test_dropped_connection_retried(runs):
    assert_retried_once(runs["recoveries"], 4)


def test_retries_do_not_count_as_turns(runs):
    run = runs["recoveries"]
    assert not run.lines("[warning] ") and run.returncode == 0, run.describe()


def test_other_http_errors_are_not_retried(runs):
    run = runs["key_rejected"]
    assert run.returncode == 1, run.describe()
    assert len(run.requests) == 1
    assert run.stdout == "" and run.lines("[error] ")


def test_key_quoted_by_server_is_redacted_in_error_line(runs):
    run = runs["key_rejected"]
    assert run.key not in run.stderr
    assert "[REDACTED]" in "\n".join(run.lines("[error] "))


def test_three_retries_with_growing_back_off_then_exit_1(runs):
    run = runs["exhausted"]
    assert run.returncode == 1, run.describe()
    assert len(run.requests) == 4
    assert run.stdout == "" and run.lines("[error] ")
    first, second, third = gaps(run)
    assert 0.9 <= first < 5 and 1.8 <= second < 6 and 3.6 <= third < 8, (first, second, third)
    assert first < second < third
