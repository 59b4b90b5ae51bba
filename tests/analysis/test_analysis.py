"""harness.analysis.cells: pass@k against hand-computed values; per-cell tables over every status; per-test tables."""

from __future__ import annotations

import math
from math import comb

import pandas as pd
import pytest

from harness.analysis.cells import (KEPT_APART, cell_keys, cost_per_success, model_failures, pass_at_k,
                                     pass_at_k_table, pass_hat_k, pass_rate_table, seed_stability)
from harness.analysis.failures import test_failure_rates
from harness.analysis.intervals import clopper_pearson, clustered_interval
from harness.seams import EXCLUDED_STATUSES, TrialStatus


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


def every_status(**columns) -> pd.DataFrame:
    """One trial of each status, the i-th status on seed i. The scored trial passes every test; the other counted
    ones left no score; the excluded ones (infra_error, error, interrupted) claim a pass and a large spend,
    neither of which may count."""
    rows = []
    for seed, status in enumerate(TrialStatus):
        scored, excluded = status is TrialStatus.scored, status.value in EXCLUDED_STATUSES
        rows.append({"spec": "s", "model": "m", "temperature": 0.0, "generator": "oneshot", "generation": 0,
                     "seed": seed, "sample": 0, "status": status.value,
                     "pass_rate": 1.0 if scored or excluded else None,
                     "passed_all": True if scored or excluded else None,
                     "cost_usd": 9.0 if excluded else 0.5, "prompt_tokens": 10, "completion_tokens": 5, **columns})
    return pd.DataFrame(rows)


# every_status() holds ALL trials, COUNTED of them count against the model (the scored one and those that left no
# score), each on a seed of its own.
ALL = len(TrialStatus)
COUNTED = ALL - len(EXCLUDED_STATUSES)


def test_the_status_table_holds_every_status():
    assert set(every_status()["status"]) == {s.value for s in TrialStatus} and len(TrialStatus) == 17
    assert EXCLUDED_STATUSES == {"infra_error", "error", "interrupted"}


def test_model_failures_drops_only_the_excluded_statuses():
    results = every_status()
    kept = model_failures(results)
    assert set(kept["status"]) == {s.value for s in TrialStatus} - EXCLUDED_STATUSES and len(kept) == COUNTED
    assert len(results) == ALL  # input untouched


def test_pass_rate_table_over_every_status():
    table = pass_rate_table(every_status())
    assert list(table.index.names) == ["spec", "model", "temperature", *KEPT_APART]
    assert list(table.index) == [("s", "m", 0.0, "oneshot", 0, "ours", "all")]  # missing texts read as ours/all
    row = table.iloc[0]
    # The counted trials on as many seeds, one passing; the excluded trials' passes and spend are not counted.
    assert (row["n"], row["seeds"], row["few_seeds"]) == (COUNTED, COUNTED, False)
    assert row["pass_rate"] == pytest.approx(1 / COUNTED) and row["passed_all"] == pytest.approx(1 / COUNTED)
    expected = clustered_interval([1.0] + [0.0] * (COUNTED - 1), range(COUNTED))
    assert (row["passed_all_low"], row["passed_all_high"]) == pytest.approx((expected.low, expected.high))
    assert (row["pass_rate_low"], row["pass_rate_high"]) == pytest.approx((expected.low, expected.high))
    assert (row["cost_known"], row["cost_usd"], row["cost_per_success"]) == pytest.approx((1.0, 0.5, 0.5 * COUNTED))


def test_an_unknown_cost_is_not_a_zero_cost():
    results = every_status()
    results.loc[results["status"] == "timeout", "cost_usd"] = None
    row = pass_rate_table(results).iloc[0]
    assert row["cost_known"] == pytest.approx((COUNTED - 1) / COUNTED)
    assert math.isnan(row["cost_usd"]) and math.isnan(row["cost_per_success"])
    table = cost_per_success(results)
    assert table["cost_known"].iloc[0] == pytest.approx((COUNTED - 1) / COUNTED)
    assert math.isnan(table["cost_per_success"].iloc[0])
    results.loc[results["status"] == "infra_error", "cost_usd"] = None  # an excluded trial's cost does not matter
    results.loc[results["status"] == "timeout", "cost_usd"] = 0.5
    assert pass_rate_table(results)["cost_per_success"].iloc[0] == pytest.approx(0.5 * COUNTED)


def test_clustered_intervals_and_the_few_seeds_flag():
    results = pd.concat([every_status(temperature=t).assign(seed=lambda f: f["seed"] % seeds)
                         for t, seeds in [(0.0, 1), (0.5, 4), (1.0, 5)]], ignore_index=True)
    table = pass_rate_table(results).reset_index().set_index("temperature")
    assert table["seeds"].tolist() == [1, 4, 5] and table["few_seeds"].tolist() == [True, True, False]
    assert math.isnan(table.loc[0.0, "passed_all_low"]) and math.isnan(table.loc[0.0, "passed_all_high"])
    counted = model_failures(results[results["temperature"] == 0.5])
    expected = clustered_interval(counted["passed_all"].fillna(False).astype(float), counted["seed"])
    assert table.loc[0.5, "passed_all_low"] == pytest.approx(expected.low)
    assert 0 <= table.loc[1.0, "passed_all_low"] < 1 / 9 < table.loc[1.0, "passed_all_high"] < 1


def test_cells_keep_generators_generations_and_texts_apart():
    same = dict(spec="s", model="m", temperature=0.0, seed=0, status="scored", pass_rate=1.0, passed_all=True,
                cost_usd=0.0, prompt_tokens=0, completion_tokens=0)
    rows = pd.DataFrame([
        {**same, "generator": "oneshot", "generation": 0, "spec_text": "ours", "selection": "all"},
        {**same, "generator": "agent", "generation": 0, "spec_text": "ours", "selection": "all"},
        {**same, "generator": "chain", "generation": 0, "spec_text": "ours", "selection": "all"},
        {**same, "generator": "chain", "generation": 1, "spec_text": "ours", "selection": "all"},
        {**same, "generator": "chain", "generation": 0, "spec_text": "upstream", "selection": "paper"},
        {**same, "generator": "chain", "generation": 0, "spec_text": None, "selection": None},  # an older record
    ])
    for by in [("spec", "model", "temperature"), ["model"], ["generator", "spec_text"]]:
        assert cell_keys(by)[:len(by)] == list(by) and set(KEPT_APART) <= set(cell_keys(by))
        for table in (pass_rate_table(rows, by=by), seed_stability(rows, by=by), cost_per_success(rows, by=by)):
            assert len(table) == 5 and list(table.index.names) == cell_keys(by)
        assert pass_at_k_table(rows, by=by).groupby(cell_keys(by)).ngroups == 5
    table = pass_rate_table(rows, by=["model"])
    assert table.loc[("m", "chain", 0, "ours", "all"), "n"] == 2  # the older record read as ours/all
    assert table.loc[("m", "chain", 0, "upstream", "paper"), "n"] == 1


def test_a_table_of_excluded_trials_has_no_cells():
    excluded = every_status().query("status in @EXCLUDED_STATUSES")
    keys = cell_keys(("spec", "model", "temperature"))
    for table in (pass_rate_table(excluded), seed_stability(excluded), cost_per_success(excluded, by=keys[:3])):
        assert table.empty and list(table.index.names) == keys
    assert pass_rate_table(excluded).columns.tolist()[:3] == ["n", "seeds", "few_seeds"]
    assert pass_at_k_table(excluded).empty


def _outcomes():
    results = pd.DataFrame([
        {"trial_id": "t1", "spec": "s", "model": "m1", "status": "scored", "seed": 0},
        {"trial_id": "t2", "spec": "s", "model": "m1", "status": "scored", "seed": 1},
        {"trial_id": "t3", "spec": "s", "model": "m2", "status": "scored", "seed": 0},
        {"trial_id": "t4", "spec": "s", "model": "m2", "status": "timeout", "seed": 1},
        {"trial_id": "t5", "spec": "r", "model": "m1", "status": "scored", "seed": 0},
    ])
    tests = pd.DataFrame([(t, f"mod::{name}", outcome) for t, name, outcome in [
        ("t1", "a", "failed"), ("t1", "b", "passed"), ("t1", "c", "skipped"),
        ("t2", "a", "errored"), ("t2", "b", "failed"), ("t2", "c", "passed"),
        ("t3", "a", "passed"), ("t3", "b", "passed"),
        ("t4", "a", "failed"), ("t4", "b", "failed"),  # not scored: ignored
        ("t5", "a", "passed"),  # same test id, another spec
    ]], columns=["trial_id", "test_id", "outcome"]).assign(seconds=0.1)
    return results, tests


def test_test_failure_rates_counts_the_tests_that_did_not_pass_over_scored_runs():
    table = test_failure_rates(*_outcomes())
    assert list(table.columns) == ["spec", "test_id", "model", "runs", "failures", "failure_rate", "failure_rate_low",
                                   "failure_rate_high"]
    got = {(s, t, m): (n, f, rate) for s, t, m, n, f, rate, _, _ in table.itertuples(index=False)}
    assert got == {
        ("r", "mod::a", "m1"): (1, 0, 0.0),
        ("s", "mod::a", "m1"): (2, 2, 1.0),
        ("s", "mod::b", "m1"): (2, 1, 0.5),
        ("s", "mod::c", "m1"): (2, 0, 0.0),  # a skipped test passes, here as in pass rates
        ("s", "mod::a", "m2"): (1, 0, 0.0),  # t4 timed out: its outcomes do not count
        ("s", "mod::b", "m2"): (1, 0, 0.0),
    }
    assert table["spec"].tolist()[0] == "r" and table["test_id"].tolist()[1] == "mod::a"  # most failed first
    # m1's runs of s are on seeds 0 and 1: an interval clustered by seed; m2's single run has none.
    row = table.set_index(["spec", "test_id", "model"]).loc[("s", "mod::b", "m1")]
    expected = clustered_interval([1.0, 0.0], [1, 0])
    assert (row["failure_rate_low"], row["failure_rate_high"]) == pytest.approx((expected.low, expected.high))
    assert table.loc[table["model"] == "m2", ["failure_rate_low", "failure_rate_high"]].isna().all().all()


def test_test_failure_rates_cluster_runs_by_seed():
    """Four runs of a test on two seeds, failing together on one: an interval over the two seeds, wider than
    over four independent runs (four seeds)."""
    results = pd.DataFrame({"trial_id": list("abcd"), "spec": "s", "model": "m", "status": "scored",
                            "seed": [0, 0, 1, 1]})
    tests = pd.DataFrame({"trial_id": list("abcd"), "test_id": "t", "outcome": ["failed", "failed", "passed",
                                                                                "passed"]})
    two = test_failure_rates(results, tests).iloc[0]
    four = test_failure_rates(results.assign(seed=[0, 1, 2, 3]), tests).iloc[0]
    assert two["failure_rate"] == four["failure_rate"] == 0.5
    assert two["failure_rate_high"] - two["failure_rate_low"] > four["failure_rate_high"] - four["failure_rate_low"]
    assert (four["failure_rate_low"], four["failure_rate_high"]) == pytest.approx(clopper_pearson(2, 4))


def test_test_failure_rates_by_several_columns_or_none():
    results, tests = _outcomes()
    pooled = test_failure_rates(results.assign(all="*"), tests, by="all").set_index(["spec", "test_id"])
    assert pooled.loc[("s", "mod::a"), ["runs", "failures"]].tolist() == [3, 2]
    two = test_failure_rates(results.assign(temperature=0.5), tests, by=["model", "temperature"])
    assert list(two.columns[:4]) == ["spec", "test_id", "model", "temperature"] and len(two) == 6


def test_pass_hat_k_hand_computed_and_edges():
    assert pass_hat_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_hat_k(10, 3, 2) == pytest.approx(3 / 45)  # C(3,2) / C(10,2)
    assert pass_hat_k(10, 3, 5) == 0.0 and pass_hat_k(10, 10, 5) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k(5, 6, 1)


def test_pass_at_k_table_over_every_status():
    table = pass_at_k_table(every_status())
    assert table["k"].tolist() == list(range(1, COUNTED + 1))  # k = 1 .. n over the counted trials
    assert (table["n"] == COUNTED).all() and (table["correct"] == 1).all()
    # 1 - C(n-1,k)/C(n,k) = k/n
    assert table["pass_at_k"].tolist() == pytest.approx([k / COUNTED for k in range(1, COUNTED + 1)])
    assert table["pass_hat_k"].tolist() == pytest.approx([1 / COUNTED] + [0.0] * (COUNTED - 1))


def test_seed_stability_variance_and_flip_rate():
    rows = pd.DataFrame({"spec": "s", "model": "m", "temperature": 0.0, "generator": "g", "generation": 0,
                         "seed": [0, 1, 2, 3], "pass_rate": [1.0, 0.5, 1.0, 0.5],
                         "passed_all": [True, False, True, False], "status": "scored"})
    row = seed_stability(rows).iloc[0]
    assert row["seeds"] == 4 and row["seed_variance"] == pytest.approx(1 / 12)
    assert row["flip_rate"] == pytest.approx(2 * 2 * 2 / (4 * 3))
    two = seed_stability(rows[rows["seed"] < 2]).iloc[0]
    assert two["flip_rate"] == 1.0  # two seeds that disagree: every pair differs
    one = seed_stability(rows[rows["seed"] == 0]).iloc[0]
    assert one["seeds"] == 1 and math.isnan(one["seed_variance"]) and math.isnan(one["flip_rate"])


def test_seed_stability_over_every_status():
    """A trial without a score fails its seed (a missing passed_all is not a pass) and scores 0."""
    results = pd.concat([every_status(), every_status().assign(status="scored", pass_rate=1.0, passed_all=True)])
    row = seed_stability(results).iloc[0]
    # Seed 0 passes twice; the other counted seeds add an unscored failure to their pass; the excluded ones keep
    # only their pass. A flip is a pair of seeds of which one passes and the other fails.
    passing, failing = 1 + len(EXCLUDED_STATUSES), COUNTED - 1
    assert row["seeds"] == ALL
    assert row["flip_rate"] == pytest.approx(2 * passing * failing / (ALL * (ALL - 1)))
    means = [1.0] + [0.5] * failing + [1.0] * len(EXCLUDED_STATUSES)
    assert row["seed_variance"] == pytest.approx(pd.Series(means).var())


def test_cost_per_success_counts_failures_in_the_spend():
    rows = pd.DataFrame({"model": ["a", "a", "a", "b"], "passed_all": [True, False, True, False],
                         "cost_usd": [1.0, 1.0, 1.0, 2.0], "prompt_tokens": [10, 10, 10, 5],
                         "completion_tokens": [5, 5, 5, 5], "status": "scored", "generator": "g", "generation": 0,
                         "seed": 0, "pass_rate": 1.0})
    table = cost_per_success(rows).reset_index().set_index("model")
    assert table.loc["a", "cost_per_success"] == pytest.approx(1.5) and table.loc["a", "tokens_per_success"] == 22.5
    assert math.isnan(table.loc["b", "cost_per_success"])


def test_cost_per_success_over_every_status():
    row = cost_per_success(every_status()).iloc[0]
    # The counted trials at 0.5 each for one success; the excluded trials' 9.0 each is not in the spend.
    assert (row["successes"], row["cost_known"], row["cost_usd"]) == (1, 1.0, 0.5 * COUNTED)
    assert (row["cost_per_success"], row["tokens"], row["tokens_per_success"]) == (0.5 * COUNTED, 15 * COUNTED,
                                                                                   15 * COUNTED)


def test_the_share_of_calls_the_cache_served_is_kept_with_every_spend():
    rows = pd.DataFrame({"spec": "s", "model": "m", "generator": "g", "generation": [0, 0, 1, 1], "temperature": 0.0,
                         "seed": [0, 1, 0, 1], "status": "scored", "pass_rate": 1.0, "passed_all": True,
                         "cost_usd": [0.02, 0.02, 0.0, 0.0], "prompt_tokens": 1, "completion_tokens": 1,
                         "model_calls": [3, 3, 3, 1], "cache_hits": [0, 1, 3, 1]})
    cells = pass_rate_table(rows)
    assert cells.xs(0, level="generation")["cached_calls"].tolist() == [pytest.approx(1 / 6)]
    assert cells.xs(1, level="generation")[["cost_per_success", "cached_calls"]].values.tolist() == [[0.0, 1.0]]
    costs = cost_per_success(rows, by=["spec", "model"])
    assert list(costs.columns)[-1] == "cached_calls" and costs["cached_calls"].tolist() == [pytest.approx(1 / 6), 1.0]
    assert math.isnan(pass_rate_table(rows.drop(columns=["model_calls", "cache_hits"]))["cached_calls"].iloc[0])
