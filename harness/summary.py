"""The short table printed when a sweep ends."""

from __future__ import annotations

import pandas as pd

from harness.analysis import chain_summary, model_failures
from harness.records import RETRIED_STATUSES, TrialStatus

RETRIED = [s.value for s in RETRIED_STATUSES]


def summarize(results: pd.DataFrame) -> str:
    """Per spec x text x model x generator: trials, statuses, mean pass rate, share passing all tests, cost.

    `text` is the text the model was given and the tests that judged it (`ours/all`, `upstream/paper`). `other`
    counts the trials that ended neither scored nor as an infra error, by status (`timeout:2 memory:1`)."""
    if results.empty:
        return "no trials recorded"
    # cost_usd is None for models without a price: an all-None column must still sum to NaN, not fail.
    results = results.assign(text=text_label(results), cost_usd=pd.to_numeric(results["cost_usd"], errors="coerce"))
    keys = ["spec", "text", "model", "generator"]
    grouped = results.groupby(keys, sort=True)
    counted = model_failures(results).astype({"pass_rate": float, "passed_all": float}).groupby(keys, sort=True)
    table = pd.DataFrame({
        "trials": grouped.size(),
        "scored": grouped["status"].apply(lambda s: int((s == "scored").sum())),
        "infra_err": grouped["status"].apply(lambda s: int(s.isin(RETRIED).sum())),
        "other": grouped["status"].apply(_other_endings),
        # Infra and harness errors are not the model's: they leave the denominators (see analysis.model_failures).
        "pass_rate": counted["pass_rate"].mean().round(3),
        "passed_all": counted["passed_all"].mean().round(3),
        "cost_usd": grouped["cost_usd"].sum(min_count=1).round(4),
    })
    text = table.to_string()
    if (results["generation"] > 0).any():
        text += "\n\nbootstrap chains (reproduced: generations 0 and 1 both pass every test)\n"
        text += chain_summary(results).round(3).to_string()
    return text


def text_label(results: pd.DataFrame) -> pd.Series:
    """`<text>/<selection>` per row; records written before texts were selectable read as `ours/all`."""
    columns = [results.get(c, pd.Series(index=results.index, dtype=object)) for c in ("spec_text", "selection")]
    return columns[0].fillna("ours").astype(str) + "/" + columns[1].fillna("all").astype(str)


def _other_endings(statuses: pd.Series) -> str:
    counts = statuses[~statuses.isin([TrialStatus.scored.value, *RETRIED])].value_counts()
    return " ".join(f"{status}:{n}" for status, n in sorted(counts.items())) or "-"
