"""The model gateway: every model call the harness makes goes through `Gateway.complete`.

It wraps litellm, but owns the parts litellm gets wrong for research use here: retries (litellm's are off, and the
openai SDK's silent retries too, via max_retries=0), prices for models litellm does not know, and the transcript.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from harness.cache import CacheMode, ResponseCache, request_key
from harness.config import ModelConfig
from harness.errors import ConfigError, ProviderError
from harness.redact import redact
from harness.synthetic_provider import GROUND_TRUTH_KEY, SAMPLE_KEY

# litellm fetches its price map from the network at import time unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class Reply:
    content: Optional[str]
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Optional[float]
    latency_s: float
    attempts: int
    ground_truth: Optional[str] = None  # only the synthetic model knows what it answered
    cached: bool = False  # answered from the response cache: no provider call, no cost

    def entry(self, paid_by: Optional[str]) -> dict:
        """What the response cache stores, with the trial that paid for the call."""
        return {"content": self.content, "tool_calls": [c.__dict__ for c in self.tool_calls],
                "finish_reason": self.finish_reason, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost_usd": self.cost_usd,
                "ground_truth": self.ground_truth, "paid_by": paid_by}

    @classmethod
    def from_entry(cls, entry: dict, trial: Optional[str]) -> "Reply":
        """A cached answer. One paid for by this same trial (an attempt killed after the call, before its record)
        is the trial's own call recovered: it keeps its cost and is no cache hit, so a resumed sweep's table
        equals an uninterrupted one. Any other hit costs nothing here: someone else paid."""
        own = trial is not None and entry.get("paid_by") == trial
        return cls(content=entry["content"], tool_calls=tuple(ToolCall(**c) for c in entry["tool_calls"]),
                   finish_reason=entry["finish_reason"], prompt_tokens=entry["prompt_tokens"],
                   completion_tokens=entry["completion_tokens"], cost_usd=entry.get("cost_usd") if own else 0.0,
                   latency_s=0.0, attempts=0, ground_truth=entry.get("ground_truth"), cached=not own)

    def message(self) -> dict:
        """The assistant message in OpenAI format, to append to a conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return msg


@dataclass
class Usage:
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Optional[float] = 0.0
    ground_truths: list[str] = field(default_factory=list)

    def add(self, reply: Reply) -> None:
        self.calls += 1
        self.cache_hits += reply.cached
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        # One unpriced call makes the total unknown rather than silently low.
        self.cost_usd = None if self.cost_usd is None or reply.cost_usd is None else self.cost_usd + reply.cost_usd
        if reply.ground_truth:
            self.ground_truths.append(reply.ground_truth)


def _litellm():
    import litellm

    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):  # its INFO lines would drown the sweep's log
        logging.getLogger(name).setLevel(logging.WARNING)
    return litellm


def provider_params(model: ModelConfig) -> dict:
    """Settings a model's provider reads with every request (today only the synthetic model's mutation curve):
    ordinary request parameters, so they are in the cache key like temperature, and litellm hands a custom
    provider what it does not know itself."""
    return asdict(model.synthetic) if model.synthetic is not None else {}


def check_credentials(model: ModelConfig) -> None:
    """Fail early, before any spending, when a model's key is not in the environment."""
    if model.api_key_env and not os.environ.get(model.api_key_env):
        raise ConfigError(
            f"model '{model.name}' needs its API key in ${model.api_key_env}; export it, or pick another model"
        )


class Gateway:
    """One trial's door to one model: retries, usage totals, and a transcript of every exchange."""

    def __init__(self, model: ModelConfig, *, sample: int = 0,
                 transcript: Optional[Path] = None, cache: Optional[ResponseCache] = None,
                 sleep: Callable[[float], None] = time.sleep, trial: Optional[str] = None):
        if cache is None or cache.mode is not CacheMode.replay:  # a strict replay needs no key
            check_credentials(model)
        self.model = model
        self.sample = sample
        self.transcript = transcript
        self.sleep = sleep
        self.cache = cache
        self.trial = trial  # the trial this gateway serves: the owner of the calls it pays for
        self.usage = Usage()
        self._rng = random.Random(sample)

    def complete(self, messages: list[dict], *, temperature: float, seed: Optional[int],
                 tools: Optional[list[dict]] = None, wire: str = "chat") -> Reply:
        """Send one chat request, retrying transient provider failures; raise ProviderError when they persist.

        `wire` is the format the request arrived in (an agent CLI's Messages or Responses API, translated to
        chat): it is recorded in the transcript and does not change the answer, so it is not in the cache key."""
        kwargs = self._request(messages, temperature, seed, tools)
        key = request_key(kwargs, self.sample)
        hit = self.cache.get(key, _describe(kwargs)) if self.cache else None
        if hit is not None:
            # a strict replay re-plays on purpose and spends nothing; in other modes an entry this trial paid for
            # is its own call, recovered after an interruption
            reply = Reply.from_entry(hit, None if self.cache.mode is CacheMode.replay else self.trial)
            return self._accept(reply, kwargs, key, "hit" if reply.cached else "recovered", wire)
        reply = self._call_provider(kwargs)
        if self.cache:
            self.cache.put(key, reply.entry(self.trial))
        return self._accept(reply, kwargs, key, "miss", wire)

    def _accept(self, reply: Reply, kwargs: dict, key: str, cache: str, wire: str) -> Reply:
        self.usage.add(reply)
        self._log({"event": "completion", "wire": wire, "cache": cache, "key": key,
                   "request": _loggable(kwargs), "reply": reply.message(), "finish_reason": reply.finish_reason,
                   "usage": [reply.prompt_tokens, reply.completion_tokens], "cost_usd": reply.cost_usd,
                   "latency_s": round(reply.latency_s, 4), "ground_truth": reply.ground_truth})
        return reply

    def _call_provider(self, kwargs: dict) -> Reply:
        """Call litellm until a complete reply arrives; transient failures are retried with back-off."""
        litellm = _litellm()
        for attempt in range(1, self.model.max_attempts + 1):
            start, exc = time.monotonic(), None
            try:
                reply = self._reply(litellm.completion(**kwargs), time.monotonic() - start, attempt)
                error = _incomplete(reply)
                if error is None:
                    return reply
                message = f"{error} (finish_reason={reply.finish_reason!r})"
            except Exception as caught:  # litellm maps every provider failure onto its own exception classes
                if not _is_transient(litellm, caught):
                    raise ProviderError(f"{self.model.name}: {caught}", type(caught).__name__) from caught
                exc, error, message = caught, type(caught).__name__, str(caught)
            self._log({"event": "retry", "attempt": attempt, "error": error, "message": message})
            if attempt == self.model.max_attempts:
                raise ProviderError(f"{self.model.name}: gave up after {attempt} attempts: {message}", error) from exc
            self.sleep(self._backoff(attempt, exc))
        raise AssertionError("unreachable")

    def _request(self, messages, temperature, seed, tools) -> dict:
        m = self.model
        kwargs: dict[str, Any] = dict(
            model=m.litellm_model, messages=messages, temperature=temperature, max_tokens=m.max_tokens,
            timeout=m.timeout_s, max_retries=0, drop_params=True, metadata={SAMPLE_KEY: self.sample},
            **provider_params(m),
        )
        if seed is not None:
            kwargs["seed"] = seed
        if tools:
            kwargs["tools"] = tools
        if m.api_base:
            kwargs["api_base"] = m.api_base
        if m.api_key_env and os.environ.get(m.api_key_env):
            kwargs["api_key"] = os.environ[m.api_key_env]
        return kwargs

    def _reply(self, response: Any, latency: float, attempts: int) -> Reply:
        choice = response.choices[0]
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "") for c in (choice.message.tool_calls or ())
        )
        usage = getattr(response, "usage", None)
        pt, ct = (usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else (0, 0)
        hidden = getattr(response, "_hidden_params", {}) or {}
        return Reply(
            content=choice.message.content, tool_calls=calls, finish_reason=choice.finish_reason or "",
            prompt_tokens=pt, completion_tokens=ct, cost_usd=self._cost(response, pt, ct), latency_s=latency,
            attempts=attempts, ground_truth=hidden.get(GROUND_TRUTH_KEY),
        )

    def _cost(self, response: Any, prompt_tokens: int, completion_tokens: int) -> Optional[float]:
        m = self.model
        if m.input_cost_per_token is not None and m.output_cost_per_token is not None:
            return prompt_tokens * m.input_cost_per_token + completion_tokens * m.output_cost_per_token
        try:
            return float(_litellm().completion_cost(completion_response=response))
        except Exception:  # litellm raises for models missing from its price map: the cost is unknown
            return None

    def _backoff(self, attempt: int, exc: Optional[Exception]) -> float:
        retry_after = _retry_after(exc) if exc is not None else None
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF_S)
        return min(self.model.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S) * (0.5 + 0.5 * self._rng.random())

    def _log(self, event: dict) -> None:
        if self.transcript is None:
            return
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        with self.transcript.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(redact(event), default=str) + "\n")


def _incomplete(reply: Reply) -> Optional[str]:
    """A reply the provider cut short or left empty is a provider fault, retried like a 5xx."""
    if reply.finish_reason == "length":
        return "TruncatedReply"
    if not (reply.content or "").strip() and not reply.tool_calls:
        return "EmptyReply"
    return None


def _is_transient(litellm, exc: Exception) -> bool:
    # litellm.Timeout derives from openai's connection error, not litellm's, so it is named on its own.
    transient = (litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError,
                 litellm.BadGatewayError, litellm.APIConnectionError, litellm.Timeout)
    if isinstance(exc, transient):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in (408, 429) or status >= 500)


def _retry_after(exc: Exception) -> Optional[float]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _describe(kwargs: dict) -> str:
    last = str(kwargs["messages"][-1].get("content") or "")[:60].replace("\n", " ")
    return f"{kwargs['model']} ({len(kwargs['messages'])} messages, last: {last!r})"


def _loggable(kwargs: dict) -> dict:
    """The request as the transcript keeps it: never the key."""
    return {k: v for k, v in kwargs.items() if k != "api_key"}
