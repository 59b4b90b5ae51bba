"""The agents' wire formats, translated to and from chat completions with litellm's own adapters.

Claude Code speaks Anthropic's Messages API, Codex OpenAI's Responses API. The gateway server turns each request
into a chat-completions conversation (messages and tools) for `Gateway.complete`, so every request of every agent
passes through the same cache, retries, transcript, cost and enforced sampling, and reaches any configured model.
The reply goes back in the agent's own format: litellm translates the request and the finished message; the
server-sent events of a streamed reply are framed here from that finished message (the gateway answers whole
replies, so a stream is the whole reply cut into its events).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterator, Optional

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported anywhere

CHAT, MESSAGES, RESPONSES = "chat", "messages", "responses"


@dataclass(frozen=True)
class ChatRequest:
    """What `Gateway.complete` needs of an agent's request, and what the reply's translation needs back."""

    wire: str
    messages: list[dict]
    tools: Optional[list[dict]]
    stream: bool
    body: dict  # the request as the agent sent it
    tool_names: dict  # litellm's map of shortened tool names back to the agent's own (Messages API)


class WireError(ValueError):
    """A request the agent sent that cannot be translated: answered 400, never a trial failure of ours."""


def _plain(value: Any) -> Any:
    """litellm's typed dicts may hold pydantic objects; the gateway and its cache take JSON values, no Nones."""
    data = json.loads(json.dumps(value, default=lambda o: o.model_dump() if hasattr(o, "model_dump") else str(o)))
    if isinstance(data, list):
        return [{k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m for m in data]
    return data


def parse(wire: str, body: dict) -> ChatRequest:
    """An agent's request body in `wire` format, as a chat conversation."""
    if not isinstance(body, dict):
        raise WireError("request body is not a JSON object")
    stream = bool(body.get("stream"))
    if wire == CHAT:
        messages, tools, names = body.get("messages"), body.get("tools"), {}
    elif wire == MESSAGES:
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise WireError("request has no messages")
        from litellm.llms.anthropic.pass_through.adapters.transformation import LiteLLMAnthropicMessagesAdapter

        request, names = LiteLLMAnthropicMessagesAdapter().translate_anthropic_to_openai(body)
        messages, tools = request["messages"], request.get("tools")
    elif wire == RESPONSES:
        if not body.get("input"):
            raise WireError("request has no input")
        from litellm.responses.litellm_completion_transformation.transformation import (
                                                                                        LiteLLMCompletionResponsesConfig as Config)

        params = {k: v for k, v in body.items() if k not in ("input", "model")}
        request = Config.transform_responses_api_request_to_chat_completion_request(
            model=str(body.get("model", "")), input=body["input"], responses_api_request=params)
        messages, tools, names = request["messages"], request.get("tools"), {}
    else:
        raise WireError(f"unknown wire format {wire!r}")
    if not isinstance(messages, list) or not messages:
        raise WireError("request has no messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise WireError("every message must be an object with a role")
    return ChatRequest(wire, _plain(messages), _plain(tools) or None, stream, body, dict(names or {}))


def _model_response(reply, request: ChatRequest, ident: str):
    from litellm.types.utils import ChatCompletionMessageToolCall, Choices, Function, Message, ModelResponse, Usage

    calls = [ChatCompletionMessageToolCall(id=c.id, type="function",
                                           function=Function(name=c.name, arguments=c.arguments))
             for c in reply.tool_calls] or None
    return ModelResponse(
        id=ident, model=str(request.body.get("model", "")),
        choices=[Choices(index=0, finish_reason=reply.finish_reason or "stop",
                         message=Message(role="assistant", content=reply.content, tool_calls=calls))],
        usage=Usage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                    total_tokens=reply.prompt_tokens + reply.completion_tokens))


def render(reply, request: ChatRequest, ident: str) -> dict:
    """The gateway's reply as the agent's wire format expects a whole (not streamed) answer."""
    if request.wire == CHAT:
        return {"id": ident, "object": "chat.completion", "model": request.body.get("model", ""),
                "choices": [{"index": 0, "message": reply.message(), "finish_reason": reply.finish_reason or "stop"}],
                "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                          "total_tokens": reply.prompt_tokens + reply.completion_tokens}}
    response = _model_response(reply, request, ident)
    if request.wire == MESSAGES:
        from litellm.llms.anthropic.pass_through.adapters.transformation import LiteLLMAnthropicMessagesAdapter

        out = LiteLLMAnthropicMessagesAdapter().translate_openai_response_to_anthropic(
            response, tool_name_mapping=request.tool_names)
        return {**_plain(out), "id": ident}
    if request.wire == RESPONSES:
        from litellm.responses.litellm_completion_transformation.transformation import (
                                                                                        LiteLLMCompletionResponsesConfig as Config)

        params = {k: v for k, v in request.body.items() if k not in ("input", "model")}
        out = Config.transform_chat_completion_response_to_responses_api_response(
            request_input=request.body["input"], responses_api_request=params, chat_completion_response=response)
        return {**_plain(out), "id": ident}
    raise WireError(f"unknown wire format {request.wire!r}")


def stream_body(payload: dict, wire: str) -> bytes:
    """A whole reply as the body of a server-sent-events stream in its wire format."""
    lines = [(f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"  # chat chunks have no names
             for name, data in events(payload, wire)]
    if wire == CHAT:  # chat completions ends its stream with a sentinel
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def events(payload: dict, wire: str) -> Iterator[tuple[str, dict]]:
    """A whole reply cut into the server-sent events of its wire format's stream: (event name, data)."""
    if wire == MESSAGES:
        yield from _message_events(payload)
    elif wire == RESPONSES:
        yield from _response_events(payload)
    else:
        yield from _chat_chunks(payload)


def _message_events(message: dict) -> Iterator[tuple[str, dict]]:
    usage = message.get("usage") or {}
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    yield "message_start", {"type": "message_start", "message": start}
    for i, block in enumerate(message.get("content") or []):
        if block.get("type") == "tool_use":
            opening, delta = {**block, "input": {}}, {"type": "input_json_delta",
                                                      "partial_json": json.dumps(block.get("input") or {})}
        elif block.get("type") == "text":
            opening, delta = {**block, "text": ""}, {"type": "text_delta", "text": block.get("text", "")}
        else:
            opening, delta = block, None
        yield "content_block_start", {"type": "content_block_start", "index": i, "content_block": opening}
        if delta is not None:
            yield "content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    yield "message_delta", {"type": "message_delta", "usage": {"output_tokens": usage.get("output_tokens", 0)},
                            "delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": None}}
    yield "message_stop", {"type": "message_stop"}


def _response_events(response: dict) -> Iterator[tuple[str, dict]]:
    seq = iter(range(1_000_000))
    yield "response.created", {"type": "response.created", "sequence_number": next(seq),
                               "response": {**response, "status": "in_progress", "output": []}}
    for i, item in enumerate(response.get("output") or []):
        for kind in ("response.output_item.added", "response.output_item.done"):
            yield kind, {"type": kind, "sequence_number": next(seq), "output_index": i, "item": item}
    yield "response.completed", {"type": "response.completed", "sequence_number": next(seq), "response": response}


def _chat_chunks(completion: dict) -> Iterator[tuple[str, dict]]:
    choice = completion["choices"][0]
    delta = {k: v for k, v in choice["message"].items() if k in ("role", "content", "tool_calls") and v is not None}
    for i, call in enumerate(delta.get("tool_calls") or []):
        call["index"] = i
    chunk = {k: completion[k] for k in ("id", "created", "model") if k in completion}
    yield "", {**chunk, "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}],
               "usage": completion.get("usage")}
