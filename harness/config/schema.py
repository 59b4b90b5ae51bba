"""Typed configuration: one dataclass per config group, joined in `HarnessConfig` and stored in Hydra's ConfigStore
(the generator group has one per generator: harness/config/generators.py).

`conf/config.yaml` starts from that schema, so a misspelt key or a value of the wrong type in any group file or
override fails while Hydra composes the config, before anything runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from harness.config.generators import GENERATOR_CONFIGS, SCHEMAS, ChainConfig, ChainOptions, GeneratorConfig
from harness.errors import ConfigError
from harness.models.cache import CacheMode

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Programs that run inside a sandbox (copied or mounted there, never imported by the harness), by their names there.
INSIDE = PROJECT_ROOT / "harness" / "inside"
CONF_DIR = PROJECT_ROOT / "conf"
# The synthetic model's provider, `harness/<name>` (harness/models/synthetic/provider.py): its prices are made up.
SYNTHETIC_PROVIDER = "harness"


def made_up_prices(litellm_model: object) -> bool:
    """Whether a model string is the synthetic model's, whose costs are invented: spend that was never paid."""
    return str(litellm_model).startswith(f"{SYNTHETIC_PROVIDER}/")


@dataclass
class SyntheticParams:
    """How the offline synthetic model misbehaves: mutation rate as a piecewise-linear curve of temperature."""

    curve_temperatures: List[float] = field(default_factory=lambda: [0.0, 1.0])
    curve_rates: List[float] = field(default_factory=lambda: [0.1, 0.6])


@dataclass
class LocalParams:
    """A model the harness serves itself (harness/models/local.py): llama.cpp's server in a child process."""

    gguf: Optional[str] = None  # a GGUF file to serve; None: the pinned SmolLM2-135M-Instruct (harness/models/weights.py)
    n_ctx: int = 4096  # context of each slot, in tokens (prompt + reply); max_tokens is cut to it
    n_parallel: int = 2  # slots: requests decoded together (docs/benchmarks.md: tokens/s at 1, 2 and 4)
    threads: int = 1  # CPU threads; 0: the usable cores. One: its threads wait on each other, and on a busy
    #                   machine (the suites being scored share it) two were many times slower (docs/benchmarks.md)
    startup_timeout_s: float = 300.0


@dataclass
class ModelConfig:
    name: str = MISSING  # short name used in tables
    litellm_model: str = MISSING  # e.g. "openai/gpt-4o", "ollama_chat/llama3.1", "harness/synthetic"
    api_base: Optional[str] = None
    api_key_env: Optional[str] = None  # name of the environment variable holding the key, never the key
    input_cost_per_token: Optional[float] = None  # USD; overrides litellm's price map (unknown models have none)
    output_cost_per_token: Optional[float] = None
    max_tokens: int = 8192
    timeout_s: float = 300.0
    max_attempts: int = 5  # our retry loop; litellm's own retries are always off
    backoff_s: float = 1.0  # first back-off; doubles each attempt, with jitter
    synthetic: Optional[SyntheticParams] = None
    local: Optional[LocalParams] = None  # set: the harness starts and stops the model's server itself


class SpecText(str, Enum):
    ours = "ours"  # specs/<name>/spec.md
    upstream = "upstream"  # the pinned original text, for specs that declare one


@dataclass
class SpecConfig:
    name: str = MISSING
    text: SpecText = SpecText.ours


class SandboxKind(str, Enum):
    auto = "auto"  # bwrap where it is installed, else process (with a warning)
    bwrap = "bwrap"
    process = "process"


@dataclass
class SandboxConfig:
    kind: SandboxKind = SandboxKind.auto
    output_cap_bytes: int = 1_000_000  # kept of each of stdout and stderr
    memory_mb: int = 4096  # RLIMIT_AS
    processes: int = 512  # RLIMIT_NPROC (enforced only for a non-root uid: bwrap runs children as nobody)
    file_mb: int = 256  # RLIMIT_FSIZE
    open_files: int = 1024  # RLIMIT_NOFILE
    output_mb: int = 64  # stdout + stderr together; past this the child is killed and the status says so
    disk_mb: int = 512  # each dir a child may write (a tmpfs, as root: harness/sandbox/writable.py), each scratch
    # Reading back a tree a child made (an agent's work dir; also an imported folder): at most this many entries
    # (files, folders, links) and folders this deep; at most disk_mb of text in all (harness/sandbox/untrusted.py).
    tree_entries: int = 2000
    tree_depth: int = 32
    # Suites forked from a template that has imported pytest (harness/sandbox/warm.py): faster, never another
    # outcome, so not part of a trial's id (harness/trial/identity.py). false: every run starts cold.
    warm: bool = True


@dataclass
class CacheConfig:
    mode: CacheMode = CacheMode.use  # off | use | record | replay (strict: a miss is an error, no provider call)
    dir: str = "${runs_dir}/${experiment.name}/cache"


@dataclass
class ExperimentConfig:
    name: str = MISSING
    description: str = ""


@dataclass
class LaunchConfig:
    """How the sweep's trials are run; never part of a trial's id (harness/sweep/plan.py, harness/sweep/pool.py)."""

    concurrency: int = 4  # trials in flight at once in one process (they wait on the model and on suites)
    score_workers: int = 0  # suites scored at once in one process; 0: one per usable core
    trials_per_job: int = 0  # trials a launcher job carries; 0: all in one job with Hydra's basic launcher,
    #                          else spread evenly over `hydra.launcher.n_jobs` (joblib) or one each (submitit)
    plan: Optional[str] = None  # set by the command: the plan file its jobs read their trials from
    batch: int = 0  # set by the command: which of the plan's batches this job runs


@dataclass
class HarnessConfig:
    model: ModelConfig = MISSING
    generator: GeneratorConfig = MISSING
    spec: SpecConfig = MISSING
    sandbox: SandboxConfig = MISSING
    experiment: ExperimentConfig = MISSING
    cache: CacheConfig = field(default_factory=CacheConfig)
    temperature: float = 0.0
    seed: int = 0
    sample: int = 0  # index of a repeated sample of the same cell; part of the trial id
    max_cost_usd: Optional[float] = None  # the experiment's spending cap (recorded spend + in-flight estimates)
    specs_dir: str = str(PROJECT_ROOT / "specs")
    runs_dir: str = str(PROJECT_ROOT / "runs")
    downloads_dir: str = "${oc.env:HARNESS_DOWNLOADS,${oc.env:HOME}/.cache/bootstrap-harness}"  # pinned files
    sweep_jobs: int = 0  # read by nothing since sweeps are planned (harness/sweep/plan.py); kept so that records written
    #                      before, whose provenance holds it, still read back (`from_plain`)
    launch: LaunchConfig = field(default_factory=LaunchConfig)


def register_configs() -> None:
    """Store the root schema, which `conf/config.yaml` starts from, and each generator's, which its
    `conf/generator/*.yaml` starts from; so every group's node is typed."""
    store = ConfigStore.instance()
    store.store(name="harness_schema", node=HarnessConfig)
    for name, node in SCHEMAS.items():
        store.store(group="generator", name=name, node=node)


def to_typed(cfg: Any) -> HarnessConfig:
    """Turn a composed DictConfig into plain typed dataclasses (enums as enums), dropping Hydra's own node; a
    chain's flat options become a ChainConfig holding its generation 0's own config."""
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(HarnessConfig), cfg))
    if isinstance(typed.generator, ChainOptions):
        typed.generator = typed.generator.typed()
    return typed


def from_plain(plain: dict) -> HarnessConfig:
    """A config as `to_plain` wrote it (a record's provenance) typed again. Settings a generator does not read,
    kept by records written before each generator had its own config, are dropped."""
    generator = OmegaConf.structured(_generator(plain["generator"]))
    typed = OmegaConf.merge(OmegaConf.structured(HarnessConfig), {"generator": generator})
    typed = OmegaConf.merge(typed, {k: v for k, v in plain.items() if k != "generator"})
    return OmegaConf.to_object(typed)


def _generator(plain: dict) -> GeneratorConfig:
    if plain["kind"] == "chain" and isinstance(plain.get("gen0"), dict):
        own = {k: v for k, v in plain.items() if k != "gen0"}
        return OmegaConf.to_object(OmegaConf.merge(ChainConfig(gen0=_generator(plain["gen0"])), own))
    cls = ChainOptions if plain["kind"] == "chain" else GENERATOR_CONFIGS.get(plain["kind"])
    if cls is None:
        valid = ", ".join([*GENERATOR_CONFIGS, "chain"])
        raise ConfigError(f"unknown generator kind {plain['kind']!r}; valid: {valid}")
    names = {f.name for f in dataclasses.fields(cls)}
    typed = OmegaConf.to_object(OmegaConf.merge(cls, {k: v for k, v in plain.items() if k in names}))
    return typed.typed() if isinstance(typed, ChainOptions) else typed


def to_plain(cfg: HarnessConfig) -> dict:
    """The resolved config as JSON-ready data, for provenance in records."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)


# name -> (smallest allowed, largest allowed or None), checked before anything runs. Below these a sandbox cannot
# even start Python, so a trial's failure would be the limit's, not the model's. Above them the kernel refuses the
# limit (a size in bytes past 64 bits, more open files than fs.nr_open's default, more processes than pids.max
# takes) or a wait cannot be set (a timeout past what a C long holds), which would be every trial's error.
MB, OPEN_FILES, PROCESSES, SECONDS = 10 ** 9, 2 ** 20, 2 ** 22, 10.0 ** 8
RANGES = {
    "temperature": (0.0, 2.0), "sample": (0, None), "max_cost_usd": (1e-9, None),
    "model.max_tokens": (1, None), "model.timeout_s": (0.001, SECONDS), "model.max_attempts": (1, None),
    "model.backoff_s": (0.0, SECONDS), "model.local.n_ctx": (64, None), "model.local.n_parallel": (1, None),
    "model.local.threads": (0, None), "model.local.startup_timeout_s": (1, SECONDS),
    "generator.max_turns": (1, None), "generator.max_total_tokens": (1, None),
    "generator.timeout_s": (0.001, SECONDS), "generator.depth": (0, None), "generator.max_model_calls": (1, None),
    "sandbox.memory_mb": (256, MB), "sandbox.processes": (16, PROCESSES), "sandbox.file_mb": (1, MB),
    "sandbox.open_files": (64, OPEN_FILES), "sandbox.output_mb": (1, MB), "sandbox.disk_mb": (16, MB),
    "sandbox.output_cap_bytes": (1024, None), "sandbox.tree_entries": (1, None), "sandbox.tree_depth": (1, None),
    "launch.concurrency": (1, None), "launch.score_workers": (0, None), "launch.trials_per_job": (0, None),
}
INT64 = (-2 ** 63, 2 ** 63 - 1)  # every integer setting: a record's columns are int64 (a seed past it broke tables)
# Names that become folders (an experiment's, a spec's) or table cells and command-line arguments (a model's):
# a letter or digit first (never `..`, `-rf` or empty), then a few safe characters, at most 100.
FOLDER_NAME = (re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}"), ". _ + -")
NAMES = {"experiment.name": FOLDER_NAME, "spec.name": FOLDER_NAME,
         "model.name": (re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:@/-]{0,99}"), ". _ + : @ / -")}


def validate(cfg: HarnessConfig) -> None:
    """Raise ConfigError naming the first setting that cannot be used: a number that is not finite or does not
    fit in 64 bits, one outside its range (see RANGES), a name that is not a plain name (NAMES), or a runs_dir
    that cannot be written."""
    for dotted, value in _numbers(cfg):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{dotted}={value} is not a finite number; give a finite one")
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            raise ConfigError(f"{dotted}={value} does not fit in 64 bits; give a smaller integer")
    for dotted, (low, high) in RANGES.items():
        value = setting(cfg, dotted)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            bound = f"between {_shown(low)} and {_shown(high)}" if high is not None else f"at least {_shown(low)}"
            raise ConfigError(f"{dotted}={value} is out of range: it must be {bound}")
    for dotted, (pattern, allowed) in NAMES.items():
        value = setting(cfg, dotted)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ConfigError(f"{dotted}={value!r} is not a usable name: a letter or digit, then letters, digits "
                              f"or {allowed}, at most 100 characters")
    if not str(cfg.runs_dir).strip():
        raise ConfigError("runs_dir is empty; give a folder, e.g. runs_dir=runs")
    _check_writable("runs_dir", str(cfg.runs_dir), Path(cfg.runs_dir).expanduser() / cfg.experiment.name)
    if cfg.cache.mode in (CacheMode.use, CacheMode.record):  # the modes that store what the provider answers
        _check_writable("cache.dir", str(cfg.cache.dir), Path(cfg.cache.dir).expanduser())


def _shown(bound: float) -> str:
    return f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"


def _numbers(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every int and float setting under `node`, by the name a user gives it (a chain's generation 0 settings as
    `generator.<name>`); lists by their key."""
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _numbers(getattr(node, f.name), prefix if f.name == "gen0" else f"{prefix}{f.name}.")
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _numbers(item, prefix)
    elif isinstance(node, (int, float)) and not isinstance(node, (bool, Enum)):
        yield prefix[:-1], node


def _check_writable(name: str, given: str, folder: Path) -> None:
    """`folder` is, or can be made, a folder this process writes in: tried, and undone (root may write where
    os.access says so and still be refused, as in /sys or on a read-only mount)."""
    existing = next(p for p in [folder, *folder.parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"{name}={given}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".harness-probe-", dir=existing))
    except OSError as exc:
        raise ConfigError(f"{name}={given}: cannot write in {existing} ({exc.strerror}); "
                          "give a folder you can write") from None


def setting(cfg: HarnessConfig, dotted: str) -> Any:
    """A setting by the name a user gives it on the command line, or None when the config has none such. A
    chain's generation-0 settings are set as `generator.<name>` (see harness/config/generators.py)."""
    value: Any = cfg
    for part in dotted.split("."):
        value = getattr(value, part, None)
    if value is None and dotted.startswith("generator.") and isinstance(cfg.generator, ChainConfig):
        return getattr(cfg.generator.gen0, dotted.split(".", 1)[1], None)
    return value
