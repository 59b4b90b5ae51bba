"""Statistics over the results table: pass@k and pass^k, per-cell pass rates with intervals clustered by seed
(harness.analysis.intervals), seed stability, cost per success and per-test failures. Chains: harness.analysis.lineage.

Every function here is pure: it reads its arguments and returns a value, so notebooks and reports import the
same code the tests check.
"""

from __future__ import annotations

import math
from typing import Iterable

import pandas as pd

from harness.analysis.intervals import clustered_interval
from harness.seams import EXCLUDED_STATUSES

# EXCLUDED_STATUSES (infra_error, error, interrupted: not the model's doing) leave every denominator, and
# PASSING_OUTCOMES (passed, skipped) are a passing test's: both defined once, in harness.seams.


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


def model_failures(results: pd.DataFrame) -> pd.DataFrame:
    """The trials that count towards pass rates: every row except those of EXCLUDED_STATUSES (infra_error,
    error, interrupted).

    Every other status stays in: no_code, timeout, no_report and the sandbox's limits (memory, processes, disk,
    output) and tampered are the model's failures; none of them passes.
    """
    return results.loc[~results["status"].isin(EXCLUDED_STATUSES)].copy()


# Columns that say what a trial was: never pooled, whatever `by` asks for. Records written before texts were
# selectable lack spec_text and selection; they were given our text and judged by every test.
KEPT_APART = ("generator", "generation", "spec_text", "selection")
TEXT_DEFAULTS = {"spec_text": "ours", "selection": "all"}


def cell_keys(by: Iterable[str]) -> list[str]:
    """The grouping actually used: `by`, then each of KEPT_APART that `by` does not already name."""
    by = list(by)
    return by + [key for key in KEPT_APART if key not in by]


def with_text_columns(results: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table with spec_text and selection present and filled in (see TEXT_DEFAULTS)."""
    return results.assign(**{column: results[column].fillna(default) if column in results else default
                             for column, default in TEXT_DEFAULTS.items()})


CHAIN_PREFIX = "chain:"  # a chain's trials are all recorded with generator `chain:<how generation 0 was made>`
NO_MODEL = "-"  # the model column of a trial that called none (import, reference)


def chain_units(results: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table in which each bootstrap chain reads as one unit, whatever made each generation
    (an imported generation 0 has model `-`; the later ones were made by its agent driving a model):

        root    the trial id of the chain's generation 0, reached by following parent_trial_id over every row
                (an excluded generation still links its chain); a trial outside a chain is its own root
        model   on every generation of a chain, the model that drives generations 1, 2, ...: the record's
                `chain_model`, or in tables from before that column, the model of any generation that called one
        gen0    how generation 0 was made: its model, or the generator kind when it called none (`import`,
                `reference`); empty outside chains

    Tables without the columns that link chains (trial_id, parent_trial_id, generator) hold no chains. A table
    that already has `root` and `gen0` is returned as it is: relabelled, generation 0's own model is gone."""
    if {"root", "gen0"} <= set(results.columns):
        return results
    if not {"trial_id", "parent_trial_id", "generator"} <= set(results.columns):
        own = results["trial_id"] if "trial_id" in results else pd.Series(results.index.astype(str), results.index)
        return results.assign(root=own, gen0="")
    parent = dict(zip(results["trial_id"], results["parent_trial_id"]))

    def root(tid: str) -> str:
        while isinstance(parent.get(tid), str):
            tid = parent[tid]
        return tid

    units = results.assign(root=[root(t) for t in results["trial_id"]], gen0="")
    chained = units["generator"].astype(str).str.startswith(CHAIN_PREFIX)
    if not chained.any():
        return units
    rows = units.loc[chained]
    called = rows["model"].where(rows["model"] != NO_MODEL)
    recorded = rows["chain_model"] if "chain_model" in rows else pd.Series(None, index=rows.index, dtype=object)
    driver = recorded.fillna(called).groupby(rows["root"]).first()
    first = rows.loc[rows["trial_id"] == rows["root"]]
    made = first["model"].where(first["model"] != NO_MODEL, first["generator"].str.removeprefix(CHAIN_PREFIX))
    units.loc[chained, "model"] = rows["root"].map(driver).fillna(NO_MODEL)
    units.loc[chained, "gen0"] = rows["root"].map(dict(zip(first["trial_id"], made))).fillna("?")  # root not in table
    return units


def counted_trials(results: pd.DataFrame) -> pd.DataFrame:
    """`model_failures` of `chain_units` (a chain's generations are listed under the model that drives it),
    ready to aggregate: spec_text and selection filled in (see TEXT_DEFAULTS), a trial without a score counted
    as pass_rate 0 and not passed_all, cost_usd numeric (NaN where unknown)."""
    counted = with_text_columns(model_failures(chain_units(results)))
    counted["pass_rate"] = pd.to_numeric(counted["pass_rate"], errors="coerce").fillna(0.0)
    counted["passed_all"] = counted["passed_all"].astype(object).fillna(False).astype(bool)
    if "cost_usd" in counted:
        counted["cost_usd"] = pd.to_numeric(counted["cost_usd"], errors="coerce")
    return counted


def group_cells(results: pd.DataFrame, by: Iterable[str]):
    """(keys, groupby of the counted trials by those keys); a NaN key is a group of its own, never dropped."""
    keys = cell_keys(by)
    return keys, counted_trials(results).groupby(keys, sort=True, dropna=False)


def cell_frame(rows: list[dict], keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Rows of per-cell values as a table indexed by the cell keys (empty, with its columns, when no rows)."""
    return pd.DataFrame(rows, columns=[*keys, *columns]).set_index(keys)


def pass_rate_table(results: pd.DataFrame, by: Iterable[str] = ("spec", "model", "temperature"),
                    confidence: float = 0.95) -> pd.DataFrame:
    """One row per cell of counted trials (see `counted_trials`), indexed by `cell_keys(by)`: generators,
    chain generations and texts are never pooled. Over the n counted trials of a cell:

        n, seeds          trials, and distinct seeds among them
        few_seeds         seeds < 5: the intervals are honest but wide (see harness.analysis.intervals.clustered_interval)
        pass_rate         mean fraction of tests passed (a trial without a score counts 0), with
        pass_rate_low/high    its interval clustered by seed (`clustered_interval`; NaN with one seed)
        passed_all, passed_all_low/high    likewise for the share of trials passing every test
        cost_known        share of the trials whose cost is known
        cost_usd          mean cost per trial               } NaN unless every cost in the cell is known:
        cost_per_success  sum(cost_usd) / successes         } an unknown cost is never read as 0
                          (NaN too without a success; failures' spend counts, it is what a success costs)
        cached_calls      share of the model calls served from the cache (`cached_calls`)
    Cells whose trials were all excluded (infra_error, error, interrupted) do not appear.
    """
    keys, cells = group_cells(results, by)
    rows = []
    for key, cell in cells:
        rate = clustered_interval(cell["pass_rate"], cell["seed"], confidence)
        share = clustered_interval(cell["passed_all"].astype(float), cell["seed"], confidence)
        known = cell["cost_usd"].notna()
        spend = cell["cost_usd"].sum() if known.all() else math.nan
        successes = int(cell["passed_all"].sum())
        rows.append({**dict(zip(keys, key)), "n": len(cell), "seeds": share.clusters, "few_seeds": share.few,
                     "pass_rate": rate.mean, "pass_rate_low": rate.low, "pass_rate_high": rate.high,
                     "passed_all": share.mean, "passed_all_low": share.low, "passed_all_high": share.high,
                     "cost_known": known.mean(), "cost_usd": spend / len(cell),
                     "cost_per_success": spend / successes if successes else math.nan,
                     "cached_calls": cached_calls(cell)})
    return cell_frame(rows, keys, PASS_RATE_COLUMNS)


def cached_calls(trials: pd.DataFrame) -> float:
    """The share of the trials' model calls served from the cache: sum(cache_hits) / sum(model_calls). A cached
    call costs nothing here (an earlier trial paid for it), so a spend of 0 with this share at 1 is not free.
    NaN when they made no call, or the table has no such columns."""
    if not {"model_calls", "cache_hits"} <= set(trials.columns):
        return math.nan
    calls = pd.to_numeric(trials["model_calls"], errors="coerce").sum()
    return float(pd.to_numeric(trials["cache_hits"], errors="coerce").sum() / calls) if calls else math.nan


PASS_RATE_COLUMNS = ["n", "seeds", "few_seeds", "pass_rate", "pass_rate_low", "pass_rate_high", "passed_all",
                     "passed_all_low", "passed_all_high", "cost_known", "cost_usd", "cost_per_success", "cached_calls"]


def pass_at_k_table(results: pd.DataFrame, by: Iterable[str] = ("spec", "model", "temperature")) -> pd.DataFrame:
    """pass@k and pass^k for k = 1 .. n in each cell (keys as in `pass_rate_table`), from its n counted trials
    of which c pass every test: pass_at_k(n, c, k) and pass_hat_k(n, c, k), formulas in their docstrings.

    The estimators treat the cell's trials as exchangeable draws, seeds and samples alike; trials sharing a seed
    may be correlated, which they ignore (pass@1 = passed_all, whose clustered interval is in `pass_rate_table`).
    Columns: the keys, k, n, correct, pass_at_k, pass_hat_k.
    """
    keys, cells = group_cells(results, by)
    rows = []
    for key, cell in cells:
        n, c = len(cell), int(cell["passed_all"].sum())
        rows += [{**dict(zip(keys, key)), "k": k, "n": n, "correct": c, "pass_at_k": pass_at_k(n, c, k),
                  "pass_hat_k": pass_hat_k(n, c, k)} for k in range(1, n + 1)]
    return pd.DataFrame(rows, columns=[*keys, "k", "n", "correct", "pass_at_k", "pass_hat_k"])


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: the chance that k samples drawn without replacement from n, of which c are correct, all pass.

        pass^k = C(c, k) / C(n, k)

    It asks for reliability (every one of k attempts works), where pass@k asks for one success in k.
    """
    if min(n, c, k) < 0 or c > n or k > n:
        raise ValueError(f"need 0 <= c <= n and 0 <= k <= n, got n={n}, c={c}, k={k}")
    return math.comb(c, k) / math.comb(n, k)


def seed_stability(results: pd.DataFrame, by: Iterable[str] = ("spec", "model", "temperature")) -> pd.DataFrame:
    """Per cell (keys as in `pass_rate_table`): how much the outcome depends on the seed.

    seeds = the number n of seeds, of which s pass (every counted trial of the seed passes every test);
    seed_variance = the variance (ddof=1) over seeds of each seed's mean pass_rate (NaN with one seed);
    flip_rate = the share of pairs of seeds whose outcomes differ, 2 s (n - s) / (n (n - 1)): 0 when every seed
    agrees, at most n / (2 (n - 1)) for n even and (n + 1) / (2 n) for n odd, reached at an even split
    (1.0 for 2 seeds, 2/3 for 3 or 4, 0.6 for 5, falling to 0.5 as n grows). NaN with one seed.
    """
    keys, cells = group_cells(results, by)
    rows = []
    for key, cell in cells:
        per_seed = cell.groupby("seed", dropna=False).agg(pass_rate=("pass_rate", "mean"),
                                                          passed=("passed_all", "all"))
        n, s = len(per_seed), int(per_seed["passed"].sum())
        rows.append({**dict(zip(keys, key)), "seeds": n,
                     "seed_variance": float(per_seed["pass_rate"].var(ddof=1)) if n > 1 else math.nan,
                     "flip_rate": 2 * s * (n - s) / (n * (n - 1)) if n > 1 else math.nan})
    return cell_frame(rows, keys, ["seeds", "seed_variance", "flip_rate"])


def cost_per_success(results: pd.DataFrame, by: Iterable[str] = ("model",)) -> pd.DataFrame:
    """Per cell (keys as in `pass_rate_table`; by default per model, pooling specs and temperatures): spend and
    tokens divided by the implementations that pass every test.

        cost_per_success   = sum(cost_usd) / count(passed_all)
        tokens_per_success = sum(prompt_tokens + completion_tokens) / count(passed_all)

    Every counted trial's spend is in the numerator, failures included: that is what a success costs (the
    excluded statuses' spend is not). An unknown cost is unknown, not 0: cost_usd and cost_per_success are NaN
    unless every counted trial of the cell has a known cost, and `cost_known` is the share that has one.
    Cells without a success get NaN. Columns: successes, cost_known, cost_usd, tokens, cost_per_success,
    tokens_per_success, cached_calls (see `cached_calls`: spend the cache saved is in no cost here).
    """
    keys, cells = group_cells(results, by)
    rows = []
    for key, cell in cells:
        known = cell["cost_usd"].notna()
        successes = int(cell["passed_all"].sum())
        rows.append({**dict(zip(keys, key)), "successes": successes, "cost_known": known.mean(),
                     "cost_usd": cell["cost_usd"].sum() if known.all() else math.nan,
                     "tokens": int((cell["prompt_tokens"] + cell["completion_tokens"]).sum()),
                     "cached_calls": cached_calls(cell)})
    table = cell_frame(rows, keys, ["successes", "cost_known", "cost_usd", "tokens", "cached_calls"])
    denominator = table["successes"].where(table["successes"] > 0)
    table["cost_per_success"] = table["cost_usd"] / denominator
    table["tokens_per_success"] = table["tokens"] / denominator
    return table[[c for c in table.columns if c != "cached_calls"] + ["cached_calls"]]
