"""harness.view.conversation: a transcript read back as a conversation, each call showing only what it adds."""

from __future__ import annotations

import json

from harness.view.conversation import Call, Note, read_calls, render

SYSTEM, TASK = {"role": "system", "content": "You are an agent."}, {"role": "user", "content": "write agent.py"}
CALL = {"id": "c1", "type": "function",
        "function": {"name": "write_file", "arguments": '{"path": "a.py", "content": "x = 1\\n"}'}}


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


def test_a_refused_request_and_a_full_context_say_why():
    """llama.cpp refused the reference agent's third request (two assistant messages at the end): the page showed
    300 characters of JSON that ended inside the request, before the status and the reason."""
    rejected = {"event": "rejected", "wire": "chat", "cache": "miss", "key": "k",
                "request": {"messages": [SYSTEM, TASK] * 40}, "status": 400, "error": "BadRequestError",
                "message": "smollm2: Cannot have 2 or more assistant messages at the end of the list."}
    full = {"event": "context_full", "attempt": 1, "message": "context_length_exceeded: 7724 > 4096"}
    refused, overflow = read_calls([json.dumps(rejected), json.dumps(full)])
    assert refused.text == ("request refused by the provider (HTTP 400 BadRequestError, cache miss): smollm2: Cannot "
                            "have 2 or more assistant messages at the end of the list.")
    assert overflow.text == ("the request did not fit the model's context (attempt 1): context_length_exceeded: "
                             "7724 > 4096")
    assert "Cannot have 2 or more" in render([refused])


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


def test_an_agent_clis_messages_and_responses_requests_read_as_one_conversation(tmp_path, monkeypatch):
    """Claude Code's Messages requests and Codex's Responses requests, through the real loopback endpoint and
    gateway to a chat provider: the transcript keeps them translated to chat, and the second call of each shows
    only the tool's result, the conversation's continuation."""
    import openai

    from harness.config.schema import ModelConfig
    from harness.models.endpoint import GatewayServer
    from harness.models.gateway import Gateway
    from tests.models.test_api_formats import ANTHROPIC_TOOLS, RESPONSES_TOOLS, WRITE_CALL, messages_call
    from tests.openai_server import OpenAIServer, Step

    monkeypatch.setenv("REAL_PROVIDER_KEY", "sk-real-provider-key-555")
    for wire in ("messages", "responses"):
        transcript = tmp_path / f"{wire}.jsonl"
        with OpenAIServer([Step(content=None, tool_calls=WRITE_CALL, finish_reason="tool_calls"),
                           Step(content="done")]) as up:
            model = ModelConfig(name="p", litellm_model="openai/p", api_base=up.base_url,
                                api_key_env="REAL_PROVIDER_KEY")
            with GatewayServer(Gateway(model, transcript=transcript, sleep=lambda s: None), 0.3, 5) as server:
                if wire == "messages":
                    task = [{"role": "user", "content": [{"type": "text", "text": "implement the spec"}]}]
                    body = {"model": "claude", "max_tokens": 100, "tools": ANTHROPIC_TOOLS, "messages": task,
                            "system": [{"type": "text", "text": "You are Claude Code."}]}
                    used = json.loads(messages_call(server, body, server.api_key)[2])["content"]
                    result = {"type": "tool_result", "tool_use_id": used[0]["id"], "content": "written"}
                    messages_call(server, {**body, "messages": task + [{"role": "assistant", "content": used},
                                                                     {"role": "user", "content": [result]}]},
                                  server.api_key)
                else:
                    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
                    task = [{"role": "user", "content": [{"type": "input_text", "text": "implement the spec"}]}]
                    request = dict(model="codex", instructions="You are Codex.", tools=RESPONSES_TOOLS)
                    call = [o for o in client.responses.create(**request, input=task).output
                            if o.type == "function_call"][0]
                    client.responses.create(**request, input=task + [
                        {"type": "function_call", "call_id": call.call_id, "name": call.name,
                         "arguments": call.arguments},
                        {"type": "function_call_output", "call_id": call.call_id, "output": "written"}])
        one, two = read_calls(transcript.read_text().splitlines())
        assert [m.role for m in one.added] == ["system", "user"] and f"wire {wire}" in one.meta
        assert one.added[1].text == "implement the spec" and one.reply.tool_calls[0].name == "Write"
        assert two.start == "" and [(m.role, m.text) for m in two.added] == [("tool", "written")], wire
        assert two.reply.text == "done"
