"""harness.analysis.seeds: variance components against hand computation, plans that agree with the interval the tables
report, and the harness-seeds command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis.cells import cell_keys
from harness.analysis.intervals import clopper_pearson, clustered_interval
from harness.analysis.seeds import MAX_SEEDS, main, plan_seeds, planned_half_width, seeds_needed, variance_components


def test_variance_components_hand_computed():
    # Seeds with trials (1, 1, 0), (0, 0, 0), (1, 1, 1): seed means 2/3, 0, 1; grand mean 5/9.
    # Within-seed sums of squares 2 (1/3)^2 + (2/3)^2 = 2/3, 0, 0: MSW = (2/3) / (9 - 3) = 1/9.
    # MSB = 3 ((2/3 - 5/9)^2 + (5/9)^2 + (4/9)^2) / 2 = 3 (1 + 25 + 16) / 81 / 2 = 7/9; m0 = 3.
    parts = variance_components([1, 1, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert parts.within == pytest.approx(1 / 9)
    assert parts.between == pytest.approx((7 / 9 - 1 / 9) / 3)
    assert parts.seed_mean == pytest.approx(7 / 27)
    assert parts.seed_mean == pytest.approx(np.var([2 / 3, 0, 1], ddof=1))  # balanced: the seed means' variance


def test_variance_components_with_one_trial_per_seed_or_one_seed():
    parts = variance_components([1, 0, 1, 1], [0, 1, 2, 3])
    assert math.isnan(parts.within) and math.isnan(parts.between)
    assert parts.seed_mean == pytest.approx(np.var([1, 0, 1, 1], ddof=1))
    one = variance_components([1, 0, 1], [5, 5, 5])
    assert all(math.isnan(x) for x in (one.between, one.within, one.seed_mean))


def test_variance_components_recover_a_simulated_truth():
    rng = np.random.default_rng(11)
    means = rng.normal(0.5, 0.2, size=400)  # between = 0.04
    values = means[:, None] + rng.normal(0, 0.3, size=(400, 5))  # within = 0.09
    parts = variance_components(values.ravel(), np.repeat(np.arange(400), 5))
    assert parts.between == pytest.approx(0.04, abs=0.008) and parts.within == pytest.approx(0.09, abs=0.008)


def test_design_effect_from_the_components():
    parts = variance_components([1, 1, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 2, 2, 2])
    icc = parts.between / (parts.between + parts.within)  # (2/9) / (3/9)
    assert parts.design_effect(3) == pytest.approx(1 + 2 * icc) == pytest.approx(7 / 3)
    assert variance_components([1, 0, 1, 1], range(4)).design_effect(1) == 1.0  # one trial per seed
    assert variance_components([1.0] * 6, [0, 0, 1, 1, 2, 2]).design_effect(2) == 1.0  # every trial agrees
    assert math.isnan(variance_components([1, 0], [3, 3]).design_effect(2))  # one seed


def test_the_plan_at_the_pilot_size_is_about_the_interval_now():
    for values, seeds, per_seed in [([1, 0, 1, 1, 0, 1, 1], range(7), 1),
                                    ([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1], np.repeat([0, 1, 2, 3], 3), 3)]:
        now = clustered_interval(values, seeds)
        deff = variance_components(values, seeds).design_effect(per_seed)
        planned = planned_half_width(now.mean, deff, now.clusters, per_seed)
        # Exact with one trial per seed; otherwise the components' deff and the interval's own differ slightly.
        assert planned == pytest.approx((now.high - now.low) / 2, rel=1e-12 if per_seed == 1 else 0.1)


def test_seeds_needed_is_the_fewest_that_reach_the_target():
    for mean, deff, per_seed in [(0.6, 1.8, 6), (1.0, 1.0, 1), (0.3, 3.0, 2), (0.9, 1.2, 3)]:
        needed = int(seeds_needed(mean, deff, per_seed, 0.05))
        assert planned_half_width(mean, deff, needed, per_seed) <= 0.05
        assert needed == 2 or planned_half_width(mean, deff, needed - 1, per_seed) > 0.05
    assert math.isnan(seeds_needed(0.5, math.nan, 1, 0.05))
    assert math.isnan(seeds_needed(0.5, 1.0, 1, 0.001))  # more than MAX_SEEDS
    assert MAX_SEEDS >= 10_000


def test_one_trial_per_seed_plans_clopper_pearson_on_the_seeds():
    needed = int(seeds_needed(2 / 3, 1.0, 1, 0.05))
    half = lambda n: float(np.diff(clopper_pearson(2 / 3 * n, n))[0]) / 2
    assert half(needed) <= 0.05 < half(needed - 1)
    assert 340 <= needed <= 370  # about z^2 p (1 - p) / h^2 = 341, a little more for an exact interval
    assert seeds_needed(1.0, 1.0, 1, 0.05) == 36  # all passing: low bound 0.025^(1/n) >= 0.9 from n = 36


def test_the_plan_counts_on_the_worst_case_when_the_pilot_saw_no_failure():
    """Every pilot trial passed: the interval will take deff at its maximum (every seed's trials alike), so
    more trials per seed buy nothing and the plan is the seeds' own Clopper-Pearson."""
    assert seeds_needed(1.0, 1.0, 6, 0.05) == seeds_needed(1.0, 1.0, 1, 0.05) == 36


def pilot() -> pd.DataFrame:
    """Two cells with 4 seeds of 3 trials each (one agreeing, one split), a one-seed cell, and excluded trials."""
    rows = []
    for temperature, outcomes in [(0.0, [1] * 12), (1.0, [1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1])]:
        for i, ok in enumerate(outcomes):
            rows.append({"seed": i // 3, "sample": i % 3, "temperature": temperature, "passed_all": bool(ok),
                         "pass_rate": float(ok), "status": "scored"})
    rows += [{"seed": 0, "sample": 0, "temperature": 2.0, "passed_all": True, "pass_rate": 1.0, "status": "scored"},
             {"seed": 9, "sample": 0, "temperature": 1.0, "passed_all": True, "pass_rate": 1.0,
              "status": "infra_error"}]
    return pd.DataFrame(rows).assign(spec="s", model="m", generator="oneshot", generation=0, cost_usd=0.0)


def test_plan_seeds_per_cell():
    plan = plan_seeds(pilot(), 0.1).reset_index().set_index("temperature")
    assert plan["seeds"].tolist() == [4, 4, 1] and plan["trials_per_seed"].tolist() == [3.0, 3.0, 1.0]
    assert plan.loc[1.0, "mean"] == pytest.approx(7 / 12)  # the infra_error trial is not in the pilot
    assert plan.loc[0.0, "between_var"] == 0.0 and plan.loc[0.0, "within_var"] == 0.0
    assert plan.loc[0.0, "deff"] == 1.0 and plan.loc[1.0, "deff"] > 1.0
    assert plan.loc[1.0, "seeds_needed"] > plan.loc[0.0, "seeds_needed"] > 4  # the split cell needs more
    assert math.isnan(plan.loc[2.0, "half_width"]) and math.isnan(plan.loc[2.0, "seeds_needed"])
    assert list(plan_seeds(pilot(), 0.1).index.names) == cell_keys(("spec", "model", "temperature"))
    with pytest.raises(ValueError):
        plan_seeds(pilot(), 0.7)


def test_harness_seeds_prints_one_line_per_cell(tmp_path, capsys):
    run = tmp_path / "exp"
    run.mkdir()
    pilot().to_parquet(run / "results.parquet")
    main([str(run), "--half-width", "0.1"])
    lines = capsys.readouterr().out.splitlines()
    assert str(run / "results.parquet") in lines[0] and "half-width 0.1" in lines[0]
    cells = lines[3:]  # after the header line and the two lines of column and index names
    assert len(cells) == 3 and "seeds_needed" in lines[1]
    assert cells[-1].split()[-1] == "-"  # the one-seed cell: not estimable


def test_harness_seeds_refuses_a_folder_without_a_table(tmp_path, capsys):
    with pytest.raises(SystemExit) as ended:
        main([str(tmp_path), "--half-width", "0.05"])
    assert ended.value.code == 2 and "no results table" in capsys.readouterr().err
