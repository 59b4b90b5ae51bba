"""experiment=paper as a new user first runs it: its default seed gives a chain that lives, and a chain can die.

Each generation is made the way the chain makes it (the built-in agent, then generation 0 run as the agent in
the sandbox, through the trial's gateway) but not scored: what the synthetic model answered (its ground truth)
decides the outcome, since its reference passes every test (tests/run/test_app.py) and later generations send
the requests generation 1 sent."""

from __future__ import annotations

from pathlib import Path

from harness.seams import GenerationContext
from harness.sweep.preflight import preflight
from harness.trial.front_door import Built, build_trials


def first_generations(built: Built, workdir: Path) -> list[tuple[list[str], dict]]:
    """(the model's ground truths, the files) of generation 0 and, when it left code, of generation 1."""
    setup, made, impl = built.setup, [], None
    for k in (0, 1):
        folder = workdir / f"generation-{k}"
        folder.mkdir()
        gateway = setup.model.gateway(setup.spec, folder / "transcript.jsonl", f"generation-{k}", setup.sample)
        generator = built.generator if k == 0 else built.agent_from(impl)
        generation = generator.generate(setup.spec, GenerationContext(gateway, setup.temperature, setup.seed, folder))
        made.append((gateway.usage.ground_truths, generation.files))
        if not generation.files:
            break
        impl = folder / "impl"
        for path, text in generation.files.items():
            (impl / path).parent.mkdir(parents=True, exist_ok=True)
            (impl / path).write_text(text, encoding="utf-8")
    return made


def test_the_default_run_is_a_chain_that_lives(tmp_path):
    planned = preflight(["experiment=paper", f"runs_dir={tmp_path / 'runs'}"]).planned  # as `harness experiment=paper`
    assert len(planned) == 1 and planned[0].cfg.seed == 2
    made = first_generations(build_trials(planned[0].cfg), tmp_path)
    assert [set(truths) for truths, _ in made] == [{"reference"}, {"reference"}]
    assert all(files for _, files in made)


def test_on_seed_0_the_chain_dies_at_generation_1(tmp_path):
    planned = preflight(["experiment=paper", "seed=0", f"runs_dir={tmp_path / 'runs'}"]).planned
    made = first_generations(build_trials(planned[0].cfg), tmp_path)
    assert len(made) == 2 and made[0][0][-1].startswith("mutant:") and made[1][1] == {}  # no code: the chain ends
