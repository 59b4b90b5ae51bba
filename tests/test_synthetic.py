from __future__ import annotations

import pytest

from harness import synthetic_provider
from harness.config import ModelConfig, SyntheticParams
from harness.gateway import Gateway
from harness.generate import parse_files
from harness.synthetic import choose_answer, mutation_rate, reference_files


@pytest.mark.parametrize("t,expected", [(-1, 0.1), (0.0, 0.1), (0.25, 0.2), (0.5, 0.3), (1.0, 0.7), (2.0, 0.7)])
def test_mutation_curve_is_piecewise_linear_and_flat_outside(t, expected):
    assert mutation_rate(t, [0.0, 0.5, 1.0], [0.1, 0.3, 0.7]) == pytest.approx(expected)


@pytest.mark.parametrize("ts,rs", [([0.0, 1.0], [0.1]), ([1.0, 0.0], [0.1, 0.2]), ([], [])])
def test_bad_curves_are_rejected(ts, rs):
    with pytest.raises(ValueError):
        mutation_rate(0.5, ts, rs)


def test_choice_is_seeded_and_extremes_are_respected(tiny_specs):
    root = tiny_specs / "adder"
    assert choose_answer(root, "k1", 0.5) == choose_answer(root, "k1", 0.5)
    assert choose_answer(root, "k1", 0.0) == (reference_files(root), "reference")
    files, truth = choose_answer(root, "k1", 1.0)
    assert truth.startswith("mutant:adder.py:") and files["adder.py"] != reference_files(root)["adder.py"]


def synthetic_gateway(specs, rates=(1.0, 1.0), sample=0, tmp=None):
    cfg = ModelConfig(name="synthetic", litellm_model="harness/synthetic", input_cost_per_token=1e-6,
                      output_cost_per_token=1e-6,
                      synthetic=SyntheticParams(curve_temperatures=[0.0, 1.0], curve_rates=list(rates)))
    synthetic_provider.register(specs)
    return Gateway(cfg, sample=sample, transcript=tmp)


def test_through_litellm_the_reply_carries_files_and_ground_truth(tiny_specs, tmp_path):
    spec_text = (tiny_specs / "adder" / "spec.md").read_text()
    gw = synthetic_gateway(tiny_specs, rates=(0.0, 0.0), tmp=tmp_path / "t.jsonl")
    reply = gw.complete([{"role": "user", "content": spec_text + "\nplease"}], temperature=0.0, seed=1)
    files, _ = parse_files(reply.content, ("adder.py",))
    assert files == reference_files(tiny_specs / "adder") and reply.ground_truth == "reference"
    assert reply.prompt_tokens > 0 and reply.cost_usd > 0
    assert '"ground_truth": "reference"' in (tmp_path / "t.jsonl").read_text()


def test_unknown_prompt_gets_no_code(tiny_specs):
    reply = synthetic_gateway(tiny_specs).complete([{"role": "user", "content": "hello"}], temperature=0, seed=0)
    assert parse_files(reply.content, ("adder.py",))[0] == {} and reply.ground_truth == "unknown_spec"


def test_samples_differ_but_repeat(tiny_specs):
    text = (tiny_specs / "adder" / "spec.md").read_text()
    truths = {s: synthetic_gateway(tiny_specs, sample=s).complete(
        [{"role": "user", "content": text}], temperature=1.0, seed=0).ground_truth for s in range(8)}
    assert len(set(truths.values())) > 1
    again = synthetic_gateway(tiny_specs, sample=3).complete([{"role": "user", "content": text}], temperature=1.0,
                                                             seed=0)
    assert again.ground_truth == truths[3]
