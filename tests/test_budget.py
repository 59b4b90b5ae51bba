"""The spending cap, through the `harness` command with the synthetic model's made-up prices."""

from __future__ import annotations

import pandas as pd

from tests.conftest import make_spec, run_harness


def test_no_trial_starts_past_the_cap_and_the_stop_is_reported(tmp_path):
    specs = tmp_path / "specs"
    make_spec(specs)
    runs = tmp_path / "runs"
    base = [f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "seed=range(10)",
            "temperature=0.0"]
    one = run_harness(*base[:-2], "seed=0", "temperature=0.0")
    assert one.returncode == 0, one.stderr[-2000:]
    cost = pd.read_parquet(runs / "demo" / "results.parquet")["cost_usd"].iloc[0]
    assert cost > 0
    capped = run_harness(*base, f"max_cost_usd={cost * 3.5}")
    assert capped.returncode == 0, capped.stderr[-2000:]
    table = pd.read_parquet(runs / "demo" / "results.parquet")
    assert len(table) == 3  # the 4th would pass the cap with its estimate
    assert table["cost_usd"].sum() <= cost * 3.5
    assert "STOPPED BY BUDGET" in capped.stdout and "no new trial starts" in capped.stdout
    raised = run_harness(*base, f"max_cost_usd={cost * 100}")
    assert raised.returncode == 0 and len(pd.read_parquet(runs / "demo" / "results.parquet")) == 10
    assert "STOPPED BY BUDGET" not in raised.stdout
