"""The front door in-process: `run_trials` builds a job's parts once and runs its trial, or its chain, through the
same single-trial function; a trial costs its own work, not a Python start-up."""

from __future__ import annotations

import json

import pytest

from harness.records.store import RecordStore
from harness.trial.front_door import build_trials, run_trials
from tests.conftest import PLANTED_KEY, ROOT, config


@pytest.fixture
def tiny(tmp_path, tiny_specs) -> list[str]:
    return [f"runs_dir={tmp_path / 'runs'}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder",
            "experiment.name=inproc", "temperature=0.0", "seed=0"]


def test_a_trial_runs_in_process_is_recorded_and_is_skipped_the_second_time(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    cfg = config(*tiny)
    [outcome] = run_trials(cfg)
    record = outcome.record
    assert not outcome.skipped and record["status"] == "scored" and record["passed_all"], record["detail"]
    assert (record["generator"], record["model"], record["tests_total"]) == ("oneshot", "synthetic", 3)
    assert record["sandbox"] in ("bwrap", "process") and record["config"]["spec"]["name"] == "adder"
    stored = RecordStore(tmp_path / "runs" / "inproc").load(record["trial_id"])
    assert stored == record and PLANTED_KEY not in json.dumps(stored)
    [again] = run_trials(cfg)
    assert again.skipped and again.record == record  # same inputs, same trial: nothing runs twice


def test_a_control_calls_no_model_and_builds_no_gateway(tmp_path, tiny, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    built = build_trials(config(*tiny, "generator=reference"))
    assert not built.calls_model and built.agent_from is None
    [outcome] = run_trials(config(*tiny, "generator=reference"))
    assert (outcome.record["status"], outcome.record["model"], outcome.record["model_calls"]) == ("scored", "-", 0)


def test_a_chain_is_a_loop_over_the_same_trial_function(tmp_path):
    fixtures = ROOT / "tests" / "fixtures"
    cfg = config(f"runs_dir={tmp_path / 'runs'}", f"specs_dir={fixtures}", "experiment=paper", "spec.name=tiny-agent",
                 "generator.gen0=reference", "generator.depth=1", "model.synthetic.curve_rates=[0.0,0.0]")
    outcomes = run_trials(cfg)
    records = [o.record for o in outcomes]
    assert [r["generation"] for r in records] == [0, 1] and [r["status"] for r in records] == ["scored"] * 2
    assert records[1]["parent_trial_id"] == records[0]["trial_id"]
    assert {r["generator"] for r in records} == {"chain:reference"} and records[1]["chain_model"] == "synthetic"
    assert [o.skipped for o in run_trials(cfg)] == [True, True]


def test_a_chain_does_not_go_on_from_a_generation_that_is_not_the_models_doing(tmp_path):
    fixtures = ROOT / "tests" / "fixtures"
    cfg = config(f"runs_dir={tmp_path / 'runs'}", f"specs_dir={fixtures}", "experiment=paper", "spec.name=tiny-agent",
                 "generator.gen0=oneshot", "generator.depth=2", "cache.mode=replay")  # an empty cache: a miss
    outcomes = run_trials(cfg)
    assert len(outcomes) == 1 and outcomes[0].record["status"] == "infra_error"
    assert outcomes[0].record["detail"].startswith("CacheMiss")
