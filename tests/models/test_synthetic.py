from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from harness.config.schema import ModelConfig, SyntheticParams
from harness.generation.oneshot import parse_files
from harness.models import gateway
from harness.models.cache import request_key
from harness.models.gateway import Gateway
from harness.models.synthetic import provider as synthetic_provider
from harness.models.synthetic.model import choose_answer, mutation_rate, reference_files
from tests.conftest import ROOT
from tests.openai_server import OpenAIServer
from tests.models.test_synthetic_tools import CLAUDE, OURS


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


def synthetic_gateway(specs, rates=(1.0, 1.0), sample=0, tmp=None, priced=True):
    prices = dict(input_cost_per_token=1e-6, output_cost_per_token=1e-6) if priced else {}
    cfg = ModelConfig(name="synthetic", litellm_model="harness/synthetic", **prices,
                      synthetic=SyntheticParams(curve_temperatures=[0.0, 1.0], curve_rates=list(rates)))
    synthetic_provider.register(specs)
    return Gateway(cfg, sample=sample, transcript=tmp)


def test_through_the_gateway_the_reply_carries_files_and_ground_truth(tiny_specs, tmp_path):
    spec_text = (tiny_specs / "adder" / "spec.md").read_text()
    gw = synthetic_gateway(tiny_specs, rates=(0.0, 0.0), tmp=tmp_path / "t.jsonl")
    reply = gw.complete([{"role": "user", "content": spec_text + "\nplease"}], temperature=0.0, seed=1)
    files, _, _ = parse_files(reply.content, ("adder.py",))
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


def conversations(spec_text: str) -> list[tuple[list[dict], list]]:
    """Requests covering every kind of synthetic answer: code in text, an unknown spec, and an agent's turns
    (read the spec, write the files with Claude Code's tools or ours, then stop)."""
    def called(name: str, arguments: dict, result: str) -> list[dict]:
        call = {"id": f"call_{name}", "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)}}
        return [{"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": result}]

    asked = [{"role": "user", "content": "implement the spec in a single python file"}]
    read = [*asked, *called("read_file", {"path": "spec.md"}, spec_text)]
    written = [*read, *called("write_file", {"path": "adder.py", "content": "..."}, "written")]
    return [([{"role": "user", "content": spec_text + "\nplease"}], []), ([{"role": "user", "content": "hi"}], []),
            (asked, OURS), (read, OURS), (written, OURS), ([{"role": "user", "content": spec_text}], CLAUDE)]


@pytest.mark.parametrize("priced", [True, False])
def test_the_direct_answer_and_litellms_custom_provider_are_the_same(tiny_specs, monkeypatch, priced):
    """The gateway answers the synthetic model in-process; through litellm's custom provider it must answer
    identically (content, tool calls, tokens, cost, ground truth), or the two paths have drifted apart."""
    spec_text = (tiny_specs / "adder" / "spec.md").read_text()
    direct, through = [], []
    synthetic_provider.register_litellm()
    for temperature, seed, sample in [(0, None, 0), (0.5, 3, 2), (1.0, 0, 1)]:
        for messages, tools in conversations(spec_text):
            asked = dict(messages=messages, temperature=temperature, seed=seed, tools=tools or None)
            gateways = [synthetic_gateway(tiny_specs, (0.3, 0.9), sample, priced=priced) for _ in range(2)]
            direct.append(gateways[0].complete(**asked))
            with monkeypatch.context() as patch:
                patch.setattr(gateway, "_IN_PROCESS", {})  # nothing served in-process: the gateway calls litellm
                through.append(gateways[1].complete(**asked))
    same = [dataclasses.replace(r, latency_s=0.0) for r in direct]
    assert same == [dataclasses.replace(r, latency_s=0.0) for r in through]
    assert {r.ground_truth for r in direct} >= {"reference", "unknown_spec", None}
    assert "The implementation is written." in {r.content for r in direct}
    assert any(r.ground_truth and r.ground_truth.startswith("mutant:") for r in direct)
    assert {c.name for r in direct for c in r.tool_calls} == {"read_file", "write_file", "Write"}
    assert all((r.cost_usd is not None) is priced for r in direct)


def test_the_synthetic_cache_key_is_the_one_recorded_caches_were_written_with(tiny_specs):
    """The key of a synthetic request, as computed before the synthetic model was served in-process: a change
    here leaves every recorded cache (and exported archive) missing on replay."""
    gw = synthetic_gateway(tiny_specs, (0.1, 0.6), sample=2)
    request = gw._request([{"role": "user", "content": "implement semver"}], 0.5, 3,
                          [{"type": "function", "function": {"name": "write_file", "parameters": {}}}])
    assert request_key(request, 2) == "961605b36ceb3c576f9f13785169f5deec835ca676b0b04742f8f2d4a53b5566"


CHILD = """
import json
import os
import sys
from harness.run.app import run
code = run(sys.argv[1:])  # what `harness` runs, without main's immediate exit
assert code == 0, code
after_trial = "litellm" in sys.modules
from harness.config.schema import ModelConfig
from harness.models.gateway import Gateway
loopback = ModelConfig(name="loopback", litellm_model="openai/loopback", api_base=os.environ["LOOPBACK_URL"],
                       api_key_env="LOOPBACK_KEY")
reply = Gateway(loopback).complete([{"role": "user", "content": "say ok"}], temperature=0, seed=0)
print(json.dumps({"after_trial": after_trial, "reply": reply.content, "after_loopback": "litellm" in sys.modules}))
"""


def test_a_synthetic_trial_never_imports_litellm_and_a_real_model_still_goes_through_it(tiny_specs, tmp_path):
    """A process that runs a synthetic trial skips litellm's 2 to 3 s import; a model served over the OpenAI wire
    (here a loopback server) is still reached through litellm, in the same process."""
    with OpenAIServer() as provider:
        argv = ["hydra.mode=RUN", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder",
                f"runs_dir={tmp_path / 'runs'}"]
        proc = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, env={**os.environ, "LOOPBACK_KEY": "sk-loopback-lazy-1234",
                                                    "LOOPBACK_URL": provider.base_url})
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"after_trial": False, "reply": "ok", "after_loopback": True}
    assert len(provider.requests) == 1
    [record] = (tmp_path / "runs" / "adhoc" / "trials").glob("*.json")
    record = json.loads(record.read_text())
    assert record["status"] == "scored" and record["model_calls"] == 1 and record["ground_truth"]
