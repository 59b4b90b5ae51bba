"""The one-shot generator: the spec plus an output contract in one prompt, files parsed out of one reply."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

from harness.errors import ConfigError
from harness.sandbox.untrusted import unsafe_name
from harness.seams import Generation, GenerationContext, TokenBound
from harness.specs.loading import Spec

OUTPUT_CONTRACT = """\

---
Implement the specification above in Python. Reply with the complete contents of every file, each in its own
fenced code block whose opening line names the language and the file's relative path, for example:

```python {example}
...
```

The implementation must provide: {entry_files}. Only the fenced blocks are used.
"""

FENCE = re.compile(r"^```[ \t]*([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
OPEN_FENCE = re.compile(r"^```[ \t]*([^\n`]*)\n(.*)\Z", re.MULTILINE | re.DOTALL)  # a block the reply ends inside
PATH_TOKEN = re.compile(r"""(?:path|file|title|filename)?=?["']?([\w./-]+\.\w+)["']?$""")


def blocks(text: Optional[str], cut_off: bool = False) -> list[tuple[str, str]]:
    """The fenced blocks of a reply, as (info string, body). In a reply cut off at max_tokens, the block it ends
    inside counts too: what it holds is scored, as the model left it."""
    text = text or ""
    found = FENCE.findall(text)
    if cut_off:
        last_end = max((m.end() for m in FENCE.finditer(text)), default=0)
        unclosed = OPEN_FENCE.search(text, last_end)
        if unclosed:
            found.append((unclosed.group(1), unclosed.group(2)))
    return found


def parse_files(text: Optional[str], entry_files: tuple[str, ...],
                cut_off: bool = False) -> tuple[dict[str, str], str, str]:
    """Files named in fenced blocks of a model reply, a note on what was unusable, and, when no file is usable,
    how the trial ends: `no_code` (no code block at all: prose, or nothing) or `no_path` (code, but no block
    names a file the spec needs).

    A block counts when its info string names a relative path (```python pkg/mod.py). When a spec has one
    entry file and the reply has no named block, the longest unnamed Python block is taken as that file.
    """
    files: dict[str, str] = {}
    unnamed: list[str] = []
    rejected: list[str] = []
    found = blocks(text, cut_off)
    for info, body in found:
        tokens = info.split()
        path = next((m.group(1) for t in tokens[1:] + tokens[:1] if (m := PATH_TOKEN.match(t))), None)
        if path is None:
            if not tokens or tokens[0].lower() in ("python", "py", "python3"):
                unnamed.append(body)
        elif _safe(path):
            files[path] = body
        else:
            rejected.append(path)
    if not files and len(entry_files) == 1 and unnamed:
        files[entry_files[0]] = max(unnamed, key=len)
    notes = [f"rejected unsafe path(s) {rejected}"] if rejected else []
    missing = [f for f in entry_files if f not in files]
    if missing:
        if not found:
            return {}, "; ".join([f"reply holds no code block ({_words(text)})", *notes]), "no_code"
        notes.insert(0, f"reply lacks entry file(s) {missing}" + (f"; found {sorted(files)}" if files else "")
                     + f" in its {len(found)} code block(s)")
        return {}, "; ".join(notes), "no_path"
    return files, "; ".join(notes), ""


def _words(text: Optional[str]) -> str:
    words = len((text or "").split())
    return f"{words} words of prose" if words else "an empty reply"


def _safe(path: str) -> bool:
    """A relative path inside the implementation, every part of it a name a shell can handle (no leading '-')."""
    parts = PurePosixPath(path).parts
    return (not PurePosixPath(path).is_absolute() and ".." not in parts and bool(parts)
            and not any(unsafe_name(part) for part in parts))


class OneShotGenerator:
    """Prompt = spec + output contract; files are parsed out of one reply."""

    def __init__(self, system_prompt: str):
        self.system_prompt = system_prompt

    def messages(self, spec: Spec) -> list[dict]:
        """The one request's messages: the system prompt, then the spec with the output contract."""
        example = spec.entry_files[0]
        prompt = spec.text + OUTPUT_CONTRACT.format(example=example, entry_files=", ".join(spec.entry_files))
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]

    def token_bound(self, spec: Spec, max_tokens: int) -> TokenBound:
        """One call: its prompt, counted as bytes (see `prompt_token_bound`), and a reply of at most max_tokens."""
        return TokenBound(prompt_token_bound(self.messages(spec)), max_tokens)

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        if ctx.gateway is None:
            raise ConfigError("the oneshot generator needs a model")
        reply = ctx.gateway.complete(self.messages(spec), temperature=ctx.temperature, seed=ctx.seed)
        cut_off = reply.finish_reason == "length"
        files, detail, ending = parse_files(reply.content, spec.entry_files, cut_off)
        if cut_off:
            detail = "; ".join(filter(None, [f"reply cut off at max_tokens ({reply.completion_tokens} tokens)",
                                             detail]))
        return Generation(files, detail, ending or "no_code")


# Tokens a chat template adds around each message (role markers, separators): a few for every tokenizer in use;
# 16 leaves room.
TEMPLATE_TOKENS_PER_MESSAGE = 16


def prompt_token_bound(messages: list[dict]) -> int:
    """At least as many tokens as these messages can take: their UTF-8 bytes, plus the chat template's markers.

    A byte-level BPE token (GPT's, Llama's, SmolLM's) and a SentencePiece token with byte fallback each stand for
    at least one byte of text, so a text of n bytes is at most n tokens (typically 3 to 4 times fewer)."""
    return sum(len(str(m.get("content") or "").encode("utf-8")) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)
