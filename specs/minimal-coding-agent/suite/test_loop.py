"""Spec §3, §5, §6: the conversation the agent builds, tool definitions, turn limit, progress lines."""
from agentrun import run_agent
from scenarios import make_files, registry
from scripted_server import answer, call, http_error, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)

EXPECTED_TOOLS = [  # name, {property: JSON type}, required
    ("read_file", {"path": "string", "start_line": "integer", "end_line": "integer"}, ["path"]),
    ("write_file", {"path": "string", "content": "string"}, ["path", "content"]),
    ("run_shell", {"command": "string", "timeout": "integer"}, ["command"]),
    ("list_files", {"pattern": "string"}, ["pattern"]),
    ("search_text", {"pattern": "string", "glob": "string"}, ["pattern"]),
]
WRITE = call("write_file", {"path": "notes.txt", "content": "first line\n"}, id="call_write")
READ = call("read_file", {"path": "notes.txt"}, id="call_read")
LIST = call("list_files", {"pattern": "no*"}, id="call_list")


def forever(index):
    """Fallback step: the model never stops calling tools.

    No test allows a 21st request; answering one with an error ends a runaway agent quickly."""
    if index >= 20:
        return http_error(400, message="more requests than any test allows")
    return tool_reply(call("list_files", {"pattern": "*"}))


LONG_ARGUMENTS = '{"path": "long.txt", "end_line": 3, "padding": "' + "p" * 300 + '"}'
LONG_READ = call("read_file", raw=LONG_ARGUMENTS, id="call_long")


@scenario
def conversation(ws):
    make_files(ws, {"long.txt": "line1\nline2\n" + "x" * 500})
    steps = [tool_reply(WRITE, READ, content="Writing, then reading back."), tool_reply(LIST, LONG_READ),
             answer("Finished.")]
    return run_agent(ws, steps, task="Make notes.")


@scenario
def default_max_turns(ws):
    return run_agent(ws, [], fallback=forever)


@scenario
def three_max_turns(ws):
    steps = [tool_reply(call("list_files", {"pattern": "*"})), tool_reply(call("list_files", {"pattern": "*"})),
             tool_reply(call("write_file", {"path": "last.txt", "content": "written in turn 3"}))]
    return run_agent(ws, steps, fallback=forever, extra_args=["--max-turns", "3"])


@scenario
def finish_reasons(ws):
    steps = [answer("Partial", finish_reason="length"),
             tool_reply(call("write_file", {"path": "s.txt", "content": "s"}, id="call_s"), finish_reason="stop"),
             answer("Complete.")]
    return run_agent(ws, steps)


# ---------------------------------------------------------------- conversation structure

def test_conversation_completes(runs):
    run = runs["conversation"]
    assert run.returncode == 0, run.describe()
    assert run.stdout == "Finished.\n"
    assert len(run.requests) == 3


def test_first_request_has_system_then_task(runs):
    system, user = runs["conversation"].requests[0].messages
    assert system["role"] == "system" and isinstance(system["content"], str) and system["content"].strip()
    assert user == {"role": "user", "content": "Make notes."}


def test_tool_definitions_offered_in_every_request(runs):
    for request in runs["conversation"].requests:
        tools = request.body["tools"]
        assert [t["function"]["name"] for t in tools] == [name for name, _, _ in EXPECTED_TOOLS]
        for tool, (name, properties, required) in zip(tools, EXPECTED_TOOLS):
            assert tool["type"] == "function"
            function = tool["function"]
            assert isinstance(function["description"], str) and function["description"].strip(), name
            parameters = function["parameters"]
            assert parameters["type"] == "object", name
            assert {k: v["type"] for k, v in parameters["properties"].items()} == properties, name
            assert sorted(parameters["required"]) == sorted(required), name


def test_assistant_message_appended_with_tool_calls_as_received(runs):
    messages = runs["conversation"].requests[1].messages
    assert messages[:2] == runs["conversation"].requests[0].messages
    assistant = messages[2]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == "Writing, then reading back."
    sent = [{"id": c["id"], "type": c["type"], "function": c["function"]} for c in assistant["tool_calls"]]
    assert sent == [WRITE, READ]


def test_tool_messages_follow_in_call_order_with_ids(runs):
    messages = runs["conversation"].requests[1].messages
    assert len(messages) == 5
    assert [(m["role"], m["tool_call_id"]) for m in messages[3:]] == [("tool", "call_write"), ("tool", "call_read")]
    assert messages[3]["content"] == "OK"


def test_tool_calls_of_one_reply_run_in_order(runs):
    assert runs["conversation"].result("call_read") == "first line\n"


def test_conversation_grows_by_appending(runs):
    second, third = runs["conversation"].requests[1:3]
    assert third.messages[:5] == second.messages
    assert [m["role"] for m in third.messages[5:]] == ["assistant", "tool", "tool"]
    assert third.messages[6] == {"role": "tool", "tool_call_id": "call_list", "content": "notes.txt"}


def test_assistant_without_tool_calls_has_no_tool_calls_key(runs):
    run = runs["finish_reasons"]
    assistant = run.requests[1].messages[2]
    assert assistant["role"] == "assistant" and assistant["content"] == "Partial"
    assert "tool_calls" not in assistant


# ---------------------------------------------------------------- finish reasons and the turn limit

def test_no_tool_calls_but_length_leads_to_another_turn(runs):
    run = runs["finish_reasons"]
    assert run.returncode == 0, run.describe()
    assert len(run.requests) == 3 and run.stdout == "Complete.\n"


def test_tool_calls_run_even_when_finish_reason_is_stop(runs):
    run = runs["finish_reasons"]
    assert (run.workspace / "s.txt").read_text() == "s"
    assert run.result("call_s") == "OK"


def test_max_turns_defaults_to_20(runs):
    run = runs["default_max_turns"]
    assert run.returncode == 1, run.describe()
    assert len(run.requests) == 20
    assert run.stdout == "" and run.lines("[warning] ")


def test_max_turns_option_limits_requests(runs):
    run = runs["three_max_turns"]
    assert run.returncode == 1, run.describe()
    assert len(run.requests) == 3 and run.lines("[warning] ")


def test_tool_calls_of_the_last_turn_still_run(runs):
    run = runs["three_max_turns"]
    assert (run.workspace / "last.txt").read_text() == "written in turn 3"


# ---------------------------------------------------------------- progress lines

def test_progress_lines_for_each_tool_call(runs):
    run = runs["conversation"]
    tools = run.lines("[tool] ")
    assert [line.split()[1] for line in tools] == ["write_file", "read_file", "list_files", "read_file"]
    assert tools[1] == "[tool] read_file " + READ["function"]["arguments"]
    assert run.lines("[result] ")[:3] == ["[result] OK", "[result] first line\\n", "[result] notes.txt"]


def test_progress_lines_escape_newlines_and_cut_at_200(runs):
    run = runs["conversation"]
    assert run.lines("[tool] ")[3] == "[tool] read_file " + LONG_ARGUMENTS[:200]
    assert run.lines("[result] ")[3] == "[result] " + ("line1\\nline2\\n" + "x" * 500)[:200]
