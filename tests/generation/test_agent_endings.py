"""How an agent CLI's trial ends when its model is a small real one (SmolLM2 on llama.cpp, as measured for
docs/paper.md): the prompt outgrows the context, or the model answers in text and calls no tool. The provider is a
loopback server answering in llama.cpp's own shapes; the agent is a short script that speaks the CLI's wire format
and, like Claude Code, exits 1 when its model call fails. Each ending must be the model's named status, never
`no_code` for want of a file (what Claude Code's context overflow was recorded as before)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from harness.config.schema import ModelConfig, SandboxConfig, SandboxKind
from harness.generation.agent_cli import CommandAgent
from harness.models.endpoint import GatewayServer
from harness.models.gateway import Gateway
from harness.sandbox.backends import make_sandbox
from harness.sandbox.untrusted import TreeCaps
from harness.seams import GenerationContext
from harness.specs.loading import load_spec
from tests.conftest import make_spec
from tests.openai_server import OpenAIServer, Step

# What Claude Code and Codex send, in miniature: a tool to write with, a user turn. Exit 1 on an HTTP error.
AGENT = '''\
import json, os, sys, urllib.request, urllib.error
wire = sys.argv[1]
if wire == "messages":
    url, key = os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", os.environ["ANTHROPIC_API_KEY"]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 512, "system": "You write files.", "stream": True,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "implement spec.md"}]}],
            "tools": [{"name": "Write", "description": "write a file", "input_schema": {"type": "object",
                       "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}}}}]}
else:
    url, key = os.environ["OPENAI_BASE_URL"] + "/responses", os.environ["OPENAI_API_KEY"]
    body = {"model": "gpt-5", "stream": True, "input": [{"role": "user", "content": [
                {"type": "input_text", "text": "implement spec.md"}]}],
            "tools": [{"type": "function", "name": "exec_command", "description": "run a command",
                       "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]}
request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
    "x-api-key": key, "Authorization": "Bearer " + key, "Content-Type": "application/json"})
try:
    urllib.request.urlopen(request, timeout=60).read()
except urllib.error.HTTPError as exc:
    print("API Error:", exc.code, exc.read().decode()[:1000])
    sys.exit(1)
'''
# llama.cpp's answer to a prompt past its slot's context (Claude Code's ~7,700-token first request on n_ctx 4096)
OVERFLOW = Step(400, body={"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 7724,
                                     "n_ctx": 4096, "message": "request (7724 tokens) exceeds the available "
                                                               "context size (4096 tokens), try increasing it"}})
# SmolLM2's answer to a request offering tools: text, no tool_calls key, cut at max_tokens
PROSE = Step(content="```python\n# a.py\n# \n# \n#", finish_reason="length", usage=(7724, 468))


def run_agent(tmp_path, monkeypatch, step: Step, wire: str):
    make_spec(tmp_path / "specs")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "agent.py").write_text(AGENT)
    monkeypatch.setenv("LOCAL_KEY", "sk-local")
    with OpenAIServer([step]) as provider:
        model = ModelConfig(name="smollm2", litellm_model="openai/smollm2", api_base=provider.base_url,
                            api_key_env="LOCAL_KEY")
        gateway = Gateway(model, transcript=tmp_path / "trial" / "transcript.jsonl", sleep=lambda s: None)
        agent = CommandAgent(["{python}", "{impl}/agent.py", wire], "task", 60,
                             make_sandbox(SandboxConfig(kind=SandboxKind.process)), "smollm2",
                             TreeCaps.of(SandboxConfig()), impl_dir=tmp_path / "agent")
        generation = agent.generate(load_spec(tmp_path / "specs", "adder"),
                                    GenerationContext(gateway, 0.0, 0, tmp_path / "trial"))
    return generation, provider.requests


@pytest.mark.parametrize("wire", ["messages", "responses"])
def test_a_prompt_past_the_models_context_ends_the_agent_trial_context_full(tmp_path, monkeypatch, wire):
    generation, requests = run_agent(tmp_path, monkeypatch, OVERFLOW, wire)
    assert len(requests) == 1 and not generation.files
    assert generation.ending == "context_full", generation.detail
    assert "agent exited 1 after 1 model call(s)" in generation.detail
    assert "exceeds the available context size" in (tmp_path / "trial" / "agent.stdout").read_text()


@pytest.mark.parametrize("wire", ["messages", "responses"])
def test_a_model_that_answers_an_agent_in_text_ends_no_tool_calls(tmp_path, monkeypatch, wire):
    generation, requests = run_agent(tmp_path, monkeypatch, PROSE, wire)
    assert len(requests) == 1 and requests[0]["tools"] and not generation.files
    assert generation.ending == "no_tool_calls", generation.detail


def post(server: GatewayServer, route: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(server.base_url + route, data=json.dumps(body).encode(), headers={
        "x-api-key": server.api_key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.mark.parametrize("step, stop, status", [
    (PROSE, "max_tokens", "incomplete"),  # cut at max_tokens
    (Step(content=" \n\n ", finish_reason="stop"), "end_turn", "completed"),  # only whitespace
    (Step(content=None, finish_reason="length"), "max_tokens", "incomplete"),  # nothing before the cut
], ids=["length", "whitespace", "null-content"])
def test_real_reply_shapes_translate_to_messages_and_responses(tmp_path, monkeypatch, step, stop, status):
    """llama.cpp's replies as SmolLM2 gives them, whole, in Claude Code's and Codex's formats."""
    monkeypatch.setenv("LOCAL_KEY", "sk-local")
    with OpenAIServer([step]) as provider:
        model = ModelConfig(name="smollm2", litellm_model="openai/smollm2", api_base=provider.base_url,
                            api_key_env="LOCAL_KEY")
        with GatewayServer(Gateway(model, transcript=None, sleep=lambda s: None), 0.0, 0) as server:
            code_m, message = post(server, "/messages", {"model": "claude", "max_tokens": 64, "messages": [
                {"role": "user", "content": "hi"}], "tools": [{"name": "Write", "input_schema": {"type": "object"}}]})
            code_r, response = post(server, "/responses", {"model": "gpt", "input": "hi", "tools": [
                {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]})
    assert (code_m, message["stop_reason"], message["usage"]["output_tokens"]) == (200, stop, step.usage[1])
    assert "".join(b.get("text", "") for b in message["content"]) == (step.content or "")
    assert (code_r, response["status"]) == (200, status)
    texts = [c["text"] for item in response["output"] for c in item.get("content") or []]
    assert "".join(texts) == (step.content or "")
