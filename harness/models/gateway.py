"""The model gateway: every model call the harness makes goes through `Gateway.complete`.

It wraps litellm, but owns the parts litellm gets wrong for research use here: retries (litellm's are off, and the
openai SDK's silent retries too, via max_retries=0), prices for models litellm does not know, and the transcript.
litellm is imported at the first call that needs it: importing it costs 2 to 3 s a process, which a process whose
models are all served in-process (`serve_in_process`, e.g. the offline synthetic model) never pays.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional

from harness.config.schema import ModelConfig
from harness.errors import ConfigError, ContextExceeded, ProviderError, RequestRejected
from harness.models import faults
from harness.models.cache import REJECTED, CacheMode, ResponseCache, entry_of, reply_of, request_key
from harness.models.faults import Fault
from harness.records.redact import redact
from harness.seams import Reply, ToolCall, Usage
from harness.sweep import interrupt

# litellm fetches its price map from the network at import time unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MAX_BACKOFF_S = 60.0
SAMPLE_KEY = "harness_sample"  # in each request's litellm metadata (read by no remote provider): the sample index
GROUND_TRUTH_KEY = "harness_ground_truth"  # in a custom provider's hidden params: what it knows it answered
SERVED_BY_KEY = "harness_served_by"  # in the metadata: the weights and server of a model the harness serves


# Providers answered in this process, not through litellm: a provider prefix (the "harness" of "harness/synthetic")
# -> a function from the gateway's request to its Reply (see `serve_in_process`).
_IN_PROCESS: dict[str, Callable[[dict], Reply]] = {}


def serve_in_process(provider: str, answer: Callable[[dict], Reply]) -> None:
    """Answer every model `<provider>/...` with `answer(request)` in this process instead of through litellm.

    `request` is exactly what litellm.completion would get, so the cache key is the same either way; the gateway
    keeps the cache, the retry on an incomplete reply, the transcript and usage, and fills in the reply's cost
    (from the model's configured prices), latency and attempts."""
    _IN_PROCESS[provider] = answer


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


def prices(model: ModelConfig) -> Optional[tuple[float, float]]:
    """(input, output) US dollars per token: the configured prices, else the dearest of litellm's price map for
    the model (some models cost more past a context size); None when neither knows the model."""
    if model.input_cost_per_token is not None and model.output_cost_per_token is not None:
        return model.input_cost_per_token, model.output_cost_per_token
    if model.litellm_model.partition("/")[0] in _IN_PROCESS:  # litellm has no price for what it never serves
        return None
    try:
        info = _litellm().get_model_info(model.litellm_model)
    except Exception:  # litellm raises for models missing from its price map
        return None
    dearest = [max((v for k, v in info.items() if _tier(k, f"{side}_cost_per_token") and isinstance(v, (int, float))),
                   default=None) for side in ("input", "output")]
    return (float(dearest[0]), float(dearest[1])) if None not in dearest else None


def _tier(key: str, base: str) -> bool:
    """The standard price, or its price past a context size (`..._above_200k_tokens`); not the tiers of other
    services (priority, flex, batches), which the gateway never asks for."""
    return key == base or (key.startswith(base + "_above_") and key.endswith("_tokens"))


class Gateway:
    """One trial's door to one model: retries, usage totals, and a transcript of every exchange."""

    def __init__(self, model: ModelConfig, *, sample: int = 0,
                 transcript: Optional[Path] = None, cache: Optional[ResponseCache] = None,
                 sleep: Callable[[float], None] = time.sleep, trial: Optional[str] = None,
                 endpoint: Optional[Callable[[], ContextManager[str]]] = None, served_by: Optional[dict] = None):
        if cache is None or cache.mode is not CacheMode.replay:  # a strict replay needs no key
            check_credentials(model)
        self.model = model
        self.sample = sample
        # A server the harness runs itself (harness/models/local.py): `endpoint()` is entered around a provider
        # call (never on a cache hit), starts the server if need be, and gives its api_base; `served_by` (its
        # weights and version) is in the cache key instead of its address, which changes from run to run.
        self.endpoint = endpoint
        self.served_by = served_by or {}
        self.transcript = transcript
        self.sleep = sleep
        self.cache = cache
        self.trial = trial  # the trial this gateway serves: the owner of the calls it pays for
        self.usage = Usage()
        self._rng = random.Random(sample)

    def complete(self, messages: list[dict], *, temperature: float, seed: Optional[int],
                 tools: Optional[list[dict]] = None, wire: str = "chat") -> Reply:
        """Send one chat request, retrying transient provider failures; raise ProviderError when they persist, and
        RequestRejected at once when the provider refuses the request itself (kept in the cache like a reply).

        `wire` is the format the request arrived in (an agent CLI's Messages or Responses API, translated to
        chat): it is recorded in the transcript and does not change the answer, so it is not in the cache key."""
        interrupt.check()  # a stopped sweep's trials in threads spend nothing more (harness/sweep/interrupt.py)
        kwargs = self._request(messages, temperature, seed, tools)
        key = request_key(kwargs, self.sample)
        hit = self.cache.get(key, _describe(kwargs)) if self.cache else None
        if hit is not None and REJECTED in hit:  # the provider refused this very request before
            raise self._rejected(RequestRejected(**hit[REJECTED]), kwargs, key, "hit", wire)
        if hit is not None:
            # a strict replay re-plays on purpose and spends nothing; in other modes an entry this trial paid for
            # is its own call, recovered after an interruption
            reply = reply_of(hit, None if self.cache.mode is CacheMode.replay else self.trial)
            return self._accept(reply, kwargs, key, "hit" if reply.cached else "recovered", wire)
        try:
            reply = self._call_provider(kwargs)
        except RequestRejected as exc:  # kept like an answer: the same request is refused again, and replayed so
            if self.cache:
                refusal = {"message": redact(str(exc)), "error_class": exc.error_class, "status": exc.status}
                self.cache.put(key, {REJECTED: refusal, "paid_by": self.trial})
            raise self._rejected(exc, kwargs, key, "miss", wire)
        if self.cache:
            self.cache.put(key, entry_of(reply, self.trial))
        return self._accept(reply, kwargs, key, "miss", wire)

    def _rejected(self, exc: RequestRejected, kwargs: dict, key: str, cache: str, wire: str) -> RequestRejected:
        self._log({"event": "rejected", "wire": wire, "cache": cache, "key": key, "request": _loggable(kwargs),
                   "status": exc.status, "error": exc.error_class, "message": str(exc)})
        return exc

    def _accept(self, reply: Reply, kwargs: dict, key: str, cache: str, wire: str) -> Reply:
        self.usage.add(reply)
        self._log({"event": "completion", "at": round(time.time(), 3), "wire": wire, "cache": cache, "key": key,
                   "request": _loggable(kwargs), "reply": reply.message(), "finish_reason": reply.finish_reason,
                   "usage": [reply.prompt_tokens, reply.completion_tokens], "cost_usd": reply.cost_usd,
                   "latency_s": round(reply.latency_s, 4), "ground_truth": reply.ground_truth})
        return reply

    def _call_provider(self, kwargs: dict) -> Reply:
        """Ask the model's provider until it answers; only faults of the transport or the provider (connection,
        timeout, 408, 429, 5xx) are retried, with back-off. Whatever the model answers is its answer, cut at
        max_tokens or empty: the same request would get the same reply. An in-process provider fails only by a
        bug of ours: its exception propagates, and the trial records it."""
        answer = _IN_PROCESS.get(kwargs["model"].partition("/")[0])
        for attempt in range(1, self.model.max_attempts + 1):
            interrupt.check()  # a sweep stopped while this call waited: no further attempt
            try:
                if self.endpoint is None:
                    return self._ask(answer, kwargs, attempt)
                with self.endpoint() as api_base:  # each attempt: a server that died is started again
                    return self._ask(answer, {**kwargs, "api_base": api_base}, attempt)
            except (ProviderError, ConfigError):  # the endpoint could not be had (a local server that would not
                raise  # start, or runs other than configured): no answer of the model's, never cached as one
            except Exception as caught:  # litellm maps every provider failure onto its own exception classes
                if answer is not None:
                    raise
                fault = faults.classify(_litellm(), caught)
                if fault is Fault.context:
                    self._log({"event": "context_full", "attempt": attempt, "message": str(caught)})
                    raise ContextExceeded(f"{self.model.name}: {caught}") from caught
                if fault is Fault.rejected:
                    # refused by the provider, or by litellm before sending (a message it cannot translate)
                    status = getattr(caught, "status_code", None)
                    raise RequestRejected(f"{self.model.name}: {caught}", type(caught).__name__,
                                          status or 400) from caught
                if fault is Fault.final:
                    raise ProviderError(f"{self.model.name}: {caught}", type(caught).__name__) from caught
                exc, error, message = caught, type(caught).__name__, str(caught)
            self._log({"event": "retry", "attempt": attempt, "error": error, "message": message})
            if attempt == self.model.max_attempts:
                raise ProviderError(f"{self.model.name}: gave up after {attempt} attempts: {message}", error) from exc
            self.sleep(self._backoff(attempt, exc))
        raise AssertionError("unreachable")

    def _ask(self, answer: Optional[Callable[[dict], Reply]], kwargs: dict, attempt: int) -> Reply:
        """One call: to the in-process provider serving the model if there is one, else through litellm."""
        start = time.monotonic()
        if answer is None:
            return self._reply(_litellm().completion(**kwargs), time.monotonic() - start, attempt)
        reply = answer(kwargs)
        return replace(reply, cost_usd=self._cost(None, reply.prompt_tokens, reply.completion_tokens),
                       latency_s=time.monotonic() - start, attempts=attempt)

    def _request(self, messages, temperature, seed, tools) -> dict:
        m = self.model
        kwargs: dict[str, Any] = dict(
            model=m.litellm_model, messages=messages, temperature=temperature, max_tokens=reply_budget(m),
            timeout=m.timeout_s, max_retries=0, drop_params=True,
            metadata={SAMPLE_KEY: self.sample, **({SERVED_BY_KEY: self.served_by} if self.served_by else {})},
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
        elif m.local is not None:
            kwargs["api_key"] = "local"  # our own server asks for none; the openai client wants one
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
        """The configured prices, else litellm's price for a reply litellm made; unknown (None) otherwise."""
        m = self.model
        if m.local is not None:  # known to be zero, where litellm would say unknown (ModelNotMappedError)
            return 0.0
        if m.input_cost_per_token is not None and m.output_cost_per_token is not None:
            return prompt_tokens * m.input_cost_per_token + completion_tokens * m.output_cost_per_token
        if response is None:  # an in-process provider's reply: litellm has no price for what it never served
            return None
        try:
            return float(_litellm().completion_cost(completion_response=response))
        except Exception:  # litellm raises for models missing from its price map: the cost is unknown
            return None

    def _backoff(self, attempt: int, exc: Optional[Exception]) -> float:
        retry_after = faults.retry_after(exc) if exc is not None else None
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF_S)
        return min(self.model.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S) * (0.5 + 0.5 * self._rng.random())

    def _log(self, event: dict) -> None:
        if self.transcript is None:
            return
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        with self.transcript.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(redact(event), default=str) + "\n")


def reply_budget(model: ModelConfig) -> int:
    """max_tokens for each request: the configured one, cut to the context of a server the harness runs (whose
    size the config sets, so the cache key does not depend on asking a running server)."""
    return min(model.max_tokens, model.local.n_ctx) if model.local is not None else model.max_tokens


def _describe(kwargs: dict) -> str:
    last = str(kwargs["messages"][-1].get("content") or "")[:60].replace("\n", " ")
    return f"{kwargs['model']} ({len(kwargs['messages'])} messages, last: {last!r})"


def _loggable(kwargs: dict) -> dict:
    """The request as the transcript keeps it: never the key."""
    return {k: v for k, v in kwargs.items() if k != "api_key"}
