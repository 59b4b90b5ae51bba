"""What a model call returns (`Reply`, with its `ToolCall`s) and what a trial's calls add up to (`Usage`).

Shared by the gateway (harness/gateway.py), the providers it serves in-process (harness/synthetic_provider.py),
the response cache's entries and the trial's record, so they live apart from the gateway that makes the calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


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
