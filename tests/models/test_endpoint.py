"""The loopback endpoint that subprocess agents talk to, with a real provider server behind the gateway."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest

from harness.config.schema import ModelConfig
from harness.errors import ProviderError, RequestRejected
from harness.models.endpoint import GatewayServer
from harness.models.cache import CacheMode, ResponseCache
from harness.models.gateway import Gateway
from harness.sandbox.backends import BwrapSandbox, bwrap_available
from tests.openai_server import OpenAIServer, Step


def post(url: str, body: dict, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture
def gateway_to(tmp_path, monkeypatch):
    def make(provider: OpenAIServer, **model) -> Gateway:
        monkeypatch.setenv("REAL_PROVIDER_KEY", "sk-real-provider-key-987654")
        cfg = ModelConfig(name="p", litellm_model="openai/p", api_base=provider.base_url,
                          api_key_env="REAL_PROVIDER_KEY", **model)
        return Gateway(cfg, transcript=tmp_path / "t.jsonl", sleep=lambda s: None)
    return make


def test_trial_sampling_replaces_the_agents_and_the_reply_is_openai_shaped(gateway_to):
    with OpenAIServer([Step(content="hi", usage=(5, 3))]) as provider:
        with GatewayServer(gateway_to(provider), temperature=0.25, seed=11) as server:
            status, payload = post(server.base_url, {"model": "whatever", "temperature": 2.0, "seed": 1,
                                                     "messages": [{"role": "user", "content": "x"}]}, server.api_key)
    assert status == 200 and payload["choices"][0]["message"]["content"] == "hi"
    assert payload["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    assert (provider.requests[0]["temperature"], provider.requests[0]["seed"]) == (0.25, 11)
    assert provider.headers[0]["Authorization"] == "Bearer sk-real-provider-key-987654"


def test_a_wrong_key_is_refused_before_any_model_call(gateway_to):
    with OpenAIServer() as provider:
        with GatewayServer(gateway_to(provider), temperature=0, seed=0) as server:
            status, _ = post(server.base_url, {"messages": [{"role": "user", "content": "x"}]}, "sk-guess")
    assert status == 401 and provider.requests == []


def test_a_provider_that_stays_down_is_a_502_and_is_remembered(gateway_to):
    with OpenAIServer([Step(503)]) as provider:
        with GatewayServer(gateway_to(provider, max_attempts=2), temperature=0, seed=0) as server:
            status, payload = post(server.base_url, {"messages": [{"role": "user", "content": "x"}]}, server.api_key)
    assert status == 502 and "upstream" in payload["error"]["message"]
    assert isinstance(server.failure, ProviderError) and len(provider.requests) == 2


PROBE = """
import json, os, sys, urllib.request
def get(url, key=None, body=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return json.load(response)["choices"][0]["message"]["content"]
    except OSError as exc:
        return type(exc).__name__
body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
print(json.dumps({"gateway": get(os.environ["OPENAI_BASE_URL"] + "/chat/completions", os.environ["OPENAI_API_KEY"], body),
                  "provider": get(sys.argv[1] + "/chat/completions", "sk-guess", body),
                  "internet": get("http://1.1.1.1/")}))
"""


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
def test_a_sandboxed_agent_reaches_the_gateway_and_nothing_else(gateway_to, tmp_path):
    with OpenAIServer([Step(content="via the gateway")]) as provider:
        socket = tmp_path / "gw.sock"
        with GatewayServer(gateway_to(provider), temperature=0.0, seed=0, unix_socket=socket) as server:
            env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": server.api_key}
            work = tmp_path / "work"
            work.mkdir()
            result = BwrapSandbox().exec([sys.executable, "-c", PROBE, provider.base_url], cwd=work, env=env,
                                         timeout_s=30, gateway=socket)
    seen = json.loads(result.stdout)
    assert seen["gateway"] == "via the gateway" and len(provider.requests) == 1, (seen, result.stderr)
    assert seen["provider"] == "URLError" and seen["internet"] == "URLError"


def provoked(body: dict) -> Step:
    """A provider that rejects (HTTP 400) any request holding PROVOKE, as a real one rejects a malformed request,
    and answers the rest."""
    return Step(400) if "PROVOKE" in json.dumps(body["messages"]) else Step(content="ok")


def ask(server: GatewayServer, text: str) -> tuple[int, dict]:
    return post(server.base_url, {"messages": [{"role": "user", "content": text}]}, server.api_key)


def test_a_request_the_provider_rejects_is_the_agents_own_error_and_no_infra_fault(gateway_to, tmp_path):
    with OpenAIServer(responder=provoked) as provider:
        with GatewayServer(gateway_to(provider), temperature=0, seed=0) as server:
            status, payload = ask(server, "PROVOKE a 400")
            again, _ = ask(server, "PROVOKE it once more")
    assert (status, again) == (400, 400) and "rejected this request" in payload["error"]["message"]
    assert server.failure is None and server.rejected == ["HTTP 400 BadRequestError"] * 2
    # the trial's own settings were tried once with a request of ours, and accepted: the fault is the agent's
    assert [json.dumps(r["messages"]).count("PROVOKE") for r in provider.requests] == [1, 0, 1]
    events = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [(e["event"], e["wire"]) for e in events] == [("rejected", "chat"), ("completion", "probe"),
                                                         ("rejected", "chat")]


def test_a_provider_that_rejects_the_trials_own_settings_is_an_infra_fault(gateway_to):
    with OpenAIServer([Step(400)]) as provider:  # every request refused, the harness's own probe too
        with GatewayServer(gateway_to(provider), temperature=0, seed=0) as server:
            status, payload = ask(server, "hello")
    assert status == 502 and isinstance(server.failure, RequestRejected) and server.rejected == []
    assert len(provider.requests) == 2  # the request and the probe, neither retried


def test_a_rejection_is_cached_and_replayed_like_an_answer(gateway_to, tmp_path):
    with OpenAIServer(responder=provoked) as provider:
        for mode in (CacheMode.use, CacheMode.replay):
            gateway = gateway_to(provider)
            gateway.cache = ResponseCache(tmp_path / "cache", mode)
            with GatewayServer(gateway, temperature=0, seed=0) as server:
                statuses = [ask(server, text)[0] for text in ("hello", "PROVOKE a 400")]
            assert statuses == [200, 400] and server.failure is None, mode
    assert len(provider.requests) == 2  # the replay asked the provider nothing


def test_requests_past_max_calls_are_refused_and_counted(gateway_to):
    with OpenAIServer() as provider:
        with GatewayServer(gateway_to(provider), temperature=0, seed=0, max_calls=2) as server:
            statuses = [ask(server, f"call {i}")[0] for i in range(4)]
            _, payload = ask(server, "one more")
    assert statuses == [200, 200, 403, 403] and len(provider.requests) == 2
    assert server.refused == 3 and "max_model_calls" in payload["error"]["message"] and server.failure is None


@pytest.mark.parametrize("body", [
    b'{"messages": [1]}',  # no message object: refused by the endpoint
    b'{"messages": [{"role": "user", "content": [{"type": "zzz"}]}]}',  # refused by litellm before it is sent
    b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # past what the JSON parser follows
], ids=["not-a-message", "unknown-content-part", "nested-100000-deep"])
def test_a_request_the_agent_malforms_is_answered_400_and_never_an_infra_fault(gateway_to, body):
    with OpenAIServer() as provider:
        with GatewayServer(gateway_to(provider), temperature=0, seed=0) as server:
            request = urllib.request.Request(server.base_url + "/chat/completions", data=body,
                                             headers={"Authorization": f"Bearer {server.api_key}"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400 and server.failure is None
