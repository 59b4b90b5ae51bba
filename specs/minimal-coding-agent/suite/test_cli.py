"""Spec §2-§3: options, their defaults, where the task comes from, stdout versus stderr, exit statuses."""
from agentrun import new_key, run_agent
from clauses import ours, paper
from scenarios import registry
from scripted_server import answer, call, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)


# A call to a tool the agent does not offer: answered with an ERROR: tool message, it makes a second turn
# without running any tool's code, so these runs test the command line and nothing of the tools.
PROBE = call("no_such_tool", {})


@scenario
def explicit_options(ws):
    # Every option given; a different key in the environment must lose to --api-key.
    steps = [tool_reply(PROBE), answer("All done.")]
    return run_agent(ws, steps, task="  Fix the bug in x.py  ", env={"OPENAI_API_KEY": new_key()})


@scenario
def option_defaults(ws):
    # --model and --api-key left out: gpt-4o and $OPENAI_API_KEY apply.
    key = new_key()
    return run_agent(ws, [answer("ok")], omit={"--model", "--api-key"}, env={"OPENAI_API_KEY": key}, key=key)


@scenario
def cwd_default(ws):
    # --cwd left out: tools work in the directory the agent was started in.
    ws.mkdir(parents=True)
    steps = [tool_reply(call("write_file", {"path": "made-here.txt", "content": "x"})), answer("ok")]
    return run_agent(ws, steps, omit={"--cwd"}, proc_cwd=ws)


@scenario
def stdin_task_null_answer(ws):
    return run_agent(ws, [answer(None)], task=None, stdin="\n  Rename foo to bar.\n\n")


@scenario
def default_base_url(ws):
    # No network: the scripted server acts as HTTPS proxy and sees which host the agent asks for, then the
    # agent is stopped (it would otherwise go through its whole retry back-off).
    def saw_connect(server):
        return any(r.method == "CONNECT" for r in server.requests)
    return run_agent(ws, [], omit={"--base-url"}, proxy=True, until=saw_connect, timeout=30)


@scenario
def empty_task(ws):
    return run_agent(ws, [answer("ok")], task=None, stdin="   \n")


@scenario
def no_key(ws):
    return run_agent(ws, [answer("ok")], omit={"--api-key"})


@scenario
def missing_cwd(ws):
    return run_agent(ws, [answer("ok")], omit={"--cwd"}, extra_args=["--cwd", str(ws / "does-not-exist")])


@scenario
def zero_max_turns(ws):
    return run_agent(ws, [answer("ok")], extra_args=["--max-turns", "0"])


@paper("cli.final_answer.stdout")
def test_final_answer_on_stdout_and_exit_0(runs):
    run = runs["explicit_options"]
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == "All done."


@ours("cli.final_answer.exact")
def test_final_answer_alone_on_stdout(runs):
    run = runs["explicit_options"]
    assert run.stdout == "All done.\n", run.describe()


@ours("cli.final_answer.null")
def test_null_final_content_prints_just_a_newline(runs):
    run = runs["stdin_task_null_answer"]
    assert run.stdout == "\n", run.describe()


@paper("cli.task.positional")
def test_positional_task_is_the_user_message(runs):
    user = runs["explicit_options"].requests[0].messages[1]
    assert user["role"] == "user" and user["content"].strip() == "Fix the bug in x.py"


@ours("cli.task.verbatim")
def test_positional_task_is_the_user_message_verbatim(runs):
    run = runs["explicit_options"]
    assert run.requests[0].messages[1] == {"role": "user", "content": "  Fix the bug in x.py  "}


@paper("cli.task.stdin")
def test_task_read_from_stdin(runs):
    user = runs["stdin_task_null_answer"].requests[0].messages[1]
    assert user["role"] == "user" and user["content"].strip() == "Rename foo to bar."


@ours("cli.task.stdin_stripped")
def test_task_read_from_stdin_is_stripped(runs):
    run = runs["stdin_task_null_answer"]
    assert run.requests[0].messages[1] == {"role": "user", "content": "Rename foo to bar."}


@ours("cli.usage_errors")
def test_empty_task_is_a_usage_error(runs):
    run = runs["empty_task"]
    assert run.returncode == 2, run.describe()
    assert run.requests == [] and run.stdout == "" and run.stderr.strip()


@paper("cli.model.option")
def test_model_option_is_sent(runs):
    assert [r.body["model"] for r in runs["explicit_options"].requests] == ["scripted", "scripted"]


@paper("cli.model.default")
def test_model_defaults_to_gpt_4o(runs):
    run = runs["option_defaults"]
    assert run.requests, run.describe()
    assert run.requests[0].body["model"] == "gpt-4o"


@paper("api.request")
def test_requests_post_to_base_url_chat_completions(runs):
    request = runs["explicit_options"].server.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")


@paper("api.request")
def test_requests_are_not_streamed(runs):
    assert runs["explicit_options"].requests[0].body.get("stream") in (None, False)


@paper("cli.api_key.option")
def test_api_key_option_sent_as_bearer_header_over_environment(runs):
    run = runs["explicit_options"]
    assert run.requests[0].headers["authorization"] == f"Bearer {run.key}"


@paper("cli.api_key.default")
def test_api_key_defaults_to_environment(runs):
    run = runs["option_defaults"]
    assert run.requests, run.describe()
    assert run.requests[0].headers["authorization"] == f"Bearer {run.key}"


@ours("cli.usage_errors")
def test_missing_api_key_is_a_usage_error(runs):
    run = runs["no_key"]
    assert run.returncode == 2, run.describe()
    assert run.requests == [] and run.stderr.strip()


@paper("cli.base_url.default")
def test_base_url_defaults_to_openai(runs):
    connects = [r for r in runs["default_base_url"].server.requests if r.method == "CONNECT"]
    assert connects, runs["default_base_url"].describe()
    assert connects[0].path == "api.openai.com:443"


@paper("cli.cwd.default")
def test_cwd_defaults_to_the_process_directory(runs):
    run = runs["cwd_default"]
    assert (run.workspace / "made-here.txt").read_text() == "x"


@ours("cli.usage_errors")
def test_missing_cwd_is_a_usage_error(runs):
    run = runs["missing_cwd"]
    assert run.returncode == 2, run.describe()
    assert run.requests == []


@ours("cli.usage_errors")
def test_max_turns_below_one_is_a_usage_error(runs):
    run = runs["zero_max_turns"]
    assert run.returncode == 2, run.describe()
    assert run.requests == []
