"""The short table printed when a sweep ends."""

from __future__ import annotations

import pandas as pd

from harness.analysis import cell_keys, pass_rate_table, with_text_columns
from harness.intervals import FEW_SEEDS
from harness.lineage import chain_summary
from harness.records import RETRIED_STATUSES, TrialStatus

RETRIED = [s.value for s in RETRIED_STATUSES]
BY = ["spec", "model", "generator", "temperature"]


def summarize(results: pd.DataFrame) -> str:
    """One line per cell (`analysis.pass_rate_table`'s, by spec, model, generator, temperature, chain
    generation and text): trials, statuses, pass rate, share passing all tests with its interval clustered by
    seed, seeds, spend and cost per success.

    `text` is the text the model was given and the tests that judged it (`ours/all`, `upstream/paper`). `other`
    counts the trials that ended neither scored nor excluded, by status (`timeout:2 memory:1`). `spent_usd` is
    every trial's spend, excluded ones too, and is empty when any cost is unknown. A seed count marked `*` is
    below 5: that interval is conservative and wide."""
    if results.empty:
        return "no trials recorded"
    results = with_text_columns(results)
    keys = cell_keys(BY)
    grouped = results.assign(cost_usd=pd.to_numeric(results["cost_usd"], errors="coerce")).groupby(
        keys, sort=True, dropna=False)
    table = pd.DataFrame({
        "trials": grouped.size(),
        "scored": grouped["status"].apply(lambda s: int((s == "scored").sum())),
        "infra_err": grouped["status"].apply(lambda s: int(s.isin(RETRIED).sum())),
        "other": grouped["status"].apply(_other_endings),
        "spent_usd": grouped["cost_usd"].agg(lambda c: round(c.sum(), 4) if c.notna().all() else float("nan")),
    }).join(_rates(results))
    table = table.reset_index().assign(text=lambda t: t["spec_text"].astype(str) + "/" + t["selection"].astype(str))
    table = table.rename(columns={"temperature": "T", "generation": "gen"}).set_index(
        ["spec", "text", "model", "generator", "T", "gen"]).sort_index()
    columns = ["trials", "scored", "infra_err", "other", "pass_rate", "passed_all", "interval", "seeds",
               "spent_usd", "usd_per_success"]
    text = table[columns].to_string(na_rep="-", sparsify=False)
    if (table["seeds"].astype(str).str.endswith("*")).any():
        text += f"\n* fewer than {FEW_SEEDS} seeds: wide intervals; `harness-seeds` says how many a target width needs"
    if (results["generation"] > 0).any():
        text += "\n\nbootstrap chains (reproduced: generations 0 and 1 both pass every test)\n"
        text += chain_summary(results).round(3).to_string()
    return text


def _rates(results: pd.DataFrame) -> pd.DataFrame:
    """The counted trials' rates, formatted; cells whose trials were all excluded get none."""
    rates = pass_rate_table(results, by=BY)
    bounds = rates[["passed_all_low", "passed_all_high"]].map(lambda x: "nan" if pd.isna(x) else f"{x:.2f}")
    return pd.DataFrame({
        "pass_rate": rates["pass_rate"].round(3),
        "passed_all": rates["passed_all"].round(3),
        "interval": "[" + bounds["passed_all_low"] + "," + bounds["passed_all_high"] + "]",
        "seeds": rates["seeds"].astype(str) + rates["few_seeds"].map({True: "*", False: ""}),
        "usd_per_success": rates["cost_per_success"].round(4),
    }, index=rates.index)


def _other_endings(statuses: pd.Series) -> str:
    counts = statuses[~statuses.isin([TrialStatus.scored.value, *RETRIED])].value_counts()
    return " ".join(f"{status}:{n}" for status, n in sorted(counts.items())) or "-"
