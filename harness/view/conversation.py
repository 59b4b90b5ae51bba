"""A trial's transcript (`transcript.jsonl`, written by harness/models/gateway.py) read back as a conversation.

Each completion in the transcript holds the whole request (every message so far, in chat format: agent CLIs'
Messages and Responses requests are translated before the gateway sees them, the `wire` field says which they
were) and the reply. Shown as is, an agent's tenth call would repeat nine calls' messages, so each call shows
only the messages its request adds to the conversation so far; a request that does not continue it (an agent
CLI's side request, a sub-agent) starts a new conversation, or resumes an earlier point of it, and says so.
Messages are compared by role, text and tool calls, so a reply an agent sends back in its own shape still
counts as the same message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from harness.view.markup import capped, esc, folded, pre

FOLD_ABOVE = 3000  # characters: a longer message is folded under its first line
SHOWN_CHARS = 100_000  # of one message, at most


@dataclass(frozen=True)
class ToolUse:
    name: str
    arguments: str  # as the model wrote them; shown indented when they are JSON
    call_id: str = ""


@dataclass(frozen=True)
class Message:
    role: str
    text: str
    tool_calls: tuple[ToolUse, ...] = ()
    call_id: str = ""  # a tool result's: the call it answers

    @property
    def key(self) -> tuple:
        return self.role, self.text.strip(), tuple((t.name, t.arguments) for t in self.tool_calls)


@dataclass(frozen=True)
class Call:
    """One model call as the conversation view shows it."""

    number: int
    start: str  # "" when it continues the conversation; else what it does instead (a new one, a resumed one)
    added: tuple[Message, ...]  # the messages its request adds
    reply: Optional[Message]
    tools: tuple[str, ...]  # the tools offered, when they differ from the previous call's
    meta: str  # wire, cache, tokens, cost, time, finish reason


@dataclass(frozen=True)
class Note:
    """A line of the transcript that is no completion: a retry, or something unreadable."""

    text: str


def message_of(raw: Any) -> Message:
    """A chat message (a dict from a request or a reply) as a Message; anything else as an unreadable one."""
    if not isinstance(raw, dict):
        return Message("?", f"(not a message: {str(raw)[:200]})")
    calls = tuple(ToolUse(str((c.get("function") or {}).get("name", "?")),
                          str((c.get("function") or {}).get("arguments", "")), str(c.get("id", "")))
                  for c in raw.get("tool_calls") or () if isinstance(c, dict))
    return Message(str(raw.get("role", "?")), _text(raw.get("content")), calls, str(raw.get("tool_call_id", "")))


def _text(content: Any) -> str:
    """The text of a message's content: a string, or the text of each part of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type", "?") if isinstance(part, dict) else type(part).__name__
                parts.append(f"[{kind} part]")
        return "\n".join(parts)
    return json.dumps(content, default=str)


def read_calls(lines: list[str]) -> list[Call | Note]:
    """The transcript's lines as calls and notes, in order (see the module's docstring)."""
    shown: list[Call | Note] = []
    so_far: list[tuple] = []  # keys of the conversation so far: the last request's messages, then its reply
    tools: tuple[str, ...] = ()
    number = 0
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            shown.append(Note(f"an unreadable line: {line[:200]}"))
            continue
        if not isinstance(event, dict) or event.get("event") != "completion":
            shown.append(_note(event))
            continue
        number += 1
        request = event.get("request") if isinstance(event.get("request"), dict) else {}
        messages = [message_of(m) for m in request.get("messages") or () if m is not None]
        reply = message_of(event["reply"]) if "reply" in event else None
        keys = [m.key for m in messages]
        same = _common_prefix(keys, so_far)
        start = "" if same == len(so_far) and so_far else (
            "a new conversation" if same == 0 else f"resumes the conversation after its message {same}")
        offered = tuple(sorted(_tool_names(request.get("tools"))))
        shown.append(Call(number, start if number > 1 else "", tuple(messages[same:]), reply,
                          offered if offered != tools else (), _meta(event)))
        tools, so_far = offered, keys + ([reply.key] if reply else [])
    return shown


def _common_prefix(a: list, b: list) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _tool_names(tools: Any) -> list[str]:
    names = []
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            names.append(str((tool.get("function") or {}).get("name") or tool.get("name") or "?"))
    return names


def _meta(event: dict) -> str:
    usage = event.get("usage") if isinstance(event.get("usage"), list) else []
    parts = [f"wire {event.get('wire', '?')}", f"cache {event.get('cache', '?')}"]
    if len(usage) == 2:
        parts.append(f"{usage[0]} prompt + {usage[1]} completion tokens")
    if isinstance(event.get("cost_usd"), (int, float)):
        parts.append(f"US$ {event['cost_usd']:.6g}")
    parts += [f"{event.get('latency_s', '?')} s", f"finish {event.get('finish_reason', '?')}"]
    if event.get("ground_truth"):
        parts.append(f"ground truth {event['ground_truth']}")
    return ", ".join(str(p) for p in parts)


def _note(event: Any) -> Note:
    if isinstance(event, dict) and event.get("event") == "retry":
        return Note(f"retry after attempt {event.get('attempt')}: {event.get('error')}: {event.get('message')}")
    # The gateway's other endings of a call: said in words, since the JSON cut at 300 characters ended inside the
    # request and never reached why (llama.cpp's 400 'Cannot have 2 or more assistant messages at the end').
    if isinstance(event, dict) and event.get("event") == "rejected":
        return Note(f"request refused by the provider (HTTP {event.get('status')} {event.get('error')}, cache "
                    f"{event.get('cache')}): {event.get('message')}")
    if isinstance(event, dict) and event.get("event") == "context_full":
        return Note(f"the request did not fit the model's context (attempt {event.get('attempt')}): "
                    f"{event.get('message')}")
    return Note(f"another event: {json.dumps(event, default=str)[:300]}")


def render(calls: list[Call | Note]) -> str:
    """The conversation as markup: each call's new messages, then its reply."""
    out = []
    for item in calls:
        if isinstance(item, Note):
            out.append(f'<p class="divider">{esc(item.text)}</p>')
            continue
        head = f"call {item.number}" + (f": {item.start}" if item.start else "")
        tools = (f'<p class="note">tools offered: {esc(", ".join(item.tools))}</p>') if item.tools else ""
        body = "".join(_message(m) for m in item.added)
        reply = _message(item.reply, "reply", open_=True) if item.reply else '<p class="note">no reply recorded</p>'
        out.append(f'<div class="call" id="call-{item.number}"><h3>{esc(head)}</h3>'
                   f'<p class="meta">{esc(item.meta)}</p>{tools}{body}{reply}</div>')
    return "".join(out) or '<p class="note">The transcript holds no model call.</p>'


def _message(message: Message, label: str = "", open_: bool = False) -> str:
    who = message.role + (f" ({label})" if label else "")
    who += f", the result of {message.call_id}" if message.call_id else ""
    text = capped(message.text, SHOWN_CHARS)
    body = "" if not text else (folded(f"{_first_line(text)} ({len(message.text):,} characters)", pre(text), open_)
                                if len(text) > FOLD_ABOVE else pre(text))
    for use in message.tool_calls:
        body += f'<p class="meta">tool call {esc(use.name)}{f" [{esc(use.call_id)}]" if use.call_id else ""}</p>'
        body += pre(capped(_arguments(use.arguments), SHOWN_CHARS))
    return f'<div class="msg"><div class="role">{esc(who)}</div>{body or pre("(empty)")}</div>'


def _first_line(text: str) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line[:120] + ("..." if len(line) > 120 else "")


def _arguments(arguments: str) -> str:
    """A tool call's arguments, indented when they are a JSON object (a file's content then reads as lines)."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" if isinstance(v, str) else f"{k}: {json.dumps(v)}" for k, v in value.items())
    return json.dumps(value, indent=1)
