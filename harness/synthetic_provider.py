"""The litellm side of the synthetic model: a custom provider so that `harness/<name>` is a model string.

Kept apart from harness/synthetic.py, which holds the model's behaviour as plain functions.
"""

from __future__ import annotations

import json

from harness import synthetic

PROVIDER = "harness"
GROUND_TRUTH_KEY = "harness_ground_truth"


def register() -> None:
    """Make `harness/<anything>` answerable by the synthetic model (idempotent)."""
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import ChatCompletionMessageToolCall, Choices, Function, Message, ModelResponse, Usage

    if any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
        return

    class SyntheticLLM(CustomLLM):
        def completion(self, *args, **kwargs) -> ModelResponse:
            optional = kwargs.get("optional_params") or {}
            messages = [m if isinstance(m, dict) else dict(m) for m in kwargs["messages"]]
            params, temperature, seed = optional["harness_synthetic"], optional.get("temperature", 0.0), optional.get(
                "seed")
            tools = optional.get("tools") or []
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
                model=f"{PROVIDER}/{kwargs['model']}",
                choices=[Choices(index=0, finish_reason="tool_calls" if tool_calls else "stop",
                                 message=Message(role="assistant", content=text, tool_calls=tool_calls))],
                usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                            total_tokens=prompt_tokens + completion_tokens),
            )
            if truth:
                reply._hidden_params[GROUND_TRUTH_KEY] = truth
            return reply

    litellm.custom_provider_map = [*litellm.custom_provider_map,
                                   {"provider": PROVIDER, "custom_handler": SyntheticLLM()}]
    litellm.utils.custom_llm_setup()
