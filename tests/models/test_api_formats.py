"""The gateway server speaks the agents' wire formats: Anthropic Messages (Claude Code) and OpenAI Responses
(Codex), streamed and not, with tool use, over loopback HTTP, with a real chat-completions provider behind it."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlparse

import openai
import pytest

from harness.config.schema import ModelConfig
from harness.models.endpoint import GatewayServer
from harness.models.gateway import Gateway
from tests.openai_server import OpenAIServer, Step

WRITE_CALL = [{"id": "call_1", "type": "function",
               "function": {"name": "Write", "arguments": json.dumps({"file_path": "/w/a.py", "content": "x = 1\n"})}}]
ANTHROPIC_TOOLS = [{"name": "Write", "description": "Write a file",
                    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"},
                                                                      "content": {"type": "string"}}}}]


@pytest.fixture
def gateway_to(tmp_path, monkeypatch):
    def make(provider: OpenAIServer) -> Gateway:
        monkeypatch.setenv("REAL_PROVIDER_KEY", "sk-real-provider-key-555")
        cfg = ModelConfig(name="p", litellm_model="openai/p", api_base=provider.base_url,
                          api_key_env="REAL_PROVIDER_KEY", input_cost_per_token=1e-6, output_cost_per_token=1e-6)
        return Gateway(cfg, transcript=tmp_path / "t.jsonl", sleep=lambda s: None)
    return make


def messages_call(server: GatewayServer, body: dict, key: str) -> tuple[int, str, bytes]:
    """POST to the Messages route as Anthropic's clients do (x-api-key, /v1/messages?beta=true)."""
    url = urlparse(server.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/v1/messages?beta=true", json.dumps(body),
                 {"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type") or "", response.read()


def sse(data: bytes) -> list[tuple[str, dict]]:
    """Server-sent events as (event name, data)."""
    out = []
    for block in data.decode().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields.get("event", ""), json.loads(fields["data"])))
    return out


def rebuild(events: list[tuple[str, dict]]) -> list[dict]:
    """A streamed message's content blocks, put back together the way a client does."""
    blocks: list[dict] = []
    for name, data in events:
        if name == "content_block_start":
            blocks.append(dict(data["content_block"], _json=""))
        elif name == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                blocks[data["index"]]["text"] += delta["text"]
            else:
                blocks[data["index"]]["_json"] += delta["partial_json"]
    for block in blocks:
        if block["type"] == "tool_use":
            block["input"] = json.loads(block["_json"])
        block.pop("_json")
    return blocks


ANTHROPIC_BODY = {"model": "claude-sonnet-4-6", "max_tokens": 32000, "temperature": 1, "tools": ANTHROPIC_TOOLS,
                  "system": [{"type": "text", "text": "You are Claude Code."}],
                  "messages": [{"role": "user", "content": [{"type": "text", "text": "implement the spec"}]}]}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_messages_api_tool_use_goes_through_the_gateway_with_trial_sampling(gateway_to, tmp_path, stream):
    with OpenAIServer([Step(content=None, tool_calls=WRITE_CALL, finish_reason="tool_calls", usage=(40, 9))]) as up:
        with GatewayServer(gateway_to(up), temperature=0.3, seed=5) as server:
            status, kind, data = messages_call(server, {**ANTHROPIC_BODY, "stream": stream}, server.api_key)
    assert status == 200, data
    sent = up.requests[0]
    assert (sent["temperature"], sent["seed"]) == (0.3, 5)  # the trial's, not the agent's
    assert sent["messages"][0]["role"] == "system" and sent["tools"][0]["function"]["name"] == "Write"
    assert up.headers[0]["Authorization"] == "Bearer sk-real-provider-key-555"
    if stream:
        events = sse(data)
        assert kind.startswith("text/event-stream")
        assert [n for n, _ in events][0] == "message_start" and [n for n, _ in events][-1] == "message_stop"
        assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
        content = rebuild(events)
    else:
        message = json.loads(data)
        assert message["type"] == "message" and message["stop_reason"] == "tool_use"
        assert message["usage"]["input_tokens"] == 40
        content = message["content"]
    assert [(b["type"], b["name"], b["input"]) for b in content] == [
        ("tool_use", "Write", {"file_path": "/w/a.py", "content": "x = 1\n"})]
    logged = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [e["wire"] for e in logged] == ["messages"]


def test_messages_api_tool_result_reaches_the_model_as_a_tool_message(gateway_to):
    turn = [{"role": "user", "content": [{"type": "text", "text": "go"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Write",
                                               "input": {"file_path": "/w/a.py", "content": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "written"}]}]
    with OpenAIServer([Step(content="done")]) as up:
        with GatewayServer(gateway_to(up), temperature=0, seed=0) as server:
            status, _, data = messages_call(server, {**ANTHROPIC_BODY, "messages": turn}, server.api_key)
    assert status == 200 and json.loads(data)["content"] == [{"type": "text", "text": "done"}]
    tool = up.requests[0]["messages"][-1]
    assert (tool["role"], tool["tool_call_id"], tool["content"]) == ("tool", "t1", "written")


def test_messages_api_refuses_a_wrong_key_and_a_body_without_messages(gateway_to):
    with OpenAIServer() as up:
        with GatewayServer(gateway_to(up), temperature=0, seed=0) as server:
            wrong = messages_call(server, ANTHROPIC_BODY, "sk-ant-guess")[0]
            empty = messages_call(server, {"model": "m", "messages": []}, server.api_key)
    assert wrong == 401 and empty[0] == 400 and b"no messages" in empty[2]
    assert up.requests == []


RESPONSES_TOOLS = [{"type": "function", "name": "exec_command", "description": "run a shell command",
                    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]
SHELL_CALL = [{"id": "call_9", "type": "function",
               "function": {"name": "exec_command", "arguments": json.dumps({"cmd": "cat spec.md"})}}]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses_api_through_the_openai_client(gateway_to, tmp_path, stream):
    with OpenAIServer([Step(content=None, tool_calls=SHELL_CALL, finish_reason="tool_calls")]) as up:
        with GatewayServer(gateway_to(up), temperature=0.7, seed=2) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
            request = dict(model="gpt-5-codex", instructions="You are Codex.", tools=RESPONSES_TOOLS,
                           input=[{"role": "user", "content": [{"type": "input_text", "text": "go"}]}])
            if stream:
                with client.responses.create(**request, stream=True) as events:
                    seen = list(events)
                assert seen[0].type == "response.created" and seen[-1].type == "response.completed"
                response = seen[-1].response
            else:
                response = client.responses.create(**request)
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments), c.call_id) for c in calls] == [
        ("exec_command", {"cmd": "cat spec.md"}, "call_9")]
    sent = up.requests[0]
    assert (sent["temperature"], sent["seed"]) == (0.7, 2)
    assert sent["messages"][0] == {"role": "system", "content": "You are Codex."}
    logged = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [e["wire"] for e in logged] == ["responses"]


def test_chat_completions_streamed_ends_with_done(gateway_to):
    with OpenAIServer([Step(content="hello")]) as up:
        with GatewayServer(gateway_to(up), temperature=0, seed=0) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
            chunks = list(client.chat.completions.create(model="m", stream=True,
                                                         messages=[{"role": "user", "content": "x"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hello"
