"""Which generator a config names, built from its own config: `make_generator(cfg, needs)`.

`oneshot` asks a model once and parses files out of its reply (harness/generation/oneshot.py); `agent` runs the
built-in tool loop (harness/generation/builtin_agent.py); `external` runs an agent CLI
(harness/generation/agent_cli.py); `reference` and `import` are controls that need no model (the spec's own
reference, or an implementation made elsewhere, scored as is: harness/generation/controls.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.config.generators import (GENERATOR_CONFIGS, AgentConfig, ExternalConfig, GeneratorConfig, ImportConfig,
                                        OneShotConfig)
from harness.errors import ConfigError
from harness.generation import oneshot
from harness.generation.controls import FolderGenerator, PinnedFileGenerator
from harness.sandbox.untrusted import TreeCaps
from harness.seams import Generator, Sandbox
from harness.specs.pins import Pin, fetch


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
    from harness.generation.builtin_agent import BuiltinAgent

    return BuiltinAgent(cfg.system_prompt, cfg.task, cfg.max_turns, cfg.max_total_tokens, needs.sandbox, needs.caps)


def _external(cfg: ExternalConfig, needs: Needs) -> Generator:
    from harness.generation.agent_cli import CommandAgent

    if not cfg.command:
        raise ConfigError("generator=external needs generator.command (a list: program and arguments)")
    missing = [name for name in cfg.pass_env if name not in os.environ]
    if missing:
        raise ConfigError(f"generator.pass_env names {missing}, which are not set in the environment")
    env = {**dict(cfg.env), **{name: os.environ[name] for name in cfg.pass_env}}
    return CommandAgent(cfg.command, cfg.task, cfg.timeout_s, needs.sandbox, needs.model_name, needs.caps,
                        env=env, max_model_calls=cfg.max_model_calls)


def _oneshot(cfg: OneShotConfig, needs: Needs) -> Generator:
    return oneshot.OneShotGenerator(cfg.system_prompt)


# kind -> how to build it from its own config (harness/config/generators.py: GENERATOR_CONFIGS) and what it may be given.
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
        return oneshot.OUTPUT_CONTRACT
    if kind == "external":
        from harness.generation.agent_cli import agent_pins

        return agent_pins()
    if kind == "agent":
        from harness.generation.builtin_agent import TOOLS

        return json.dumps(TOOLS, sort_keys=True)
    return ""


def make_generator(cfg: GeneratorConfig, needs: Needs) -> Generator:
    """Build the generator `cfg` configures (the chain is not one: see harness/trial/front_door.py and harness/trial/chain.py)."""
    if cfg.kind not in GENERATORS:
        raise ConfigError(f"unknown generator kind {cfg.kind!r}; valid: {', '.join([*GENERATORS, 'chain'])}")
    if type(cfg) is not GENERATOR_CONFIGS[cfg.kind]:
        raise ConfigError(f"generator.kind={cfg.kind} on a {type(cfg).__name__}; choose a generator with "
                          f"generator={cfg.kind} instead")
    return GENERATORS[cfg.kind](cfg, needs)


def needs_model(cfg: GeneratorConfig) -> bool:
    return cfg.kind in MODEL_GENERATORS or cfg.kind == "chain"
