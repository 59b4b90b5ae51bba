"""The front door from a config: `run_trials(cfg)` runs what one trial config defines, end to end.

    config -> spec, sandbox, scorer, generator, record store (each built once) -> run_trial, or a chain of them
           -> generator (through the gateway) -> files -> scorer (in the sandbox) -> record on disk

One config defines one trial, or one bootstrap chain (harness/trial/chain.py: a loop over the same single-trial
function). The same wiring without a config system is harness/run/hello_world.py. `build_trials` is also the
preflight's check of a config: what it cannot build is the user's one-line error.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from harness.config.generators import ChainConfig
from harness.config.schema import HarnessConfig, SpecText, to_plain
from harness.generation.agent_cli import CommandAgent
from harness.generation.registry import Needs, make_generator, needs_model
from harness.models.cache import ResponseCache
from harness.records.store import RecordStore
from harness.sandbox.backends import make_sandbox
from harness.sandbox.untrusted import TreeCaps
from harness.scoring.rooms import score
from harness.seams import Generator
from harness.specs.loading import Spec, load_spec
from harness.sweep.budget import Budget
from harness.trial.chain import check_chain, run_chain
from harness.trial.identity import define_trial
from harness.trial.run import ModelAccess, TrialOutcome, TrialSetup, run_trial


@dataclass(frozen=True)
class Built:
    """What one config's trials are built from: what they share, the generator of its (first) trial, and for a
    chain, its depth and how each later generation is made from its parent's implementation."""

    setup: TrialSetup
    generator: Generator
    uses_model: bool
    depth: int = 0
    agent_from: Optional[Callable[[Path], Generator]] = None

    @property
    def calls_model(self) -> bool:
        """Whether some trial of the config calls the model (every generation after a chain's first does)."""
        return self.uses_model or self.agent_from is not None


def run_trials(cfg: HarnessConfig, plain: Optional[dict] = None,
               score_slots: Optional[AbstractContextManager] = None) -> list[TrialOutcome]:
    """Run the trial, or the chain of trials, the config defines; one outcome per trial reached. `plain` is
    `to_plain(cfg)` when the caller has it (a sweep's plan does); `score_slots` is held while a suite runs, when
    several trials share the machine's cores (harness/sweep/pool.py)."""
    built = build_trials(cfg, plain, score_slots)
    if built.agent_from is None:
        return [run_trial(built.setup, built.generator, uses_model=built.uses_model)]
    return run_chain(built.setup, built.generator, built.uses_model, built.depth, built.agent_from)


def build_trials(cfg: HarnessConfig, plain: Optional[dict] = None,
              score_slots: Optional[AbstractContextManager] = None) -> Built:
    """Build the spec, sandbox, scorer, generator and record store once; raise ConfigError on what cannot be
    built."""
    plain = plain if plain is not None else to_plain(cfg)
    spec = load_spec(Path(cfg.specs_dir), cfg.spec.name, upstream=cfg.spec.text is SpecText.upstream,
                     cache_dir=Path(cfg.downloads_dir))
    sandbox = make_sandbox(cfg.sandbox)
    needs = Needs(sandbox, cfg.model.name, Path(cfg.downloads_dir), TreeCaps.of(cfg.sandbox))
    chained = isinstance(cfg.generator, ChainConfig)
    gen0 = cfg.generator.gen0 if chained else cfg.generator
    if chained:
        check_chain(spec)
    run_dir = Path(cfg.runs_dir) / cfg.experiment.name
    setup = TrialSetup(
        experiment=cfg.experiment.name, spec=spec, sandbox=sandbox, scorer=score, store=RecordStore(run_dir),
        budget=Budget(run_dir, cfg.max_cost_usd),
        model=ModelAccess(cfg.model, ResponseCache(Path(cfg.cache.dir), cfg.cache.mode), Path(cfg.specs_dir),
                          Path(cfg.downloads_dir), run_dir / "server"),
        temperature=cfg.temperature, seed=cfg.seed, sample=cfg.sample,
        identity=define_trial(cfg, spec, sandbox.name, plain),
        label=f"chain:{gen0.kind}" if chained else cfg.generator.kind,
        chain_model=cfg.model.name if chained else None, provenance=plain, score_slots=score_slots or nullcontext())
    generator = make_generator(gen0, needs)
    if not chained:
        return Built(setup, generator, needs_model(gen0))
    return Built(setup, generator, needs_model(gen0), cfg.generator.depth, _agent_from(cfg, spec, needs))


def _agent_from(cfg: HarnessConfig, spec: Spec, needs: Needs) -> Callable[[Path], Generator]:
    """How a chain makes generation k+1: the spec's agent_command runs generation k's implementation."""
    def agent(impl: Path) -> Generator:
        shown = impl if cfg.generator.show_parent else None  # the parent-visible variant
        task = cfg.generator.parent_task if shown else cfg.generator.task
        return CommandAgent(spec.agent_command, task, cfg.generator.timeout_s, needs.sandbox,
                            cfg.model.name, needs.caps, impl_dir=impl, shown_parent=shown,
                            max_model_calls=cfg.generator.max_model_calls)
    return agent
