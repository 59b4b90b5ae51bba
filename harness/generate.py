"""Generators: ways to obtain an implementation of a spec.

`oneshot` asks a model once and parses files out of its reply; `agent` runs the built-in tool loop
(harness/agent.py); `external` runs an agent CLI (harness/external.py); `reference` and `import` are controls
that need no model (the spec's own reference, or an implementation made elsewhere, scored as is).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Optional
from urllib.parse import urlparse

from harness.genconfig import (GENERATOR_CONFIGS, AgentConfig, ExternalConfig, GeneratorConfig, ImportConfig,
                               OneShotConfig)
from harness.errors import ConfigError
from harness.pins import Pin, fetch
from harness.seams import Generation, GenerationContext, Generator, Sandbox
from harness.specs import Spec
from harness.untrusted import TreeCaps, read_tree

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
    parts = PurePosixPath(path).parts
    return not PurePosixPath(path).is_absolute() and ".." not in parts and bool(parts)


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


class PinnedFileGenerator:
    """A control: one pinned file (e.g. the paper's published agent_0), fetched once and verified."""

    def __init__(self, pin: Pin, cache_dir: Path):
        self.pin, self.cache_dir = pin, cache_dir

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        text = fetch(self.pin, self.cache_dir).read_text(encoding="utf-8")
        name = PurePosixPath(urlparse(self.pin.url).path).name
        if len(spec.entry_files) == 1 and name.endswith(".py"):
            name = spec.entry_files[0]
        return Generation({name: text}, f"imported {self.pin.url}")


class FolderGenerator:
    """A control: the regular text files of an existing folder, scored as they are. A folder to import may come
    from anywhere (another harness, a generated agent's output), so it is read as untrusted: no link is followed."""

    def __init__(self, folder: Optional[Path], caps: TreeCaps):
        self.folder, self.caps = folder, caps

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        folder = self.folder or spec.reference_dir
        tree = read_tree(folder, self.caps)
        missing = [f for f in spec.entry_files if f not in tree.files]
        if missing:
            return Generation({}, "; ".join(filter(None, [tree.note(), f"{folder} lacks entry file(s) {missing}"])))
        return Generation(tree.files, tree.note())


@dataclass(frozen=True)
class Needs:
    """What generators may be built with, besides their own config."""

    sandbox: Sandbox
    model_name: str
    cache_dir: Path
    caps: TreeCaps  # how much of a tree of untrusted files (a work dir, an imported folder) is read


def _import(cfg: ImportConfig, needs: Needs) -> Generator:
    if cfg.import_url:
        if not cfg.import_sha256:
            raise ConfigError("generator.import_url needs generator.import_sha256 (the pin that makes it reproducible)")
        pin = Pin(cfg.import_url, cfg.import_sha256)
        fetch(pin, needs.cache_dir)  # a 404 or a wrong sha256 is the user's one-line error now, not a trial's
        return PinnedFileGenerator(pin, needs.cache_dir)
    folder = Path(cfg.import_path or "").expanduser()
    if not cfg.import_path or not folder.is_dir():
        raise ConfigError("generator=import needs generator.import_path=<an existing folder> or "
                          f"generator.import_url + generator.import_sha256; got import_path={cfg.import_path!r}")
    return FolderGenerator(folder.resolve(), needs.caps)


def _agent(cfg: AgentConfig, needs: Needs) -> Generator:
    from harness.agent import BuiltinAgent

    return BuiltinAgent(cfg.system_prompt, cfg.task, cfg.max_turns, cfg.max_total_tokens, needs.sandbox, needs.caps)


def _external(cfg: ExternalConfig, needs: Needs) -> Generator:
    from harness.external import CommandAgent

    if not cfg.command:
        raise ConfigError("generator=external needs generator.command (a list: program and arguments)")
    missing = [name for name in cfg.pass_env if name not in os.environ]
    if missing:
        raise ConfigError(f"generator.pass_env names {missing}, which are not set in the environment")
    env = {**dict(cfg.env), **{name: os.environ[name] for name in cfg.pass_env}}
    return CommandAgent(cfg.command, cfg.task, cfg.timeout_s, needs.sandbox, needs.model_name, needs.caps,
                        env=env)


def _oneshot(cfg: OneShotConfig, needs: Needs) -> Generator:
    return OneShotGenerator(cfg.system_prompt)


# kind -> how to build it from its own config (harness/genconfig.py: GENERATOR_CONFIGS) and what it may be given.
GENERATORS: dict[str, Callable[[Any, Needs], Generator]] = {
    "oneshot": _oneshot,
    "reference": lambda cfg, needs: FolderGenerator(None, needs.caps),
    "import": _import,
    "agent": _agent,
    "external": _external,
}
MODEL_GENERATORS = {"oneshot", "agent", "external"}


def prompt_templates(kind: str) -> str:
    """The fixed text a generator kind adds to every prompt, and for agent CLIs the pins of the versions run
    (hashed into the trial id: editing either is a new trial)."""
    if kind == "oneshot":
        return OUTPUT_CONTRACT
    if kind == "external":
        from harness.external import agent_pins

        return agent_pins()
    if kind == "agent":
        from harness.agent import TOOLS

        return json.dumps(TOOLS, sort_keys=True)
    return ""


def make_generator(cfg: GeneratorConfig, needs: Needs) -> Generator:
    """Build the generator `cfg` configures (the chain is not one: see harness/job.py and harness/chain.py)."""
    if cfg.kind not in GENERATORS:
        raise ConfigError(f"unknown generator kind {cfg.kind!r}; valid: {', '.join([*GENERATORS, 'chain'])}")
    if type(cfg) is not GENERATOR_CONFIGS[cfg.kind]:
        raise ConfigError(f"generator.kind={cfg.kind} on a {type(cfg).__name__}; choose a generator with "
                          f"generator={cfg.kind} instead")
    return GENERATORS[cfg.kind](cfg, needs)


def needs_model(cfg: GeneratorConfig) -> bool:
    return cfg.kind in MODEL_GENERATORS or cfg.kind == "chain"
