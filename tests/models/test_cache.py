"""The response cache: keys, modes, and what a hit costs, against a real loopback provider."""

from __future__ import annotations

import pytest

from harness.config.schema import ModelConfig
from harness.models.cache import CacheMiss, CacheMode, ResponseCache, request_key
from harness.models.gateway import Gateway
from tests.openai_server import OpenAIServer, Step

MESSAGES = [{"role": "user", "content": "write it"}]


def gateway(server, tmp_path, monkeypatch, mode: CacheMode, sample: int = 0, trial=None) -> Gateway:
    monkeypatch.setenv("CACHE_TEST_KEY", "sk-cache-test-key-000111")
    cfg = ModelConfig(name="p", litellm_model="openai/p", api_base=server.base_url, api_key_env="CACHE_TEST_KEY",
                      input_cost_per_token=1e-6, output_cost_per_token=1e-6)
    return Gateway(cfg, sample=sample, cache=ResponseCache(tmp_path / "cache", mode), trial=trial)


def test_sample_index_and_every_sampling_value_change_the_key():
    base = {"model": "openai/gpt-4o", "messages": MESSAGES, "temperature": 0.8, "seed": 1, "max_tokens": 100}
    keys = {request_key(base, 0), request_key(base, 1), request_key({**base, "temperature": 0.7}, 0),
            request_key({**base, "seed": 2}, 0), request_key({**base, "top_p": 0.9}, 0),
            request_key({**base, "api_base": "http://other"}, 0),
            request_key({**base, "tools": [{"type": "function"}]}, 0)}
    assert len(keys) == 7


def test_the_key_ignores_the_api_key_and_timeouts():
    base = {"model": "m", "messages": MESSAGES, "temperature": 0.0}
    assert request_key({**base, "api_key": "a", "timeout": 1}, 0) == request_key({**base, "api_key": "b"}, 0)


def test_two_samples_at_temperature_point_eight_get_two_entries(tmp_path, monkeypatch):
    with OpenAIServer([Step(content="first"), Step(content="second")]) as server:
        a = gateway(server, tmp_path, monkeypatch, CacheMode.use, sample=0).complete(MESSAGES, temperature=0.8, seed=0)
        b = gateway(server, tmp_path, monkeypatch, CacheMode.use, sample=1).complete(MESSAGES, temperature=0.8, seed=0)
    assert (a.content, b.content) == ("first", "second")
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2


def test_a_hit_calls_no_provider_costs_nothing_and_is_marked(tmp_path, monkeypatch):
    with OpenAIServer([Step(content="answer", usage=(100, 100))]) as server:
        first = gateway(server, tmp_path, monkeypatch, CacheMode.use)
        miss = first.complete(MESSAGES, temperature=0.0, seed=0)
        second = gateway(server, tmp_path, monkeypatch, CacheMode.use)
        hit = second.complete(MESSAGES, temperature=0.0, seed=0)
    assert len(server.requests) == 1
    assert (miss.cached, miss.cost_usd) == (False, pytest.approx(2e-4))
    assert (hit.cached, hit.cost_usd, hit.content) == (True, 0.0, "answer")
    assert (second.usage.cache_hits, second.usage.cost_usd) == (1, 0.0)


def test_replay_miss_names_the_request_and_calls_nothing(tmp_path, monkeypatch):
    with OpenAIServer() as server:
        with pytest.raises(CacheMiss, match="replay: no recorded response for openai/p .*write it"):
            gateway(server, tmp_path, monkeypatch, CacheMode.replay).complete(MESSAGES, temperature=0.0, seed=0)
    assert server.requests == []


def test_record_always_calls_and_off_writes_nothing(tmp_path, monkeypatch):
    with OpenAIServer([Step(content="old"), Step(content="new")]) as server:
        gateway(server, tmp_path, monkeypatch, CacheMode.record).complete(MESSAGES, temperature=0.0, seed=0)
        again = gateway(server, tmp_path, monkeypatch, CacheMode.record).complete(MESSAGES, temperature=0.0, seed=0)
        assert again.content == "new" and len(server.requests) == 2
        replayed = gateway(server, tmp_path, monkeypatch, CacheMode.replay).complete(MESSAGES, temperature=0.0, seed=0)
        assert replayed.content == "new"
        off = tmp_path / "off"
        off.mkdir()
        gateway(server, off, monkeypatch, CacheMode.off).complete(MESSAGES, temperature=0.0, seed=0)
    assert not (off / "cache").exists()


def test_a_trial_recovering_its_own_paid_call_keeps_its_cost_and_is_no_hit(tmp_path, monkeypatch):
    """A trial killed after its call but before its record pays once: the resumed attempt reads the answer back
    with its cost; another trial reading the same entry pays nothing and counts a hit."""
    with OpenAIServer([Step(content="paid once")]) as server:
        first = gateway(server, tmp_path, monkeypatch, CacheMode.use, trial="t1")
        first.complete(MESSAGES, temperature=0.0, seed=0)
        resumed = gateway(server, tmp_path, monkeypatch, CacheMode.use, trial="t1")
        resumed.complete(MESSAGES, temperature=0.0, seed=0)
        other = gateway(server, tmp_path, monkeypatch, CacheMode.use, trial="t2")
        other.complete(MESSAGES, temperature=0.0, seed=0)
        assert len(server.requests) == 1
    assert resumed.usage.cost_usd == first.usage.cost_usd > 0 and resumed.usage.cache_hits == 0
    assert other.usage.cost_usd == 0 and other.usage.cache_hits == 1
