"""Spec §3, §5, §6: the conversation the agent builds, tool definitions, turn limit, progress lines."""
import re

from agentrun import run_agent
from clauses import ours, paper
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
# Calls to a tool the agent does not offer: it must answer each with an ERROR: tool message and run nothing (a
# paper clause), so the runs that test the loop exercise no tool's code, and a crash inside a tool costs only
# that tool's tests.
PROBE_A = call("no_such_tool", {"x": 1}, id="call_a")
PROBE_B = call("no_such_tool", {"y": 2}, id="call_b")
PROBE_C = call("no_such_tool", {}, id="call_c")
WRITE = call("write_file", {"path": "notes.txt", "content": "first line\n"}, id="call_write")
READ = call("read_file", {"path": "notes.txt"}, id="call_read")
LIST = call("list_files", {"pattern": "no*"}, id="call_list")


def probe():
    return tool_reply(call("no_such_tool", {}))


def forever(index):
    """Fallback step: the model never stops calling tools.

    No test allows a 21st request; answering one with an error ends a runaway agent quickly."""
    if index >= 20:
        return http_error(400, message="more requests than any test allows")
    return probe()


LONG_ARGUMENTS = '{"path": "long.txt", "end_line": 3, "padding": "' + "p" * 300 + '"}'
LONG_READ = call("read_file", raw=LONG_ARGUMENTS, id="call_long")


@scenario
def conversation(ws):
    steps = [tool_reply(PROBE_A, PROBE_B, content="Probing twice."), tool_reply(PROBE_C), answer("Finished.")]
    return run_agent(ws, steps, task="Make notes.")


@scenario
def tools_in_order(ws):
    return run_agent(ws, [tool_reply(WRITE, READ), answer("Read it back.")])


@scenario
def progress(ws):
    make_files(ws, {"long.txt": "line1\nline2\n" + "x" * 500})
    return run_agent(ws, [tool_reply(WRITE, READ), tool_reply(LIST, LONG_READ), answer("Logged.")])


@scenario
def default_max_turns(ws):
    return run_agent(ws, [], fallback=forever)


@scenario
def three_max_turns(ws):
    steps = [probe(), probe(), tool_reply(call("write_file", {"path": "last.txt", "content": "written in turn 3"}))]
    return run_agent(ws, steps, fallback=forever, extra_args=["--max-turns", "3"])


@scenario
def finish_reasons(ws):
    steps = [answer("Partial", finish_reason="length"),
             tool_reply(call("write_file", {"path": "s.txt", "content": "s"}, id="call_s"), finish_reason="stop"),
             answer("Complete.")]
    return run_agent(ws, steps)


def tool_names_logged(run):
    """The tool named by each `[tool]` progress line, whatever layout follows the name."""
    names = [re.match(r"\[tool\]\W*(\w+)", line) for line in run.lines("[tool]")]
    return [m.group(1) if m else None for m in names]


def same_call(sent, received):
    return {k: sent.get(k) for k in ("id", "type", "function")} == received


# ---------------------------------------------------------------- conversation structure

@paper("loop.final_answer")
def test_conversation_completes(runs):
    run = runs["conversation"]
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == "Finished."
    assert len(run.requests) == 3


@paper("loop.start")
def test_first_request_has_system_then_task(runs):
    run = runs["conversation"]
    assert run.requests, run.describe()
    system, user = run.requests[0].messages
    assert system["role"] == "system" and isinstance(system["content"], str) and system["content"].strip()
    assert user["role"] == "user" and user["content"] == "Make notes."


@paper("tools.definitions")
def test_tool_definitions_offered_in_every_request(runs):
    run = runs["conversation"]
    assert run.requests, run.describe()
    expected = {name: (properties, required) for name, properties, required in EXPECTED_TOOLS}
    for request in run.requests:
        offered = {}
        for tool in request.body["tools"]:
            assert tool["type"] == "function"
            parameters = tool["function"]["parameters"]
            assert parameters["type"] == "object", tool
            offered[tool["function"]["name"]] = ({k: v["type"] for k, v in parameters["properties"].items()},
                                                 sorted(parameters.get("required", [])))
        assert offered == {name: (props, sorted(req)) for name, (props, req) in expected.items()}


@ours("tools.definitions.order_and_descriptions")
def test_tool_definitions_in_order_with_descriptions(runs):
    run = runs["conversation"]
    assert run.requests, run.describe()
    for request in run.requests:
        tools = request.body["tools"]
        assert [t["function"]["name"] for t in tools] == [name for name, _, _ in EXPECTED_TOOLS]
        for tool in tools:
            description = tool["function"].get("description")
            assert isinstance(description, str) and description.strip(), tool["function"]["name"]


@paper("loop.assistant_appended")
def test_assistant_message_appended_with_tool_calls_as_received(runs):
    run = runs["conversation"]
    assert len(run.requests) >= 2, run.describe()
    messages = run.requests[1].messages
    assert messages[:2] == run.requests[0].messages
    assistant = messages[2]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == "Probing twice."
    received = assistant.get("tool_calls") or []
    assert len(received) == 2 and all(same_call(c, sent) for c, sent in zip(received, [PROBE_A, PROBE_B]))


@paper("loop.tool_messages")
def test_tool_messages_follow_in_call_order_with_ids(runs):
    run = runs["conversation"]
    assert len(run.requests) >= 2, run.describe()
    messages = run.requests[1].messages
    assert len(messages) == 5
    assert [(m["role"], m.get("tool_call_id")) for m in messages[3:]] == [("tool", "call_a"), ("tool", "call_b")]
    assert all(m["content"].startswith("ERROR:") for m in messages[3:])


@paper("loop.tool_calls_in_order")
def test_tool_calls_of_one_reply_run_in_order(runs):
    assert runs["tools_in_order"].result("call_read").rstrip("\n") == "first line"


@paper("loop.accumulates")
def test_conversation_grows_by_appending(runs):
    run = runs["conversation"]
    assert len(run.requests) == 3, run.describe()
    second, third = run.requests[1:3]
    assert third.messages[:5] == second.messages
    assert [m["role"] for m in third.messages[5:]] == ["assistant", "tool"]
    assert third.messages[6].get("tool_call_id") == "call_c"


@ours("loop.assistant_message_shape")
def test_assistant_without_tool_calls_has_no_tool_calls_key(runs):
    run = runs["finish_reasons"]
    assert len(run.requests) >= 2, run.describe()
    assistant = run.requests[1].messages[2]
    assert assistant["role"] == "assistant" and assistant["content"] == "Partial"
    assert "tool_calls" not in assistant


@ours("loop.assistant_message_shape")
def test_tool_calls_sent_back_exactly_as_received(runs):
    assistant = runs["conversation"].requests[1].messages[2]
    assert [{"id": c["id"], "type": c["type"], "function": c["function"]} for c in assistant["tool_calls"]] == [
        PROBE_A, PROBE_B]
    tool_message = runs["conversation"].requests[2].messages[6]
    assert set(tool_message) == {"role", "tool_call_id", "content"} and tool_message["tool_call_id"] == "call_c"


# ---------------------------------------------------------------- finish reasons and the turn limit

@ours("loop.finish_reason")
def test_no_tool_calls_but_length_leads_to_another_turn(runs):
    run = runs["finish_reasons"]
    assert len(run.requests) == 3, run.describe()


@ours("loop.finish_reason")
def test_tool_calls_run_even_when_finish_reason_is_stop(runs):
    run = runs["finish_reasons"]
    assert (run.workspace / "s.txt").read_text() == "s"
    assert run.result("call_s") == "OK"


@paper("cli.max_turns.default")
def test_max_turns_defaults_to_20(runs):
    run = runs["default_max_turns"]
    assert len(run.requests) == 20, run.describe()


@paper("cli.max_turns.exit")
def test_reaching_the_turn_limit_exits_1(runs):
    for name in ("default_max_turns", "three_max_turns"):
        assert runs[name].returncode == 1, runs[name].describe()


@ours("cli.max_turns.warning")
def test_max_turns_warning_on_stderr(runs):
    run = runs["default_max_turns"]
    assert run.stdout == "" and run.lines("[warning] "), run.describe()


@paper("cli.max_turns.option")
def test_max_turns_option_limits_requests(runs):
    run = runs["three_max_turns"]
    assert len(run.requests) == 3, run.describe()


@paper("loop.last_turn_tools_run")
def test_tool_calls_of_the_last_turn_still_run(runs):
    run = runs["three_max_turns"]
    assert (run.workspace / "last.txt").read_text() == "written in turn 3"


# ---------------------------------------------------------------- progress lines

@paper("output.progress")
def test_a_tool_line_and_a_result_line_per_call_on_stderr(runs):
    run = runs["conversation"]
    assert tool_names_logged(run) == ["no_such_tool"] * 3, run.describe()
    assert len(run.lines("[result]")) == 3
    assert "[tool]" not in run.stdout


def logged(text):
    """A progress line's text: newlines escaped, cut at 200 characters."""
    return text.replace("\n", "\\n")[:200]


@ours("output.progress.format")
def test_progress_lines_show_raw_arguments_and_results(runs):
    run = runs["progress"]
    sent = run.tool_results()  # each line must show the result the agent sent back, whatever it was
    assert run.lines("[tool] ")[:2] == ["[tool] write_file " + WRITE["function"]["arguments"],
                                        "[tool] read_file " + READ["function"]["arguments"]], run.describe()
    assert run.lines("[result] ")[:3] == ["[result] " + logged(sent[c]) for c in ("call_write", "call_read",
                                                                                   "call_list")]


@ours("output.progress.format")
def test_progress_lines_escape_newlines_and_cut_at_200(runs):
    run = runs["progress"]
    assert run.lines("[tool] ")[3] == "[tool] read_file " + LONG_ARGUMENTS[:200], run.describe()
    assert run.lines("[result] ")[3] == "[result] " + logged(run.result("call_long"))
