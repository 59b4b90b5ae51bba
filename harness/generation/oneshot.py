"""The one-shot generator: the spec plus an output contract in one prompt, files parsed out of one reply."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

from harness.errors import ConfigError
from harness.sandbox.untrusted import unsafe_name
from harness.seams import Generation, GenerationContext
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
PATH_TOKEN = re.compile(r"""(?:path|file|title|filename)?=?["']?([\w./-]+\.\w+)["']?$""")


def parse_files(text: Optional[str], entry_files: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """Files named in fenced blocks of a model reply, and a note on what was unusable.

    A block counts when its info string names a relative path (```python pkg/mod.py). When a spec has one
    entry file and the reply has no named block, the longest unnamed Python block is taken as that file.
    """
    files: dict[str, str] = {}
    unnamed: list[str] = []
    rejected: list[str] = []
    for info, body in FENCE.findall(text or ""):
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
        notes.insert(0, f"reply lacks entry file(s) {missing}" + (f"; found {sorted(files)}" if files else ""))
        return {}, "; ".join(notes)
    return files, "; ".join(notes)


def _safe(path: str) -> bool:
    """A relative path inside the implementation, every part of it a name a shell can handle (no leading '-')."""
    parts = PurePosixPath(path).parts
    return (not PurePosixPath(path).is_absolute() and ".." not in parts and bool(parts)
            and not any(unsafe_name(part) for part in parts))


class OneShotGenerator:
    """Prompt = spec + output contract; files are parsed out of one reply."""

    def __init__(self, system_prompt: str):
        self.system_prompt = system_prompt

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        if ctx.gateway is None:
            raise ConfigError("the oneshot generator needs a model")
        example = spec.entry_files[0]
        prompt = spec.text + OUTPUT_CONTRACT.format(example=example, entry_files=", ".join(spec.entry_files))
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]
        reply = ctx.gateway.complete(messages, temperature=ctx.temperature, seed=ctx.seed)
        files, detail = parse_files(reply.content, spec.entry_files)
        if reply.finish_reason == "length":
            detail = "; ".join(filter(None, ["reply cut off at max_tokens", detail]))
        return Generation(files, detail)
