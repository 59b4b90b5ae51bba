"""The short table printed when a sweep ends (and after `harness-archive replay`): one line per cell."""

from __future__ import annotations

import re

import pandas as pd

from harness.analysis.cells import cell_keys, chain_units, pass_rate_table, with_text_columns
from harness.analysis.intervals import FEW_SEEDS
from harness.analysis.lineage import chain_summary
from harness.seams import EXCLUDED_STATUSES, TrialStatus

BY = ["spec", "model", "generator", "temperature"]
CLASS = re.compile(r"[A-Za-z_][\w.]*(?=:)")  # a record's detail starts with its error class: `RateLimitError: ...`
DETAIL_CHARS = 160


def summarize(results: pd.DataFrame) -> str:
    """One line per cell (`analysis.pass_rate_table`'s, by spec, model, generator, temperature, chain
    generation and text): trials, statuses, pass rate, share passing all tests with its interval clustered by
    seed, seeds, spend and cost per success; then what the excluded trials ended with, and the chains.

    `text` is the text the model was given and the tests that judged it (`ours/all`, `upstream/paper`). A chain's
    generations are listed under the model that drives it (`analysis.chain_units`). `excluded` counts the trials
    left out of the rates, by error class for infra errors (`RateLimitError:2 error:1`); `other` the trials that
    ended neither scored nor excluded, by status (`timeout:2 memory:1`). `spent_usd` is every trial's spend,
    excluded ones too, and is empty when any cost is unknown. A seed count marked `*` is below 5: that interval
    is conservative and wide."""
    if results.empty:
        return "no trials recorded"
    results = with_text_columns(chain_units(results))
    endings = results.assign(ending=_endings(results), cost_usd=pd.to_numeric(results["cost_usd"], errors="coerce"))
    grouped = endings.groupby(cell_keys(BY), sort=True, dropna=False)
    excluded = endings["status"].isin(EXCLUDED_STATUSES)
    other = ~excluded & (endings["status"] != TrialStatus.scored.value)
    table = pd.DataFrame({
        "trials": grouped.size(),
        "scored": grouped["status"].apply(lambda s: int((s == TrialStatus.scored.value).sum())),
        "excluded": endings[excluded].groupby(grouped.keys, dropna=False)["ending"].agg(_counts),
        "other": endings[other].groupby(grouped.keys, dropna=False)["ending"].agg(_counts),
        "spent_usd": grouped["cost_usd"].agg(lambda c: round(c.sum(), 4) if c.notna().all() else float("nan")),
    }).join(_rates(results))
    table[["excluded", "other"]] = table[["excluded", "other"]].fillna("-").replace("", "-")
    table = table.reset_index().assign(text=lambda t: t["spec_text"].astype(str) + "/" + t["selection"].astype(str))
    table = table.rename(columns={"temperature": "T", "generation": "gen"}).set_index(
        ["spec", "text", "model", "generator", "T", "gen"]).sort_index()
    columns = ["trials", "scored", "excluded", "other", "pass_rate", "passed_all", "interval", "seeds",
               "spent_usd", "usd_per_success"]
    text = table[columns].to_string(na_rep="-", sparsify=False)
    if (table["seeds"].astype(str).str.endswith("*")).any():
        text += f"\n* fewer than {FEW_SEEDS} seeds: wide intervals; `harness-seeds` says how many a target width needs"
    text += _excluded_reasons(endings[excluded])
    if (results["gen0"] != "").any():
        text += "\n\n" + chains_text(results)
    return text


def chains_text(results: pd.DataFrame) -> str:
    """The chains, one line per group of chains (`lineage.chain_summary`)."""
    table = chain_summary(results).reset_index()
    table["text"] = table["spec_text"].astype(str) + "/" + table["selection"].astype(str)
    table["interval"] = [_interval(low, high) for low, high in zip(table["reproduced_low"], table["reproduced_high"])]
    table = table.rename(columns={"temperature": "T"}).set_index(["spec", "text", "generator", "gen0", "model", "T"])
    columns = ["chains", "known", "reproduced_n", "reproduced", "interval", "mean_survived", "max_survived"]
    return ("bootstrap chains (reproduced: generations 0 and 1 both pass every test)\n"
            "gen0: what made generation 0 (its model, or a generator that calls none); model: what drives the rest\n"
            + table[columns].round(3).to_string(na_rep="-", sparsify=False))


def error_class(detail: object) -> str:
    """The error class a record's detail starts with (`RateLimitError: 429 ...` -> `RateLimitError`), or ''."""
    found = CLASS.match(str(detail)) if isinstance(detail, str) else None
    return found.group(0) if found else ""


def _endings(results: pd.DataFrame) -> list[str]:
    """Per trial, how it ended: its error class for an infra error (its status when it names none), else its
    status."""
    details = results["detail"] if "detail" in results else pd.Series("", index=results.index)
    return [(error_class(detail) or status) if status == TrialStatus.infra_error.value else status
            for status, detail in zip(results["status"], details)]


def _excluded_reasons(excluded: pd.DataFrame) -> str:
    """One line per way trials were excluded, with how many and the first one's detail, so the reason is on the
    screen rather than in a record file."""
    if excluded.empty:
        return ""
    lines = ["\n\nexcluded from every rate (retried on the next run), with the first such trial's detail:"]
    for ending, rows in excluded.groupby("ending", sort=True):
        first = rows.iloc[0]
        detail = " ".join(str(first.get("detail", "") or "").split())
        detail = detail if len(detail) <= DETAIL_CHARS else detail[:DETAIL_CHARS - 3] + "..."
        lines.append(f"  {ending} x{len(rows)} ({first['status']}): [{first.get('trial_id', '?')}] {detail}")
    return "\n".join(line.rstrip() for line in lines)


def _rates(results: pd.DataFrame) -> pd.DataFrame:
    """The counted trials' rates, formatted; cells whose trials were all excluded get none."""
    rates = pass_rate_table(results, by=BY)
    return pd.DataFrame({
        "pass_rate": rates["pass_rate"].round(3),
        "passed_all": rates["passed_all"].round(3),
        "interval": [_interval(low, high) for low, high in zip(rates["passed_all_low"], rates["passed_all_high"])],
        "seeds": rates["seeds"].astype(str) + rates["few_seeds"].map({True: "*", False: ""}),
        "usd_per_success": rates["cost_per_success"].round(4),
    }, index=rates.index)


def _interval(low: float, high: float) -> str:
    return "[" + ",".join("nan" if pd.isna(x) else f"{x:.2f}" for x in (low, high)) + "]"


def _counts(endings: pd.Series) -> str:
    return " ".join(f"{ending}:{n}" for ending, n in sorted(endings.value_counts().items()))
