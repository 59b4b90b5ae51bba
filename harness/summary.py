"""The short table printed when a sweep ends."""

from __future__ import annotations

import pandas as pd

from harness.analysis import chain_summary
from harness.records import RETRIED_STATUSES, TrialStatus

RETRIED = [s.value for s in RETRIED_STATUSES]


def summarize(results: pd.DataFrame) -> str:
    """Per spec x model x generator: trials, statuses, mean pass rate, share passing all tests, cost.

    `other` counts the trials that ended neither scored nor as an infra error, by status (`timeout:2 memory:1`)."""
    if results.empty:
        return "no trials recorded"
    grouped = results.groupby(["spec", "model", "generator"], sort=True)
    table = pd.DataFrame({
        "trials": grouped.size(),
        "scored": grouped["status"].apply(lambda s: int((s == "scored").sum())),
        "infra_err": grouped["status"].apply(lambda s: int(s.isin(RETRIED).sum())),
        "other": grouped["status"].apply(_other_endings),
        "pass_rate": grouped["pass_rate"].mean().round(3),
        "passed_all": grouped["passed_all"].mean().round(3),
        "cost_usd": grouped["cost_usd"].sum(min_count=1).round(4),
    })
    text = table.to_string()
    if (results["generation"] > 0).any():
        text += "\n\nbootstrap chains (reproduced: generations 0 and 1 both pass every test)\n"
        text += chain_summary(results).round(3).to_string()
    return text


def _other_endings(statuses: pd.Series) -> str:
    counts = statuses[~statuses.isin([TrialStatus.scored.value, *RETRIED])].value_counts()
    return " ".join(f"{status}:{n}" for status, n in sorted(counts.items())) or "-"
