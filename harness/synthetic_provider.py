"""The litellm side of the synthetic model: a custom provider, so that `harness/<name>` is a model string.

Registered once per process like any custom litellm provider (`register`), with its settings: where the specs
are and which extra texts (a spec's upstream text) it should recognise. Everything that changes its answer
arrives with the request as ordinary parameters (messages, tools, temperature, seed, and the mutation curve
from `model.synthetic`), so the gateway and the cache key treat it like any other model; the trial's sample
index, which every request carries in litellm's `metadata` (read by no remote provider), tells samples apart.
Kept apart from harness/synthetic.py, which holds the model's behaviour as plain functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from harness import synthetic

PROVIDER = "harness"
GROUND_TRUTH_KEY = "harness_ground_truth"
SAMPLE_KEY = "harness_sample"  # in a request's litellm metadata: the trial's sample index
_settings: dict = {"specs_dir": None, "spec_texts": {}}


def register(specs_dir: Path, spec_texts: Mapping[str, str] = ()) -> None:
    """Make `harness/<anything>` answerable by the synthetic model, reading specs from `specs_dir` and also
    recognising `spec_texts` (spec name -> text). The provider is added to litellm once; later calls update
    its settings (a sweep's trials share one specs dir, and each may add its spec's upstream text)."""
    import litellm

    _settings["specs_dir"] = str(specs_dir)
    _settings["spec_texts"] = {**_settings["spec_texts"], **dict(spec_texts)}
    if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
        litellm.custom_provider_map = [*litellm.custom_provider_map,
                                       {"provider": PROVIDER, "custom_handler": _handler()}]
        litellm.utils.custom_llm_setup()


def _handler():
    from litellm import CustomLLM

    class SyntheticLLM(CustomLLM):
        def completion(self, *args, **kwargs):
            return _complete(kwargs)

    return SyntheticLLM()


def _complete(kwargs: dict):
    from litellm.types.utils import ChatCompletionMessageToolCall, Choices, Function, Message, ModelResponse, Usage

    optional = kwargs.get("optional_params") or {}
    metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    messages = [m if isinstance(m, dict) else dict(m) for m in kwargs["messages"]]
    params = {"model": f"{PROVIDER}/{kwargs['model']}", "sample": metadata.get(SAMPLE_KEY, 0), **_settings,
              "curve_temperatures": optional.get("curve_temperatures", [0.0]),
              "curve_rates": optional.get("curve_rates", [0.0])}
    temperature, seed, tools = optional.get("temperature", 0.0), optional.get("seed"), optional.get("tools") or []
    if tools:
        text, calls, truth = synthetic.tool_turn(messages, tools, params, temperature, seed)
    else:
        (text, truth), calls = synthetic.answer(messages, params, temperature, seed), []
    tool_calls = [
        # ids unique in the conversation: an agent matches each result to its call by id
        ChatCompletionMessageToolCall(id=f"call_{len(messages)}_{i}", type="function",
                                      function=Function(name=name, arguments=json.dumps(arguments)))
        for i, (name, arguments) in enumerate(calls)
    ] or None
    prompt_tokens = synthetic.estimate_tokens(synthetic.prompt_text(messages))
    completion_tokens = synthetic.estimate_tokens((text or "") + json.dumps([c[1] for c in calls]))
    reply = ModelResponse(
        model=params["model"],
        choices=[Choices(index=0, finish_reason="tool_calls" if tool_calls else "stop",
                         message=Message(role="assistant", content=text, tool_calls=tool_calls))],
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                    total_tokens=prompt_tokens + completion_tokens),
    )
    if truth:
        reply._hidden_params[GROUND_TRUTH_KEY] = truth
    return reply
