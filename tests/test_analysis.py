"""harness.analysis: pass@k and Wilson against hand-computed values; pass-rate, chain and per-test tables."""

from __future__ import annotations

import math
import random
from math import comb

import pandas as pd
import pytest

from harness.analysis import (chain_summary, chains, model_failures, pass_at_k, pass_rate_table,
                              survival_by_generation, test_failure_rates, wilson_interval)


@pytest.mark.parametrize("k, expected", [
    (1, 0.3),
    (2, 1 - 21 / 45),  # 1 - C(7,2)/C(10,2)
    (5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
])
def test_pass_at_k_hand_computed(k, expected):
    assert pass_at_k(10, 3, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_binomial_ratio_on_a_grid():
    for n in range(1, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_k_edges():
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 10, 3) == 1.0
    assert pass_at_k(10, 8, 3) == 1.0  # n - c = 2 < k = 3: any 3 samples include a correct one
    assert pass_at_k(10, 7, 3) < 1.0
    assert 0.0 < pass_at_k(10_000, 1, 100) < 1.0  # large n stays finite


@pytest.mark.parametrize("n, c, k", [(5, 1, 6), (5, 6, 1), (-1, 0, 1), (5, -1, 1), (5, 1, -1)])
def test_pass_at_k_rejects_invalid_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_wilson_hand_computed():
    # 3 of 10 at 95 %: z = 1.959964, z^2 = 3.841459; centre = (0.3 + 0.192073) / 1.384146 = 0.355503,
    # half = 1.959964 / 1.384146 * sqrt(0.021 + 0.009604) = 0.247716.
    low, high = wilson_interval(3, 10)
    assert low == pytest.approx(0.107789, abs=1e-5)
    assert high == pytest.approx(0.603219, abs=1e-5)


def test_wilson_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.0 < high < 0.2
    low, high = wilson_interval(20, 20)
    assert 0.8 < low < 1.0 and high == 1.0
    narrow, wide = wilson_interval(5, 10, 0.80), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.0)


def test_wilson_coverage_on_simulated_binomials():
    rng = random.Random(20210707)
    p, n, runs = 0.3, 50, 2000
    covered = 0
    for _ in range(runs):
        successes = sum(rng.random() < p for _ in range(n))
        low, high = wilson_interval(successes, n)
        covered += low <= p <= high
    assert 0.93 <= covered / runs <= 0.97


def _trial(spec, model, temperature, status, pass_rate, passed_all, cost):
    return dict(spec=spec, model=model, temperature=temperature, status=status,
                pass_rate=pass_rate, passed_all=passed_all, cost_usd=cost)


@pytest.fixture
def small_results() -> pd.DataFrame:
    return pd.DataFrame([
        _trial("semver", "m1", 0.0, "scored", 1.0, True, 0.02),
        _trial("semver", "m1", 0.0, "scored", 0.5, False, 0.04),
        _trial("semver", "m1", 0.0, "no_code", 0.0, False, 0.03),
        _trial("semver", "m1", 0.0, "infra_error", 0.0, False, math.nan),
        _trial("semver", "m1", 1.0, "timeout", 0.0, False, math.nan),
        _trial("semver", "m1", 1.0, "scored", 1.0, True, math.nan),
        _trial("wordfreq", "m2", 0.0, "error", 0.0, False, 0.5),
        _trial("wordfreq", "m2", 0.5, "no_report", 0.0, False, 0.01),
    ])


def test_model_failures_drops_only_infra_and_harness_errors(small_results):
    kept = model_failures(small_results)
    assert len(kept) == 6
    assert not kept["status"].isin(["infra_error", "error"]).any()
    assert {"no_code", "timeout", "no_report", "scored"} == set(kept["status"])
    assert len(small_results) == 8  # input untouched


def test_pass_rate_table(small_results):
    table = pass_rate_table(small_results)
    assert list(table.columns) == ["n", "pass_rate", "passed_all", "wilson_low", "wilson_high", "cost_usd"]
    # wordfreq/m2/0.0 held only a harness error, so it has no row.
    assert list(table.index) == [("semver", "m1", 0.0), ("semver", "m1", 1.0), ("wordfreq", "m2", 0.5)]

    cold = table.loc[("semver", "m1", 0.0)]
    assert cold["n"] == 3  # the infra_error trial is excluded, the no_code one counts
    assert cold["pass_rate"] == pytest.approx(0.5)  # (1.0 + 0.5 + 0.0) / 3
    assert cold["passed_all"] == pytest.approx(1 / 3)
    assert (cold["wilson_low"], cold["wilson_high"]) == pytest.approx(wilson_interval(1, 3))
    assert cold["cost_usd"] == pytest.approx(0.03)  # (0.02 + 0.04 + 0.03) / 3

    hot = table.loc[("semver", "m1", 1.0)]
    assert (hot["n"], hot["pass_rate"], hot["passed_all"]) == (2, 0.5, 0.5)
    assert math.isnan(hot["cost_usd"])

    assert table.loc[("wordfreq", "m2", 0.5), "passed_all"] == 0.0


def test_pass_rate_table_custom_grouping(small_results):
    table = pass_rate_table(small_results, by=["spec"])
    assert table.loc["semver", "n"] == 5
    assert table.loc["semver", "passed_all"] == pytest.approx(2 / 5)
    assert table.loc["wordfreq", "n"] == 1


def _chain_rows():
    # chain A: generations 0, 1, 2 pass, 3 fails; chain B: 0 passes, 1 fails; chain C: only generation 0, failing.
    spec = [("a0", None, 0, True), ("a1", "a0", 1, True), ("a2", "a1", 2, True), ("a3", "a2", 3, False),
            ("b0", None, 0, True), ("b1", "b0", 1, False), ("c0", None, 0, False)]
    return pd.DataFrame([{"trial_id": t, "parent_trial_id": p, "generation": g, "passed_all": ok,
                          "status": "scored", "model": "m", "temperature": 0.0, "seed": i}
                         for i, (t, p, g, ok) in enumerate(spec)])


def test_chains_follow_parents_and_count_leading_passes():
    table = chains(_chain_rows()).set_index("root")
    assert table.loc["a0", ["generations", "survived", "reproduced"]].tolist() == [4, 3, True]
    assert table.loc["b0", ["generations", "survived", "reproduced"]].tolist() == [2, 1, False]
    assert table.loc["c0", ["generations", "survived", "reproduced"]].tolist() == [1, 0, False]


def test_chain_summary_reports_reproduction_share_and_survival():
    row = chain_summary(_chain_rows()).loc[("m", 0.0)]
    assert row["chains"] == 3 and row["reproduced"] == pytest.approx(1 / 3)
    assert row["mean_survived"] == pytest.approx(4 / 3) and row["max_survived"] == 3


def test_survival_by_generation_counts_passing_generations_over_all_chains():
    rows = _chain_rows()
    # chain D: generation 0 fails but generation 1 passes; chain E's generation 1 hit an infra error (dropped).
    rows = pd.concat([rows, pd.DataFrame([
        {"trial_id": "d0", "parent_trial_id": None, "generation": 0, "passed_all": False, "status": "scored"},
        {"trial_id": "d1", "parent_trial_id": "d0", "generation": 1, "passed_all": True, "status": "scored"},
        {"trial_id": "e0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "e1", "parent_trial_id": "e0", "generation": 1, "passed_all": True, "status": "infra_error"},
    ]).assign(model="m", temperature=0.0, seed=9)], ignore_index=True)
    table = survival_by_generation(rows).set_index("generation")
    assert list(table.index) == [0, 1, 2, 3]
    # Known generations only: e1 (infra) and every generation never recorded leave the denominator.
    # g=0: a0 b0 c0 d0 e0, alive a0 b0 e0; g=1: a1 b1 d1, alive a1 d1; g=2: a2; g=3: a3 fails.
    assert table["chains"].tolist() == [5, 3, 1, 1]
    assert table["survivors"].tolist() == [3, 2, 1, 0]
    assert table["share"].tolist() == pytest.approx([3 / 5, 2 / 3, 1.0, 0.0])
    assert (table.loc[1, "wilson_low"], table.loc[1, "wilson_high"]) == pytest.approx(wilson_interval(2, 3))


def test_a_chain_that_left_no_code_is_dead_in_later_generations():
    rows = pd.DataFrame([
        {"trial_id": "f0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "f1", "parent_trial_id": "f0", "generation": 1, "passed_all": False, "status": "no_code"},
        {"trial_id": "g0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "g1", "parent_trial_id": "g0", "generation": 1, "passed_all": True, "status": "scored"},
        {"trial_id": "g2", "parent_trial_id": "g1", "generation": 2, "passed_all": True, "status": "scored"},
    ]).assign(model="m", temperature=0.0, seed=0)
    table = survival_by_generation(rows).set_index("generation")
    assert table["chains"].tolist() == [2, 2, 2] and table["survivors"].tolist() == [2, 1, 1]


def test_an_infra_error_never_counts_as_a_chain_failing_to_reproduce():
    rows = pd.concat([_chain_rows(), pd.DataFrame([
        {"trial_id": "e0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "e1", "parent_trial_id": "e0", "generation": 1, "passed_all": False, "status": "infra_error"},
        {"trial_id": "x0", "parent_trial_id": None, "generation": 0, "passed_all": False, "status": "error"},
        {"trial_id": "x1", "parent_trial_id": "x0", "generation": 1, "passed_all": True, "status": "scored"},
    ]).assign(model="m", temperature=0.0, seed=9)], ignore_index=True)
    table = chains(rows).set_index("root")
    assert table.loc["e0", "reproduced"] is None  # unknown, not False
    assert "x1" not in table.index  # an excluded generation 0 does not split its chain off
    row = chain_summary(rows).loc[("m", 0.0)]
    assert (row["chains"], row["known"]) == (5, 3) and row["reproduced"] == pytest.approx(1 / 3)


def test_survival_by_generation_splits_groups_and_handles_no_rows():
    rows = pd.concat([_chain_rows(), _chain_rows().assign(model="n", trial_id=lambda f: "n" + f["trial_id"],
                                                          parent_trial_id=lambda f: "n" + f["parent_trial_id"])])
    table = survival_by_generation(rows, by=["model"])
    assert table.groupby("model").size().tolist() == [4, 4]
    assert table.loc[table["model"] == "n", "survivors"].tolist() == [2, 1, 1, 0]
    empty = survival_by_generation(_chain_rows().iloc[:0])
    assert empty.empty and "share" in empty.columns


def _outcomes():
    results = pd.DataFrame([
        {"trial_id": "t1", "spec": "s", "model": "m1", "status": "scored"},
        {"trial_id": "t2", "spec": "s", "model": "m1", "status": "scored"},
        {"trial_id": "t3", "spec": "s", "model": "m2", "status": "scored"},
        {"trial_id": "t4", "spec": "s", "model": "m2", "status": "timeout"},
        {"trial_id": "t5", "spec": "r", "model": "m1", "status": "scored"},
    ])
    tests = pd.DataFrame([(t, f"mod::{name}", outcome) for t, name, outcome in [
        ("t1", "a", "failed"), ("t1", "b", "passed"), ("t1", "c", "skipped"),
        ("t2", "a", "errored"), ("t2", "b", "failed"), ("t2", "c", "passed"),
        ("t3", "a", "passed"), ("t3", "b", "passed"),
        ("t4", "a", "failed"), ("t4", "b", "failed"),  # not scored: ignored
        ("t5", "a", "passed"),  # same test id, another spec
    ]], columns=["trial_id", "test_id", "outcome"]).assign(seconds=0.1)
    return results, tests


def test_test_failure_rates_counts_failed_and_errored_over_scored_runs():
    table = test_failure_rates(*_outcomes())
    assert list(table.columns) == ["spec", "test_id", "model", "runs", "failures", "failure_rate"]
    got = {(s, t, m): (n, f, rate) for s, t, m, n, f, rate in table.itertuples(index=False)}
    assert got == {
        ("r", "mod::a", "m1"): (1, 0, 0.0),
        ("s", "mod::a", "m1"): (2, 2, 1.0),
        ("s", "mod::b", "m1"): (2, 1, 0.5),
        ("s", "mod::c", "m1"): (1, 0, 0.0),  # the skipped run is not a run
        ("s", "mod::a", "m2"): (1, 0, 0.0),  # t4 timed out: its outcomes do not count
        ("s", "mod::b", "m2"): (1, 0, 0.0),
    }
    assert table["spec"].tolist()[0] == "r" and table["test_id"].tolist()[1] == "mod::a"  # most failed first


def test_test_failure_rates_by_several_columns_or_none():
    results, tests = _outcomes()
    pooled = test_failure_rates(results.assign(all="*"), tests, by="all").set_index(["spec", "test_id"])
    assert pooled.loc[("s", "mod::a"), ["runs", "failures"]].tolist() == [3, 2]
    two = test_failure_rates(results.assign(temperature=0.5), tests, by=["model", "temperature"])
    assert list(two.columns[:4]) == ["spec", "test_id", "model", "temperature"] and len(two) == 6


def test_pass_hat_k_hand_computed_and_edges():
    from harness.analysis import pass_hat_k

    assert pass_hat_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_hat_k(10, 3, 2) == pytest.approx(3 / 45)  # C(3,2) / C(10,2)
    assert pass_hat_k(10, 3, 5) == 0.0 and pass_hat_k(10, 10, 5) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k(5, 6, 1)


def test_cluster_bootstrap_covers_the_truth_about_95_percent_of_the_time():
    import numpy as np

    from harness.analysis import cluster_bootstrap_interval

    rng = np.random.default_rng(7)
    hits = 0
    for i in range(2000):  # 60 seeds whose success chances scatter around 0.4, 6 trials each
        p_seed = np.clip(rng.normal(0.4, 0.1, size=60), 0, 1)
        values = (rng.random((60, 6)) < p_seed[:, None]).astype(float)
        low, high = cluster_bootstrap_interval(values.ravel(), np.repeat(np.arange(60), 6), resamples=1000, seed=i)
        hits += low <= 0.4 <= high
    assert 0.93 <= hits / 2000 <= 0.97


def test_seed_stability_variance_and_flip_rate():
    from harness.analysis import seed_stability

    rows = pd.DataFrame({"spec": "s", "model": "m", "temperature": 0.0, "seed": [0, 1, 2, 3],
                         "pass_rate": [1.0, 0.5, 1.0, 0.5], "passed_all": [True, False, True, False],
                         "status": "scored"})
    row = seed_stability(rows).loc[("s", "m", 0.0)]
    assert row["seeds"] == 4 and row["seed_variance"] == pytest.approx(1 / 12)
    assert row["flip_rate"] == pytest.approx(2 * 2 * 2 / (4 * 3))


def test_cost_per_success_counts_failures_in_the_spend():
    from harness.analysis import cost_per_success

    rows = pd.DataFrame({"model": ["a", "a", "a", "b"], "passed_all": [True, False, True, False],
                         "cost_usd": [1.0, 1.0, 1.0, 2.0], "prompt_tokens": [10, 10, 10, 5],
                         "completion_tokens": [5, 5, 5, 5], "status": "scored"})
    table = cost_per_success(rows)
    assert table.loc["a", "cost_per_success"] == pytest.approx(1.5) and table.loc["a", "tokens_per_success"] == 22.5
    assert math.isnan(table.loc["b", "cost_per_success"])
