"""The model gateway against a real OpenAI-format server on loopback: replies, retries, costs, transcripts."""

from __future__ import annotations

import json

import pytest

from harness.config.schema import ModelConfig
from harness.errors import ConfigError, ContextExceeded, ProviderError
from harness.models.gateway import Gateway
from tests.openai_server import OpenAIServer, Step

KEY = "sk-test-gateway-0123456789"
MESSAGES = [{"role": "user", "content": "say ok"}]


def make_gateway(server, tmp_path, monkeypatch, sleeps=None, **model):
    monkeypatch.setenv("TEST_PROVIDER_KEY", KEY)
    cfg = ModelConfig(name="loopback", litellm_model="openai/loopback-model", api_base=server.base_url,
                      api_key_env="TEST_PROVIDER_KEY", **model)
    return Gateway(cfg, transcript=tmp_path / "t.jsonl",
                   sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_reply_tokens_cost_and_transcript(tmp_path, monkeypatch):
    with OpenAIServer([Step(content="ok", usage=(100, 20))]) as server:
        gw = make_gateway(server, tmp_path, monkeypatch, input_cost_per_token=1e-6, output_cost_per_token=2e-6)
        reply = gw.complete(MESSAGES, temperature=0.3, seed=7)
    assert (reply.content, reply.prompt_tokens, reply.completion_tokens, reply.attempts) == ("ok", 100, 20, 1)
    assert reply.cost_usd == pytest.approx(100e-6 + 40e-6)
    assert server.requests[0]["temperature"] == 0.3 and server.requests[0]["seed"] == 7
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
    transcript = (tmp_path / "t.jsonl").read_text()
    assert KEY not in transcript
    event = json.loads(transcript.splitlines()[-1])
    assert event["request"]["messages"] == MESSAGES and event["reply"]["content"] == "ok"
    assert (gw.usage.calls, gw.usage.prompt_tokens) == (1, 100)


def test_unpriced_model_has_unknown_cost(tmp_path, monkeypatch):
    with OpenAIServer() as server:
        reply = make_gateway(server, tmp_path, monkeypatch).complete(MESSAGES, temperature=0, seed=None)
    assert reply.cost_usd is None


def test_server_errors_are_retried_with_growing_backoff(tmp_path, monkeypatch):
    sleeps: list[float] = []
    with OpenAIServer([Step(500), Step(502), Step(503), Step(content="fine")]) as server:
        reply = make_gateway(server, tmp_path, monkeypatch, sleeps, backoff_s=1.0).complete(
            MESSAGES, temperature=0, seed=0)
    assert reply.content == "fine" and reply.attempts == 4 and len(server.requests) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]
    assert all(0.5 * 2**i <= s <= 2**i for i, s in enumerate(sleeps))  # base * 2^i, jittered down to half


def test_rate_limit_honours_retry_after(tmp_path, monkeypatch):
    sleeps: list[float] = []
    with OpenAIServer([Step(429, headers={"Retry-After": "3"}), Step(content="ok")]) as server:
        make_gateway(server, tmp_path, monkeypatch, sleeps).complete(MESSAGES, temperature=0, seed=0)
    assert sleeps == [3.0]


def test_persistent_failure_raises_after_max_attempts_and_sdk_does_not_retry(tmp_path, monkeypatch):
    with OpenAIServer([Step(503)]) as server:
        gw = make_gateway(server, tmp_path, monkeypatch, max_attempts=3)
        with pytest.raises(ProviderError) as info:
            gw.complete(MESSAGES, temperature=0, seed=0)
    assert len(server.requests) == 3  # ours only: the openai SDK's own retries are off
    assert "ServiceUnavailable" in info.value.error_class or "InternalServer" in info.value.error_class


def test_client_errors_are_not_retried(tmp_path, monkeypatch):
    with OpenAIServer([Step(401)]) as server:
        with pytest.raises(ProviderError):
            make_gateway(server, tmp_path, monkeypatch).complete(MESSAGES, temperature=0, seed=0)
    assert len(server.requests) == 1


def test_tool_calls_are_parsed(tmp_path, monkeypatch):
    call = {"id": "c1", "type": "function", "function": {"name": "write_file", "arguments": '{"path": "a"}'}}
    tools = [{"type": "function", "function": {"name": "write_file", "parameters": {"type": "object"}}}]
    with OpenAIServer([Step(content=None, tool_calls=[call], finish_reason="tool_calls")]) as server:
        reply = make_gateway(server, tmp_path, monkeypatch).complete(MESSAGES, temperature=0, seed=0, tools=tools)
    assert reply.tool_calls[0].name == "write_file" and json.loads(reply.tool_calls[0].arguments) == {"path": "a"}
    assert server.requests[0]["tools"][0]["function"]["name"] == "write_file"
    assert reply.message()["tool_calls"][0]["id"] == "c1"


def test_missing_key_fails_before_any_call(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    cfg = ModelConfig(name="x", litellm_model="openai/gpt-4o", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        Gateway(cfg)


@pytest.mark.parametrize("fault", [Step(fault="reset"), Step(fault="hang"), Step(fault="malformed"), Step(500),
                                   Step(429, headers={"Retry-After": "0"})],
                         ids=["reset", "timeout", "malformed-json", "5xx", "429"])
def test_each_provider_fault_is_retried(tmp_path, monkeypatch, fault):
    with OpenAIServer([fault, Step(content="recovered")]) as server:
        reply = make_gateway(server, tmp_path, monkeypatch, timeout_s=1.0).complete(MESSAGES, temperature=0, seed=0)
    assert reply.content == "recovered" and reply.attempts == 2


@pytest.mark.parametrize("answer", [Step(content="```python\ncut off", finish_reason="length"), Step(content=""),
                                    Step(content=None, finish_reason="stop")], ids=["truncated", "empty", "none"])
def test_a_reply_is_the_models_answer_whatever_its_finish_reason(tmp_path, monkeypatch, answer):
    """A real model given the same request and seed gives the same cut or empty reply: asking again only spends.
    It is returned once, with its finish reason, and the generator says what it holds."""
    with OpenAIServer([answer, Step(content="a second answer")]) as server:
        gw = make_gateway(server, tmp_path, monkeypatch)
        reply = gw.complete(MESSAGES, temperature=0, seed=0)
    assert len(server.requests) == 1 and reply.attempts == 1
    assert (reply.content, reply.finish_reason) == (answer.content, answer.finish_reason)
    assert gw.usage.truncated == (answer.finish_reason == "length")
    assert "retry" not in (tmp_path / "t.jsonl").read_text()


def test_a_context_overflow_is_the_models_limit_not_a_fault(tmp_path, monkeypatch):
    """llama.cpp's answer to a prompt longer than its context: a 400 the gateway names and never retries."""
    body = {"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096,
                      "message": "request (5000 tokens) exceeds the available context size (4096 tokens)"}}
    with OpenAIServer([Step(400, body=body), Step(content="never asked")]) as server:
        with pytest.raises(ContextExceeded, match="exceeds the available context"):
            make_gateway(server, tmp_path, monkeypatch).complete(MESSAGES, temperature=0, seed=0)
    assert len(server.requests) == 1
    assert json.loads((tmp_path / "t.jsonl").read_text().splitlines()[-1])["event"] == "context_full"
    assert json.loads((tmp_path / "t.jsonl").read_text().splitlines()[-1])["event"] == "context_full"


def test_a_local_server_running_other_than_configured_is_our_error_never_a_cached_rejection(tmp_path, monkeypatch):
    """`model.local.n_ctx=16384` on SmolLM2: llama.cpp caps a slot at the model's 8,192-token training context, the
    harness refuses the server (ConfigError). That is no answer of the model's: it propagates, and nothing is kept
    in the cache or transcript as a rejection that every later run would replay."""
    from contextlib import contextmanager

    from harness.models.cache import CacheMode, ResponseCache

    @contextmanager
    def mismatched():
        raise ConfigError("the local model server runs 2 slots of 8192 tokens, not the 2 x 16384 configured")
        yield ""  # noqa -- a context manager's shape

    with OpenAIServer() as server:
        gw = make_gateway(server, tmp_path, monkeypatch)
    gw.endpoint, gw.cache = mismatched, ResponseCache(tmp_path / "cache", CacheMode.use)
    for _ in range(2):
        with pytest.raises(ConfigError, match="not the 2 x 16384 configured"):
            gw.complete(MESSAGES, temperature=0, seed=0)
    assert not (tmp_path / "t.jsonl").exists() or "rejected" not in (tmp_path / "t.jsonl").read_text()
    assert [p for p in (tmp_path / "cache").rglob("*.json")] == []
