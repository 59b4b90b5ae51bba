"""A 100-trial sweep against a provider that fails 30 % of requests: it completes, a re-run heals it, and the
final table equals a fault-free run's."""

from __future__ import annotations

import pandas as pd

from harness.records.tables import build_tables
from tests.conftest import make_spec
from tests.conftest import sweep as run_sweep
from tests.openai_server import OpenAIServer, faulty, synthetic_responder

# trial_id is left out because it hashes the provider's api_base, and the clean run's server has another port.
VOLATILE = ["created_at", "gen_seconds", "score_seconds", "git_sha", "detail", "trial_id"]


def sweep(runs, specs, url, attempts):
    """The 100 jobs in-process, through the front door (the command line is not what is tested here)."""
    return run_sweep(
        f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "temperature=0.0,1.0", "seed=range(50)",
        "model=gpt-4o", "model.litellm_model=openai/loopback", f"model.api_base={url}",
        "model.api_key_env=FAULT_KEY", "model.timeout_s=1", "model.backoff_s=0.01", f"model.max_attempts={attempts}")


def table(runs) -> pd.DataFrame:
    build_tables(runs / "demo")  # as the command does at a sweep's end
    return pd.read_parquet(runs / "demo" / "results.parquet").drop(columns=VOLATILE)


def test_faulty_provider_sweep_heals_on_rerun_and_matches_a_clean_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FAULT_KEY", "sk-fault-test-key-123456")
    specs = tmp_path / "specs"
    make_spec(specs)
    answer = synthetic_responder(specs, rate=0.5)
    runs = tmp_path / "faulty"
    with OpenAIServer(responder=faulty(answer, rate=0.3, seed=1)) as provider:
        first = sweep(runs, specs, provider.base_url, attempts=2)
        assert len(first) == 100 and not any(o.skipped for o in first)  # every job ran to a record
        after_first = table(runs)
        assert len(after_first) == 100 and set(after_first["status"]) <= {"scored", "infra_error"}
        assert (after_first["status"] == "infra_error").sum() > 0  # 30 % faults, two attempts: some give up
        second = sweep(runs, specs, provider.base_url, attempts=8)
        assert len(second) == 100
    healed = table(runs)
    assert (healed["status"] == "scored").all()
    clean_runs = tmp_path / "clean"
    with OpenAIServer(responder=answer) as provider:
        assert len(sweep(clean_runs, specs, provider.base_url, attempts=1)) == 100
    pd.testing.assert_frame_equal(healed, table(clean_runs))
