"""The bootstrap chain: generation 0 from a configured generator, then generation k+1 from running generation k
as the agent (the spec's `agent_command`) against the trial's gateway, in a fresh work dir holding only the spec.

Every generation is scored and recorded as its own trial, with `generation` and `parent_trial_id`. A generation
that leaves no implementation ends the chain; its record says why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.external import CommandAgent
from harness.generate import make_generator, needs_model
from harness.records import RecordStore
from harness.specs import Spec
from harness.trial import TrialOutcome, define_trial, needs_for, run_one


def check_chain(cfg: HarnessConfig, spec: Spec) -> None:
    """Preflight for generator=chain."""
    if spec.agent_command is None:
        raise ConfigError(f"spec '{spec.name}' has no agent_command in its manifest, so it cannot run as an agent "
                          "in a chain; pick a spec that describes an agent (e.g. spec=minimal-coding-agent)")
    if cfg.generator.gen0 == "chain":
        raise ConfigError("generator.gen0 must be another generator kind, not chain")
    if cfg.generator.depth < 0:
        raise ConfigError(f"generator.depth must be >= 0, got {cfg.generator.depth}")
    make_generator(replace(cfg.generator, kind=cfg.generator.gen0), needs_for(cfg))


def run_chain(cfg: HarnessConfig, spec: Spec) -> list[TrialOutcome]:
    """Run (or resume) one chain; returns one outcome per generation reached."""
    check_chain(cfg, spec)
    gen0 = replace(cfg.generator, kind=cfg.generator.gen0)
    needs = needs_for(cfg)
    base = define_trial(cfg, spec)
    store = RecordStore(Path(cfg.runs_dir) / cfg.experiment.name)
    label = f"chain:{gen0.kind}"
    outcomes = [run_one(cfg, spec, make_generator(gen0, needs), {**base, "generation": 0}, uses_model=needs_model(
        gen0), generation=0, label=label)]
    for k in range(1, cfg.generator.depth + 1):
        parent = outcomes[-1].record
        if parent is None:  # the budget stopped the chain
            break
        parent_impl = store.artifacts(parent["trial_id"]) / "impl"
        if parent["status"] in ("no_code", "infra_error", "error") or not parent_impl.is_dir():
            break  # the parent left no implementation to run: the chain ends, its record says why
        shown = parent_impl if cfg.generator.show_parent else None  # the parent-visible variant
        task = cfg.generator.parent_task if shown else cfg.generator.task
        agent = CommandAgent(spec.agent_command, task, cfg.generator.timeout_s, needs.sandbox,
                             cfg.model.name, needs.caps, impl_dir=parent_impl, shown_parent=shown)
        defining = {**base, "generation": k, "parent_trial_id": parent["trial_id"]}
        outcomes.append(run_one(cfg, spec, agent, defining, uses_model=True, generation=k,
                                parent_id=parent["trial_id"], label=label))
    return outcomes
