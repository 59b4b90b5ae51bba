"""Calibration of the synthetic model: what it says it answered is what it answered, at the configured rates."""

from __future__ import annotations

import math

from omegaconf import OmegaConf

from harness.config.schema import ModelConfig
from harness.generation.oneshot import OneShotGenerator
from harness.models.gateway import Gateway
from harness.models.synthetic import provider as synthetic_provider
from harness.models.synthetic.model import mutation_rate, reference_files
from harness.sandbox.backends import ProcessSandbox
from harness.scoring.rooms import score
from harness.seams import GenerationContext, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import ROOT

TEMPERATURES = (0.0, 0.5, 1.0)
TRIALS_PER_TEMPERATURE = 80


def binomial_interval(n: int, p: float, mass: float = 0.95) -> tuple[int, int]:
    """Central interval [lo, hi] of Binomial(n, p) holding at least `mass` of the probability."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    tail = (1 - mass) / 2
    lo, acc = 0, 0.0
    while acc + pmf[lo] <= tail:
        acc += pmf[lo]
        lo += 1
    hi, acc = n, 0.0
    while acc + pmf[hi] <= tail:
        acc += pmf[hi]
        hi -= 1
    return lo, hi


def test_binomial_interval_matches_a_hand_computed_case():
    # Binomial(10, 0.5): P(X <= 1) = 11/1024 < 0.025 < P(X <= 2) = 56/1024, so the interval is [2, 8].
    assert binomial_interval(10, 0.5) == (2, 8)


def synthetic_model() -> ModelConfig:
    node = OmegaConf.merge(OmegaConf.structured(ModelConfig), OmegaConf.load(ROOT / "conf/model/synthetic.yaml"))
    return OmegaConf.to_object(node)


def test_ground_truth_and_mutation_rate_match_the_configured_curve(tmp_path):
    spec = load_spec(ROOT / "specs", "semver")
    model = synthetic_model()
    reference = reference_files(spec.root)
    answers: dict[float, list[tuple[str, dict]]] = {t: [] for t in TEMPERATURES}
    for temperature in TEMPERATURES:
        for seed in range(TRIALS_PER_TEMPERATURE):
            synthetic_provider.register(ROOT / "specs")
            gateway = Gateway(model)
            gen = OneShotGenerator("system").generate(spec, GenerationContext(gateway, temperature, seed, tmp_path))
            answers[temperature].append((gateway.usage.ground_truths[0], dict(gen.files)))
    for temperature, got in answers.items():
        p = mutation_rate(temperature, model.synthetic.curve_temperatures, model.synthetic.curve_rates)
        lo, hi = binomial_interval(len(got), p)
        mutants = sum(truth.startswith("mutant:") for truth, _ in got)
        assert lo <= mutants <= hi, (temperature, p, mutants, (lo, hi))
        for truth, files in got:
            assert (files == reference) == (truth == "reference"), truth
    # Every "reference" answer is byte-identical to the reference, so one scoring run speaks for all of them.
    result = score(spec, spec.reference_dir, ProcessSandbox())
    assert result.tests and all(t.outcome is TestOutcome.passed for t in result.tests)
