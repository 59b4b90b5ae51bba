"""Spec §7 (paper: Error Handling): API errors are retried after 1, 2 and 4 s, then the run gives up with exit 1.

Each kind of failure has its own run, so an agent that mishandles one of them fails only that one's tests. Only
`exhausted` waits through the whole back-off sequence; the other runs fail once and then succeed. Runs are
played concurrently with the rest of the suite, so these waits cost little wall time.
"""
from agentrun import new_key, run_agent
from clauses import ours, paper
from scenarios import registry
from scripted_server import answer, call, drop, http_error, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)
waiting = registry(SCENARIOS, waits=True)  # each waits through at least one back-off


@waiting
def retry_500(ws):
    return run_agent(ws, [http_error(500), answer("Recovered.")])


@waiting
def retry_429(ws):
    return run_agent(ws, [http_error(429), answer("Recovered.")])


@waiting
def retry_429_retry_after(ws):
    return run_agent(ws, [http_error(429, retry_after=30), answer("Recovered.")], stall_s=20)


@waiting
def retry_drop(ws):
    return run_agent(ws, [drop(), answer("Recovered.")])


@waiting
def retries_within_turns(ws):
    # Three turns, each failing once first. With --max-turns 3 the run only succeeds if retries are not turns.
    def probe():  # answered with an ERROR: message, so no tool's code runs (see test_loop.py)
        return tool_reply(call("no_such_tool", {}))
    steps = [http_error(500), probe(), http_error(503), probe(), drop(), answer("Recovered.")]
    return run_agent(ws, steps, extra_args=["--max-turns", "3"])


@scenario
def key_rejected(ws):
    # Real servers quote the key they reject; the [error] line must not repeat it (spec §4).
    key = new_key()
    return run_agent(ws, [http_error(401, message=f"Incorrect API key provided: {key}")] * 4 + [answer("never")],
                     key=key)


@waiting
def exhausted(ws):
    return run_agent(ws, [http_error(503)] * 4 + [answer("never sent")])


def gaps(run):
    times = [r.time for r in run.requests]
    return [later - earlier for earlier, later in zip(times, times[1:])]


def assert_retried_once(run):
    """The first request failed; the second must repeat it, and no third is needed. (How long the agent waits
    is api.retry.backoff's business, so a wrong delay fails that clause only.)"""
    assert len(run.requests) == 2, run.describe()
    assert run.requests[1].body == run.requests[0].body


@paper("api.retry.server_error")
def test_http_500_retried(runs):
    assert_retried_once(runs["retry_500"])


@paper("api.retry.rate_limit")
def test_http_429_retried(runs):
    assert_retried_once(runs["retry_429"])


@ours("api.retry.rate_limit_ignores_retry_after")
def test_http_429_retried_ignoring_retry_after(runs):
    run = runs["retry_429_retry_after"]
    assert_retried_once(run)
    assert gaps(run)[0] < 5, gaps(run)


@paper("api.retry.connection")
def test_dropped_connection_retried(runs):
    assert_retried_once(runs["retry_drop"])


@paper("api.retry.not_a_turn")
def test_retries_do_not_count_as_turns(runs):
    run = runs["retries_within_turns"]
    assert len(run.requests) == 6, run.describe()


@paper("api.retry.gives_up")
def test_unrecoverable_api_error_exits_1(runs):
    run = runs["key_rejected"]
    assert run.returncode == 1, run.describe()
    assert 1 <= len(run.requests) <= 4 and run.stdout.strip() != "never"


@ours("api.retry.client_errors_not_retried")
def test_other_http_errors_are_not_retried(runs):
    run = runs["key_rejected"]
    assert len(run.requests) == 1, run.describe()


@ours("secrets.redacted")
def test_key_quoted_by_server_is_redacted_in_error_line(runs):
    run = runs["key_rejected"]
    assert run.key not in run.stderr
    assert "[REDACTED]" in "\n".join(run.lines("[error] "))


@paper("api.retry.backoff")
def test_three_retries_with_growing_back_off_then_exit_1(runs):
    run = runs["exhausted"]
    assert len(run.requests) == 4, run.describe()
    first, second, third = gaps(run)
    assert 0.9 <= first < 5 and 1.8 <= second < 6 and 3.6 <= third < 8, (first, second, third)


@ours("api.retry.error_line")
def test_giving_up_prints_an_error_line_only(runs):
    run = runs["exhausted"]
    assert run.stdout == "" and run.lines("[error] "), run.describe()
