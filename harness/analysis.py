"""Statistics over the results table: pass@k and pass^k, Wilson and seed-clustered bootstrap intervals, seed
stability, cost per success, pass-rate tables, chains and per-test failures.

Every function here is pure: it reads its arguments and returns a value, so notebooks and reports import the
same code the tests check.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Iterable

import pandas as pd

from harness.records import RETRIED_STATUSES

# Not the model's fault (provider outages, harness bugs): such trials leave every denominator. One definition,
# the statuses a re-run retries (harness.records), used by every table, summary and plot.
EXCLUDED_STATUSES = frozenset(s.value for s in RETRIED_STATUSES)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from n samples of which c are correct (Chen et al. 2021, "Codex" paper).

        pass@k = 1 - C(n - c, k) / C(n, k)

    The ratio of binomials is evaluated as a product, which stays finite for large n:

        C(n - c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)

    When n - c < k every draw of k samples contains a correct one, so the estimate is exactly 1.0.
    Raises ValueError for negative arguments, c > n or k > n.
    """
    if n < 0 or c < 0 or k < 0:
        raise ValueError(f"n, c and k must be non-negative, got n={n}, c={c}, k={k}")
    if c > n:
        raise ValueError(f"c={c} correct samples cannot exceed n={n} samples")
    if k > n:
        raise ValueError(f"k={k} cannot exceed n={n} samples")
    if n - c < k:
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p = successes / n.

    With z the (1 + confidence) / 2 quantile of the standard normal:

        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))
        (low, high) = (centre - half, centre + half), clipped to [0, 1]

    Unlike the normal (Wald) interval it stays inside [0, 1] and is not degenerate at p = 0 or p = 1.
    With no trials nothing is known, so n == 0 gives (0.0, 1.0).
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf((1.0 + confidence) / 2.0)
    p = successes / n
    shrink = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z / shrink * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def model_failures(results: pd.DataFrame) -> pd.DataFrame:
    """The trials that count towards pass rates: every row except status infra_error or error.

    Every other status stays in: no_code, timeout, no_report and the sandbox's limits (memory, processes, disk,
    output) and tampered are the model's failures; none of them passes.
    """
    return results.loc[~results["status"].isin(EXCLUDED_STATUSES)].copy()


def pass_rate_table(results: pd.DataFrame, by: Iterable[str] = ("spec", "model", "temperature")) -> pd.DataFrame:
    """One row per group of counted trials (see `model_failures`), indexed by the `by` columns.

    Columns, over the m counted trials of a group with s of them passing every test:
        n            m
        pass_rate    mean of pass_rate (fraction of tests passed; a trial without a score counts 0)
        passed_all   s / m
        wilson_low, wilson_high   95 % Wilson interval of s / m (see `wilson_interval`)
        cost_usd     mean cost per trial over trials with a known cost (NaN when none is known)
    Groups whose trials were all excluded do not appear.
    """
    by = list(by)
    counted = model_failures(results)
    counted["pass_rate"] = counted["pass_rate"].astype(float).fillna(0.0)
    counted["passed_all"] = counted["passed_all"].fillna(False).astype(bool)
    grouped = counted.groupby(by, sort=True)
    table = pd.DataFrame({
        "n": grouped.size(),
        "pass_rate": grouped["pass_rate"].mean(),
        "passed_all": grouped["passed_all"].mean(),
        "successes": grouped["passed_all"].sum(),
        "cost_usd": grouped["cost_usd"].mean(),
    })
    bounds = [wilson_interval(int(s), int(m)) for s, m in zip(table["successes"], table["n"])]
    table["wilson_low"] = [low for low, _ in bounds]
    table["wilson_high"] = [high for _, high in bounds]
    return table[["n", "pass_rate", "passed_all", "wilson_low", "wilson_high", "cost_usd"]]


def _with_roots(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a `root` column: the trial id reached by following parent_trial_id to its end."""
    parent = dict(zip(rows["trial_id"], rows["parent_trial_id"]))

    def root(tid: str) -> str:
        while isinstance(parent.get(tid), str):
            tid = parent[tid]
        return tid

    return rows.assign(root=[root(t) for t in rows["trial_id"]])


def chains(results: pd.DataFrame) -> pd.DataFrame:
    """One row per bootstrap chain (the rows linked by parent_trial_id back to a generation-0 trial).

    Columns: root (generation 0's trial id), model, temperature, seed, generations (how many were recorded with a
    status that counts), survived = the number of leading generations 0, 1, ... that pass every test (a chain
    whose generation 0 fails survives 0), reproduced = generations 0 and 1 both pass every test (the paper's
    question: did the agent re-implement itself?). `reproduced` is None (unknown) when generation 0 passed but
    generation 1 has no counted record (an infra error, or not run yet): that chain says nothing either way.
    """
    rows = _counted_with_roots(results).sort_values(["root", "generation"])
    out = []
    for chain_root, chain in rows.groupby("root", sort=True):
        passed = list(chain["passed_all"].astype(bool))
        survived = next((i for i, ok in enumerate(passed) if not ok), len(passed))
        first = chain.iloc[0]
        generation_1 = (chain["generation"] == 1).any()
        reproduced = (passed[0] and passed[1]) if generation_1 and chain["generation"].iloc[0] == 0 else (
            False if chain["generation"].iloc[0] == 0 and not passed[0] else None)
        out.append({"root": chain_root, "model": first["model"], "temperature": first["temperature"],
                    "seed": first["seed"], "generations": len(chain), "survived": survived,
                    "reproduced": reproduced})
    return pd.DataFrame(out, columns=["root", "model", "temperature", "seed", "generations", "survived",
                                      "reproduced"])


def _counted_with_roots(results: pd.DataFrame) -> pd.DataFrame:
    """Counted rows, each with its chain's root found over all rows, so an excluded generation 0 does not
    split its chain."""
    rooted = _with_roots(results)
    return rooted.loc[~rooted["status"].isin(EXCLUDED_STATUSES)].copy()


def chain_summary(results: pd.DataFrame, by: Iterable[str] = ("model", "temperature")) -> pd.DataFrame:
    """Per group: chains, how many have a known outcome, the share of those that reproduced themselves (with a
    Wilson interval), mean and max survival. Chains whose reproduction is unknown (see `chains`) leave the
    denominator of `reproduced`."""
    table = chains(results)
    by = list(by)
    rows = []
    for key, group in table.groupby(by, sort=True):
        known = group["reproduced"].dropna().astype(bool)
        low, high = wilson_interval(int(known.sum()), len(known))
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "chains": len(group),
                     "known": len(known), "reproduced": known.mean() if len(known) else float("nan"),
                     "wilson_low": low, "wilson_high": high,
                     "mean_survived": group["survived"].mean(), "max_survived": group["survived"].max()})
    return pd.DataFrame(rows).set_index(by) if rows else pd.DataFrame()


def survival_by_generation(results: pd.DataFrame, by: Iterable[str] = ("model", "temperature")) -> pd.DataFrame:
    """Per group and generation g = 0 .. G (G the highest generation in the table): how many chains reach g alive.

    A chain's generation g is known alive when it is recorded with a counted status and passes every test; known
    dead when it is recorded and fails, or when an earlier generation left no implementation (the chain ended
    there); unknown otherwise (recorded as infra_error or error, or never run because the sweep was shallower).
    Over the c_g chains of a group whose generation g is known, with s_g of them alive:

        share = s_g / c_g,   with its 95 % Wilson interval (see `wilson_interval`)

    Unknown generations leave the denominator: an outage never counts as a chain dying. Unlike `chains`'
    `survived`, a generation g that passes after a failing g - 1 still counts.
    Columns: the `by` columns, generation, chains (c_g), survivors (s_g), share, wilson_low, wilson_high.
    """
    by = list(by)
    columns = [*by, "generation", "chains", "survivors", "share", "wilson_low", "wilson_high"]
    rows = _counted_with_roots(results)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    last = int(rows["generation"].max())
    out = []
    for key, group in rows.groupby(by, sort=True):
        key = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        states = [_generation_states(chain, last) for _, chain in group.groupby("root")]
        for g in range(last + 1):
            known = [state[g] for state in states if state[g] is not None]
            alive = sum(known)
            low, high = wilson_interval(alive, len(known))
            out.append({**key, "generation": g, "chains": len(known), "survivors": alive,
                        "share": alive / len(known) if known else float("nan"), "wilson_low": low,
                        "wilson_high": high})
    return pd.DataFrame(out, columns=columns)


def _generation_states(chain: pd.DataFrame, last: int) -> list:
    """True (alive), False (dead) or None (unknown) for generations 0 .. last of one chain's counted rows."""
    by_generation = {int(r["generation"]): r for _, r in chain.iterrows()}
    states, ended = [], False
    for g in range(last + 1):
        row = by_generation.get(g)
        if row is not None:
            states.append(bool(row["passed_all"]) if pd.notna(row["passed_all"]) else False)
            ended = row["status"] == "no_code"  # nothing for the next generation to run: the chain ends here
        else:
            states.append(False if ended else None)
    return states


FAILING_OUTCOMES = frozenset({"failed", "errored"})


def test_failure_rates(results: pd.DataFrame, tests: pd.DataFrame, by: str | Iterable[str] = "model") -> pd.DataFrame:
    """How often each test of each spec fails, per group of trials; only trials with status `scored` count.

    For a test t of a spec and a group, over the scored trials of the group whose report lists t with outcome
    passed, failed or errored (skipped runs say nothing about the implementation and are left out):

        failure_rate = (failed + errored) / runs

    Trials without a report (no_code, timeout, ...) have no per-test outcome, so they are not in any `runs`;
    their failure shows in `pass_rate_table` instead. Test ids are only unique within a spec, hence the spec column.
    Columns: spec, test_id, the `by` columns, runs, failures, failure_rate; sorted by spec, then failure_rate
    descending, then test_id.
    """
    by = [by] if isinstance(by, str) else list(by)
    scored = results.loc[results["status"] == "scored", ["trial_id", "spec", *by]]
    runs = tests.loc[tests["outcome"] != "skipped", ["trial_id", "test_id", "outcome"]].merge(scored, on="trial_id")
    runs = runs.assign(failed=runs["outcome"].isin(FAILING_OUTCOMES))
    keys = ["spec", "test_id", *by]
    table = runs.groupby(keys, sort=True)["failed"].agg(runs="size", failures="sum").reset_index()
    table["failures"] = table["failures"].astype(int)
    table["failure_rate"] = table["failures"] / table["runs"]
    table = table.sort_values(["spec", "failure_rate", "test_id"], ascending=[True, False, True], kind="stable")
    return table.reset_index(drop=True)[[*keys, "runs", "failures", "failure_rate"]]


test_failure_rates.__test__ = False  # a statistic, not a pytest test, even when a test module imports it


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: the chance that k samples drawn without replacement from n, of which c are correct, all pass.

        pass^k = C(c, k) / C(n, k)

    It asks for reliability (every one of k attempts works), where pass@k asks for one success in k.
    """
    if min(n, c, k) < 0 or c > n or k > n:
        raise ValueError(f"need 0 <= c <= n and 0 <= k <= n, got n={n}, c={c}, k={k}")
    return math.comb(c, k) / math.comb(n, k)


def cluster_bootstrap_interval(values: Iterable[float], clusters: Iterable, confidence: float = 0.95,
                               resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for a mean, resampling whole clusters (e.g. seeds) with replacement.

    With G clusters, each resample draws G cluster ids with replacement and takes the mean of all their values;
    the interval is the (1-confidence)/2 and (1+confidence)/2 quantiles of those means. Resampling clusters,
    not rows, keeps trials that share a seed together, so correlated trials do not narrow the interval.
    """
    import numpy as np

    frame = pd.DataFrame({"value": list(values), "cluster": list(clusters)})
    if frame.empty:
        return (math.nan, math.nan)
    grouped = frame.groupby("cluster")["value"].agg(["sum", "count"])
    sums, counts = grouped["sum"].to_numpy(float), grouped["count"].to_numpy(float)
    picks = np.random.default_rng(seed).integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def seed_stability(results: pd.DataFrame, by: Iterable[str] = ("spec", "model", "temperature")) -> pd.DataFrame:
    """Per cell: how much the outcome depends on the seed.

    seed_variance = the variance (ddof=1) over seeds of each seed's mean pass_rate;
    flip_rate = the share of pairs of seeds whose all-tests-pass outcomes differ, 2·s·(n−s) / (n·(n−1)) for
    n seeds of which s pass (0 when every seed agrees, up to about 0.5 for an even split).
    """
    by = list(by)
    per_seed = model_failures(results).groupby([*by, "seed"]).agg(pass_rate=("pass_rate", "mean"),
                                                                   passed=("passed_all", "all"))
    rows = []
    for key, cell in per_seed.groupby(level=by, sort=True):
        n, s = len(cell), int(cell["passed"].sum())
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "seeds": n,
                     "seed_variance": float(cell["pass_rate"].var(ddof=1)) if n > 1 else math.nan,
                     "flip_rate": 2 * s * (n - s) / (n * (n - 1)) if n > 1 else math.nan})
    return pd.DataFrame(rows).set_index(by) if rows else pd.DataFrame()


def cost_per_success(results: pd.DataFrame, by: Iterable[str] = ("model",)) -> pd.DataFrame:
    """Per group: spend and tokens divided by the implementations that pass every test.

    cost_per_success = sum(cost_usd) / count(passed_all); likewise for prompt and completion tokens. Every
    counted trial's spend is in the numerator, failures included: that is what a success really costs.
    Groups without a success get NaN.
    """
    by = list(by)
    counted = model_failures(results)
    grouped = counted.groupby(by, sort=True)
    table = pd.DataFrame({
        "successes": grouped["passed_all"].sum().astype(int),
        "cost_usd": grouped["cost_usd"].sum(min_count=1),
        "tokens": grouped["prompt_tokens"].sum() + grouped["completion_tokens"].sum(),
    })
    denominator = table["successes"].where(table["successes"] > 0)
    table["cost_per_success"] = table["cost_usd"] / denominator
    table["tokens_per_success"] = table["tokens"] / denominator
    return table
