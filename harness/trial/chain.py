"""The bootstrap chain: generation 0 from a configured generator, then generation k+1 from running generation k
as the agent (the spec's `agent_command`) against the trial's gateway, in a fresh work dir holding only the spec.

A chain is a loop over the single-trial function (`trial.run_trial`): every generation is scored and recorded as
its own trial, with `generation` and `parent_trial_id`. A generation that leaves no implementation ends the
chain; its record says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from harness.errors import ConfigError
from harness.seams import NO_IMPLEMENTATION, Generator, counts_against_model
from harness.specs.loading import Spec
from harness.trial.run import TrialSetup, Place, TrialOutcome, run_trial


def check_chain(spec: Spec) -> None:
    """Preflight for generator=chain: the spec describes an agent, so each generation can run as one."""
    if spec.agent_command is None:
        raise ConfigError(f"spec '{spec.name}' has no agent_command in its manifest, so it cannot run as an agent "
                          "in a chain; pick a spec that describes an agent (e.g. spec=minimal-coding-agent)")


def run_chain(setup: TrialSetup, gen0: Generator, gen0_uses_model: bool, depth: int,
              agent_from: Callable[[Path], Generator]) -> list[TrialOutcome]:
    """Run (or resume) one chain of `depth` generations after generation 0; `agent_from(impl)` is the generator
    that runs the implementation in `impl` as the agent. Returns one outcome per generation reached."""
    outcomes = [run_trial(setup, gen0, uses_model=gen0_uses_model, place=Place(0, None, {"generation": 0}))]
    for k in range(1, depth + 1):
        parent_impl = _implementation(setup, outcomes[-1].record)
        if parent_impl is None:
            break
        parent = outcomes[-1].record["trial_id"]
        place = Place(k, parent, {"generation": k, "parent_trial_id": parent})
        outcomes.append(run_trial(setup, agent_from(parent_impl), uses_model=True, place=place))
    return outcomes


def _implementation(setup: TrialSetup, parent: Optional[dict]) -> Optional[Path]:
    """The parent's implementation, if the chain can go on from it: not when the budget kept the parent from
    starting, when it left no code, or when it ended in a way that is not the model's doing (it will be retried,
    and a child made from this attempt would outlive it)."""
    if parent is None or parent["status"] in NO_IMPLEMENTATION or not counts_against_model(parent["status"]):
        return None
    impl = setup.store.artifacts(parent["trial_id"]) / "impl"
    return impl if impl.is_dir() else None
