"""One config class per generator: each `conf/generator/*.yaml` starts from its kind's dataclass (stored in
Hydra's ConfigStore as `<kind>_schema`), so a generator's config holds exactly what it reads, and a trial's id
hashes exactly that (harness/trial/identity.py). A setting another generator reads fails while Hydra composes the
config (`generator.max_turns` on a one-shot generator names the key).

The chain (`conf/generator/chain.yaml`) holds its generation 0's own config (`gen0`) and `depth`. On the command
line it reads flat, as it always has (`generator.gen0=import generator.import_path=...`): its Hydra schema,
`ChainOptions`, is derived from the generation-0 classes below, and `ChainOptions.typed()` turns it into a
`ChainConfig` whose `gen0` keeps only the settings its kind reads.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from omegaconf import MISSING

from harness.errors import ConfigError

SYSTEM_PROMPT = "You are an expert Python programmer."
TASK = "implement the spec in a single python file"  # agents: the user's request; spec.md is in the work dir
# Requests an agent run as a subprocess may send through the trial's endpoint; past it, each is refused with an error
# the agent sees, and the record's detail says so (harness/models/endpoint.py). Generous for an agent CLI on one
# spec; at this default it is not part of a trial's id (harness/trial/identity.py).
MAX_MODEL_CALLS = 500
PARENT_TASK = ("implement the spec in a single python file. The folder parent/ holds, read-only, the source of an "
               "earlier implementation of this spec: write your own implementation from scratch, without copying it")


@dataclass
class GeneratorConfig:
    """What every generator's config has: its kind, a name in `GENERATOR_CONFIGS` (or `chain`)."""

    kind: str = MISSING


@dataclass
class OneShotConfig(GeneratorConfig):
    """Prompt = spec + output contract; files parsed out of one reply."""

    kind: str = "oneshot"
    system_prompt: str = SYSTEM_PROMPT


@dataclass
class AgentConfig(GeneratorConfig):
    """The built-in tool loop (harness/generation/builtin_agent.py)."""

    kind: str = "agent"
    system_prompt: str = SYSTEM_PROMPT
    task: str = TASK
    max_turns: int = 30
    max_total_tokens: int = 400_000


@dataclass
class ExternalConfig(GeneratorConfig):
    """An agent CLI from a command template; placeholders {prompt} {model} {base_url} {api_key} {workdir}
    {python} (harness/generation/agent_cli.py)."""

    kind: str = "external"
    command: List[str] = field(default_factory=list)
    env: Dict[str, str] = field(default_factory=dict)  # extra variables for the agent (templates allowed)
    pass_env: List[str] = field(default_factory=list)  # names of harness variables the agent may see (its own key)
    task: str = TASK
    timeout_s: float = 900.0
    max_model_calls: int = MAX_MODEL_CALLS


@dataclass
class ImportConfig(GeneratorConfig):
    """A control: a folder, or a pinned file (URL + sha256) fetched once into downloads_dir, scored as is."""

    kind: str = "import"
    import_path: Optional[str] = None
    import_url: Optional[str] = None
    import_sha256: Optional[str] = None


@dataclass
class ReferenceConfig(GeneratorConfig):
    """A control: the spec's own reference implementation. Reads no setting."""

    kind: str = "reference"


GENERATOR_CONFIGS = {c.kind: c for c in (OneShotConfig, AgentConfig, ExternalConfig, ImportConfig, ReferenceConfig)}


@dataclass
class ChainConfig(GeneratorConfig):
    """The bootstrap chain: generation 0 from `gen0`, then `depth` generations, each made by running the previous
    one as the agent with `task`, for up to `timeout_s` and `max_model_calls` requests."""

    kind: str = "chain"
    gen0: GeneratorConfig = field(default_factory=AgentConfig)
    depth: int = 1
    task: str = TASK
    timeout_s: float = 900.0
    max_model_calls: int = MAX_MODEL_CALLS
    # the parent-visible variant (harness/generation/parent_view.py): generation k+1 also sees its parent's source, with
    # `parent_task` for its task
    show_parent: bool = False
    parent_task: str = PARENT_TASK


def _typed(options: "ChainOptions") -> ChainConfig:
    """The chain these flat options describe: `gen0` built from the options its kind reads (the rest ignored)."""
    if options.gen0 not in GENERATOR_CONFIGS:
        raise ConfigError(f"generator.gen0={options.gen0} is not a generator kind a chain can start from; valid: "
                          f"{', '.join(GENERATOR_CONFIGS)}")
    cls = GENERATOR_CONFIGS[options.gen0]
    gen0 = cls(**{f.name: getattr(options, f.name) for f in dataclasses.fields(cls) if f.name != "kind"})
    return ChainConfig(gen0=gen0, depth=options.depth, task=options.task, timeout_s=options.timeout_s,
                       max_model_calls=options.max_model_calls, show_parent=options.show_parent,
                       parent_task=options.parent_task)


def _chain_options() -> type:
    """The chain's flat Hydra schema: its own settings (gen0 as a kind's name) and every generation-0 kind's,
    derived from their classes, so that a setting added to a generator can be set on a chain at once."""
    spec = []
    for cls in (ChainConfig, *GENERATOR_CONFIGS.values()):
        for f in dataclasses.fields(cls):
            if f.name in {name for name, *_ in spec}:
                continue
            if f.name == "gen0":
                spec.append(("gen0", str, field(default="agent")))
            elif f.default is dataclasses.MISSING:
                spec.append((f.name, f.type, field(default_factory=f.default_factory)))
            else:
                spec.append((f.name, f.type, field(default=f.default)))
    options = dataclasses.make_dataclass("ChainOptions", spec, bases=(GeneratorConfig,), namespace={"typed": _typed})
    options.__module__ = __name__
    return options


# What chain.yaml is composed on; `typed()` gives the ChainConfig a job runs.
ChainOptions = _chain_options()
SCHEMAS = {**{f"{kind}_schema": cls for kind, cls in GENERATOR_CONFIGS.items()}, "chain_schema": ChainOptions}
