"""Hello world: one trial wired by hand, no config system in between. Start reading the harness here.

    python -m harness.run.hello_world [runs_dir]

A spec, a sandbox, the synthetic model behind its gateway, a one-shot generator and the hidden suite's scorer;
`run_trial` generates, scores and writes the record, which is printed. The `harness` command builds the same
parts from Hydra's config (harness/trial/front_door.py) and runs many trials at once (harness/sweep/).
"""

import json
import sys
import tempfile
from pathlib import Path

from harness.config.schema import PROJECT_ROOT, ModelConfig, SandboxConfig
from harness.generation.oneshot import OneShotGenerator
from harness.models.cache import CacheMode, ResponseCache
from harness.records.store import RecordStore
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.specs.loading import load_spec
from harness.sweep.budget import Budget
from harness.trial.run import ModelAccess, TrialSetup, run_trial


def main(runs_dir: Path) -> dict:
    specs = PROJECT_ROOT / "specs"
    spec = load_spec(specs, "semver")  # spec.md to give the model, its hidden suite/, its reference/
    sandbox = make_sandbox(SandboxConfig())  # bubblewrap where installed, else a weaker process sandbox
    model = ModelConfig(name="synthetic", litellm_model="harness/synthetic")  # offline; any litellm string works
    run_dir = runs_dir / "hello"
    setup = TrialSetup(
        experiment="hello", spec=spec, sandbox=sandbox, scorer=score, store=RecordStore(run_dir),
        budget=Budget(run_dir, None), model=ModelAccess(model, ResponseCache(run_dir / "cache", CacheMode.use), specs),
        temperature=0.0, seed=0, sample=0, identity={"hello": spec.spec_sha256, "model": model.litellm_model},
        label="oneshot", chain_model=None, provenance={})
    outcome = run_trial(setup, OneShotGenerator("You are a careful Python programmer."), uses_model=True)
    return outcome.record


if __name__ == "__main__":
    record = main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="hello-")))
    print(json.dumps({k: v for k, v in record.items() if k not in ("tests", "config")}, indent=1))
