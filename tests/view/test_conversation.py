"""harness.view.conversation: a transcript read back as a conversation, each call showing only what it adds."""

from __future__ import annotations

import json

from harness.view.conversation import Call, Note, read_calls, render

SYSTEM, TASK = {"role": "system", "content": "You are an agent."}, {"role": "user", "content": "write agent.py"}
CALL = {"id": "c1", "type": "function", "function": {"name": "write_file", "arguments": '{"path": "a.py", "content": "x = 1\\n"}'}}


def completion(messages: list, reply: dict, wire: str = "chat", tools: list = ()) -> str:
    return json.dumps({"event": "completion", "wire": wire, "cache": "miss", "request": {
        "messages": messages, "tools": [{"type": "function", "function": {"name": t}} for t in tools]},
        "reply": reply, "usage": [10, 5], "cost_usd": 0.0001000000002, "latency_s": 0.1, "finish_reason": "stop"})


def test_each_call_shows_what_its_request_adds_and_a_side_request_starts_anew():
    first = {"role": "assistant", "content": None, "tool_calls": [CALL]}
    result = {"role": "tool", "tool_call_id": "c1", "content": "OK"}
    lines = [completion([SYSTEM, TASK], first, tools=["read_file", "write_file"]),
             json.dumps({"event": "retry", "attempt": 1, "error": "RateLimitError", "message": "slow down"}),
             # the agent sends its reply back in its own shape (content "" rather than None): still the same message
             completion([SYSTEM, TASK, {**first, "content": ""}, result], {"role": "assistant", "content": "done"},
                        tools=["read_file", "write_file"]),
             completion([{"role": "user", "content": "a title for this chat"}], {"role": "assistant", "content": "t"}),
             "{torn line"]
    items = read_calls(lines)
    assert [type(i) for i in items] == [Call, Note, Call, Call, Note]
    one, retry, two, side, torn = items
    assert [m.role for m in one.added] == ["system", "user"] and one.tools == ("read_file", "write_file")
    assert one.reply.tool_calls[0].name == "write_file" and "slow down" in retry.text
    assert two.start == "" and [(m.role, m.text, m.call_id) for m in two.added] == [("tool", "OK", "c1")]
    assert two.tools == ()  # the same tools as before: not listed again
    assert side.start == "a new conversation" and [m.text for m in side.added] == ["a title for this chat"]
    assert "unreadable" in torn.text
    assert "US$ 0.0001," in render(items)  # costs to 6 significant digits


def test_messages_wire_content_parts_read_as_text_and_unknown_parts_are_named():
    parts = [{"type": "text", "text": "implement the spec"}, {"type": "image_url", "image_url": {"url": "x"}}]
    items = read_calls([completion([{"role": "user", "content": parts}], {"role": "assistant", "content": "ok"},
                                   wire="messages")])
    assert items[0].added[0].text == "implement the spec\n[image_url part]" and "wire messages" in items[0].meta


def test_what_a_model_wrote_is_shown_as_text():
    hostile = "<script>alert(1)</script>"
    page = render(read_calls([completion([{"role": "user", "content": hostile}],
                                         {"role": "assistant", "content": hostile, "tool_calls": [
                                             {"id": "<i>", "function": {"name": "<b>", "arguments": hostile}}]})]))
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
