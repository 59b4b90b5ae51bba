"""The synthetic model as a provider, so that `harness/<name>` is a model string like any other.

`register` makes the gateway answer `harness/...` in this process (`gateway.serve_in_process`), with `complete`:
a process that only uses the synthetic model then never imports litellm, whose import costs 2 to 3 s. The same
answer is also a litellm custom provider (`register_litellm`), for litellm.completion called directly; it wraps
`complete`, and a test holds the two paths to the same reply. Everything that changes the answer arrives with the
request as ordinary parameters (messages, tools, temperature, seed, and the mutation curve from
`model.synthetic`), so the gateway and the cache key treat it like any other model; the trial's sample index,
which every request carries in litellm's `metadata`, tells samples apart. The settings that are not per request
(where the specs are, and which extra texts such as a spec's upstream text to recognise) are given to `register`.
Kept apart from harness/models/synthetic/model.py, which holds the model's behaviour as plain functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from harness.config.schema import SYNTHETIC_PROVIDER
from harness.models.gateway import GROUND_TRUTH_KEY, SAMPLE_KEY, serve_in_process
from harness.models.synthetic import model as synthetic
from harness.seams import Reply, ToolCall

PROVIDER = SYNTHETIC_PROVIDER
_settings: dict = {"specs_dir": None, "spec_texts": {}}


def register(specs_dir: Path, spec_texts: Mapping[str, str] = ()) -> None:
    """Make `harness/<anything>` answerable by the synthetic model, reading specs from `specs_dir` and also
    recognising `spec_texts` (spec name -> text). Later calls update the settings (a sweep's trials share one
    specs dir, and each may add its spec's upstream text)."""
    _settings["specs_dir"] = str(specs_dir)
    _settings["spec_texts"] = {**_settings["spec_texts"], **dict(spec_texts)}
    serve_in_process(PROVIDER, complete)


def complete(request: dict) -> Reply:
    """The synthetic model's reply to one request, given as the keyword arguments of litellm.completion.
    Cost, latency and attempts are left for the gateway to fill in."""
    messages = [m if isinstance(m, dict) else dict(m) for m in request["messages"]]
    params = {"model": request["model"], "sample": (request.get("metadata") or {}).get(SAMPLE_KEY, 0), **_settings,
              "curve_temperatures": request.get("curve_temperatures", [0.0]),
              "curve_rates": request.get("curve_rates", [0.0])}
    temperature, seed, tools = request.get("temperature", 0.0), request.get("seed"), request.get("tools") or []
    if tools:
        text, calls, truth = synthetic.tool_turn(messages, tools, params, temperature, seed)
    else:
        (text, truth), calls = synthetic.answer(messages, params, temperature, seed), []
    # ids unique in the conversation: an agent matches each result to its call by id
    tool_calls = tuple(ToolCall(f"call_{len(messages)}_{i}", name, json.dumps(arguments))
                       for i, (name, arguments) in enumerate(calls))
    return Reply(content=text, tool_calls=tool_calls, finish_reason="tool_calls" if tool_calls else "stop",
                 prompt_tokens=synthetic.estimate_tokens(synthetic.prompt_text(messages)),
                 completion_tokens=synthetic.estimate_tokens((text or "") + json.dumps([c[1] for c in calls])),
                 cost_usd=None, latency_s=0.0, attempts=0, ground_truth=truth or None)


def register_litellm() -> None:
    """Also make `harness/<anything>` a litellm custom provider answering with `complete` (added once), for
    litellm.completion called outside the gateway. Imports litellm; `register` first, for the settings."""
    import litellm

    if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
        litellm.custom_provider_map = [*litellm.custom_provider_map,
                                       {"provider": PROVIDER, "custom_handler": _handler()}]
        litellm.utils.custom_llm_setup()


def _handler():
    from litellm import CustomLLM

    class SyntheticLLM(CustomLLM):
        def completion(self, *args, **kwargs):
            request = _request(kwargs)
            return _model_response(complete(request), request["model"])

    return SyntheticLLM()


def _request(kwargs: dict) -> dict:
    """What litellm hands a custom provider, back in the shape the gateway sent it."""
    optional = kwargs.get("optional_params") or {}
    metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    return {**optional, "model": f"{PROVIDER}/{kwargs['model']}", "messages": kwargs["messages"],
            "metadata": metadata}


def _model_response(reply: Reply, model: str):
    from litellm.types.utils import ChatCompletionMessageToolCall, Choices, Function, Message, ModelResponse, Usage

    calls = [ChatCompletionMessageToolCall(id=c.id, type="function",
                                           function=Function(name=c.name, arguments=c.arguments))
             for c in reply.tool_calls] or None
    response = ModelResponse(
        model=model,
        choices=[Choices(index=0, finish_reason=reply.finish_reason,
                         message=Message(role="assistant", content=reply.content, tool_calls=calls))],
        usage=Usage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                    total_tokens=reply.prompt_tokens + reply.completion_tokens),
    )
    if reply.ground_truth:
        response._hidden_params[GROUND_TRUTH_KEY] = reply.ground_truth
    return response
