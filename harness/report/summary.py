"""The short table printed when a sweep ends (and after `harness-archive replay`): one line per cell."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from harness.analysis.cells import cached_calls, cell_keys, chain_units, pass_rate_table, with_text_columns
from harness.analysis.intervals import FEW_SEEDS
from harness.analysis.lineage import chain_summary
from harness.config.schema import made_up_prices
from harness.report.formatting import spend
from harness.seams import EXCLUDED_STATUSES, TrialStatus

BY = ["spec", "model", "generator", "temperature"]
CLASS = re.compile(r"[A-Za-z_][\w.]*(?=:)")  # a record's detail starts with its error class: `RateLimitError: ...`
DETAIL_CHARS = 160


def summarize(results: pd.DataFrame) -> str:
    """One line per cell (`analysis.pass_rate_table`'s, by spec, model, generator, temperature, chain
    generation and text): trials, statuses, pass rate, share passing all tests with its interval clustered by
    seed, seeds, spend and cost per success; a legend of the columns; then how the excluded trials and the
    unscored ones ended (the first such trial's detail), and the chains.

    `text` is the text the model was given and the tests that judged it (`ours/all`, `upstream/paper`). A chain's
    generations are listed under the model that drives it (`analysis.chain_units`). `excluded` counts the trials
    left out of the rates, by error class for infra errors (`RateLimitError:2 error:1`); `other` the trials that
    ended neither scored nor excluded, by status (`timeout:2 memory:1`). `spent_usd` is every trial's spend,
    excluded ones too, and is empty when any cost is unknown; a spend is `cached` when the cache served every call
    (`formatting.spend`) and marked `~` at the synthetic model's made-up prices. A seed count marked `*` is below
    5: that interval is conservative and wide."""
    if results.empty:
        return "no trials recorded"
    results = with_text_columns(chain_units(results))
    endings = results.assign(ending=_endings(results), cost_usd=pd.to_numeric(results["cost_usd"], errors="coerce"))
    excluded = endings["status"].isin(EXCLUDED_STATUSES)
    other = ~excluded & (endings["status"] != TrialStatus.scored.value)
    table = _cells(results, endings, excluded, other)
    text = table.to_string(na_rep="-", sparsify=False)
    if (table["seeds"].astype(str).str.endswith("*")).any():
        text += f"\n* fewer than {FEW_SEEDS} seeds: wide intervals; `harness-seeds` says how many a target width needs"
    text += "\n\n" + "\n".join(LEGEND)
    if table["spent_usd"].astype(str).str.startswith("~").any():
        text += "\n" + MADE_UP
    text += _reasons(endings[excluded], "excluded from every rate (retried on the next run)")
    text += _reasons(endings[other], "ended without a score, counted as failures")
    text += _cut_off(endings[~excluded])
    if (results["gen0"] != "").any():
        text += "\n\n" + chains_text(results)
    return text


LEGEND = [
    "text: the spec text given / the tests judging it (ours/all: our text, every test); gen: chain generation",
    "excluded: left out of every rate (infra errors by class, harness errors, Ctrl-C); other: unscored endings,",
    "  counted as failures; pass_rate: mean share of tests passed; passed_all: share passing every test, interval:",
    "  its 95 % interval clustered by seed; usd_per_success: spend / trials passing every test; cached: every",
    "  model call came from the cache (an earlier trial paid); gen g counts only the chains that reached it"]
MADE_UP = "~ the synthetic model's made-up prices: no money was spent"


def _cells(results: pd.DataFrame, endings: pd.DataFrame, excluded: pd.Series, other: pd.Series) -> pd.DataFrame:
    """The cell table as printed: one row per cell, its columns formatted."""
    grouped = endings.groupby(cell_keys(BY), sort=True, dropna=False)
    made_up = endings.assign(made_up=[made_up_prices(m) for m in endings.get("litellm_model", endings["model"])])
    table = pd.DataFrame({
        "trials": grouped.size(),
        "scored": grouped["status"].apply(lambda s: int((s == TrialStatus.scored.value).sum())),
        "excluded": endings[excluded].groupby(grouped.keys, dropna=False)["ending"].agg(_counts),
        "other": endings[other].groupby(grouped.keys, dropna=False)["ending"].agg(_counts),
        "spent": grouped["cost_usd"].agg(lambda c: c.sum() if c.notna().all() else float("nan")),
        "cached": grouped.apply(cached_calls, include_groups=False),
        "made_up": made_up.groupby(grouped.keys, dropna=False)["made_up"].any(),
    }).join(_rates(results))
    table[["excluded", "other"]] = table[["excluded", "other"]].fillna("-").replace("", "-")
    for column, cost, cached in (("spent_usd", "spent", "cached"), ("usd_per_success", "cost_per_success",
                                                                      "cached_calls")):
        shown = [spend(c, k) for c, k in zip(table[cost], table[cached])]
        table[column] = [("~" if made_up and text[:1].isdigit() else "") + text
                         for made_up, text in zip(table["made_up"], shown)]
    table = table.reset_index().assign(text=lambda t: t["spec_text"].astype(str) + "/" + t["selection"].astype(str))
    table = table.rename(columns={"temperature": "T", "generation": "gen"}).set_index(
        ["spec", "text", "model", "generator", "T", "gen"]).sort_index()
    return table[["trials", "scored", "excluded", "other", "pass_rate", "passed_all", "interval", "seeds",
                  "spent_usd", "usd_per_success"]]


def next_steps(run_dir: Path, results: pd.DataFrame) -> str:
    """What to run next, on one line: the same command when trials were excluded (they are retried), the report,
    `harness-seeds` when a cell has fewer than 5 seeds, `harness-equivalence` when there are chains and no
    comparison of their generations yet."""
    shown = os.path.relpath(run_dir) if not os.path.relpath(run_dir).startswith("..") else str(run_dir)
    steps = [f"harness-report {shown} (then open {Path(shown) / 'report' / 'index.html'})"]
    counted = with_text_columns(results[~results["status"].isin(EXCLUDED_STATUSES)])
    if not counted.empty and counted.groupby(cell_keys(BY), dropna=False)["seed"].nunique().min() < FEW_SEEDS:
        steps.append(f"harness-seeds {shown} --half-width 0.1 (the seeds a narrower interval needs)")
    chained = "generation" in results and (results["generation"] > 0).any()
    if chained and not (Path(run_dir) / "equivalence.parquet").is_file():
        steps.append(f"harness-equivalence {shown} (do the generations behave alike?)")
    if results["status"].isin(EXCLUDED_STATUSES).any():
        steps.insert(0, "the same command again (it retries the excluded trials)")
    return "next: " + "; ".join(steps)


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


def _reasons(ended: pd.DataFrame, heading: str) -> str:
    """One line per way these trials ended, with how many and the first one's detail (its middle cut when long,
    so both what happened and how it ended show), so the reason is on the screen rather than in a record file."""
    if ended.empty:
        return ""
    lines = [f"\n\n{heading}, with the first such trial's detail:"]
    for ending, rows in ended.groupby("ending", sort=True):
        first = rows.iloc[0]
        detail = " ".join(str(first.get("detail", "") or "").split())
        if len(detail) > DETAIL_CHARS:  # a traceback's last line says most: keep the head and the tail
            detail = detail[:DETAIL_CHARS // 3] + " ... " + detail[-(DETAIL_CHARS - DETAIL_CHARS // 3 - 5):]
        where = f" gen {int(first['generation'])}" if first.get("gen0", "") else ""
        lines.append(f"  {ending} x{len(rows)} ({first['status']}): [{first.get('trial_id', '?')}{where}] {detail}")
    return "\n".join(line.rstrip() for line in lines)


def _cut_off(counted: pd.DataFrame) -> str:
    """How many counted trials had a reply cut off at max_tokens. Such a trial is judged on what the cap left, so
    its score says as much about the cap as about the model; the record counts it (`truncated_replies`) and each
    trial's detail says so, but a sweep in which every reply was cut (SmolLM2 at 256 tokens: 8 of 8) read like
    any other until this line."""
    cut_counts = pd.to_numeric(counted.get("truncated_replies", pd.Series(dtype=float)), errors="coerce")
    cut = counted.loc[cut_counts.reindex(counted.index).fillna(0) > 0]
    if cut.empty:
        return ""
    first = cut.iloc[0]
    return (f"\n\ncut off at max_tokens: {len(cut)} of {len(counted)} counted trials had a reply cut off, "
            f"each judged on what the cap left (a larger `model.max_tokens` may end otherwise); first: "
            f"[{first.get('trial_id', '?')}] {' '.join(str(first.get('detail', '') or '').split())[:DETAIL_CHARS]}")


def _rates(results: pd.DataFrame) -> pd.DataFrame:
    """The counted trials' rates, formatted; cells whose trials were all excluded get none."""
    rates = pass_rate_table(results, by=BY)
    return pd.DataFrame({
        "pass_rate": rates["pass_rate"].round(3),
        "passed_all": rates["passed_all"].round(3),
        "interval": [_interval(low, high) for low, high in zip(rates["passed_all_low"], rates["passed_all_high"])],
        "seeds": rates["seeds"].astype(str) + rates["few_seeds"].map({True: "*", False: ""}),
        "cost_per_success": rates["cost_per_success"], "cached_calls": rates["cached_calls"],
    }, index=rates.index)


def _interval(low: float, high: float) -> str:
    return "[" + ",".join("nan" if pd.isna(x) else f"{x:.2f}" for x in (low, high)) + "]"


def _counts(endings: pd.Series) -> str:
    return " ".join(f"{ending}:{n}" for ending, n in sorted(endings.value_counts().items()))
