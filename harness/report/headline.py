"""The numbers a report opens with: per spec × model × text, how often implementations pass, how sure we are,
what was left out, what a success costs and, for bootstrap chains, how many reproduced themselves.

`headline` computes them (pure, from the results table, with harness.analysis.cells and harness.analysis.lineage);
`headline_view` turns them into short strings for a page, and `headline_html` into the report's table, whose trial
counts open each cell's trials in the viewer (harness/view/).
"""

from __future__ import annotations

import html

import pandas as pd

from harness.analysis.cells import cell_keys, chain_units, pass_rate_table, with_text_columns
from harness.analysis.lineage import chain_summary
from harness.report.formatting import spend, with_interval
from harness.seams import EXCLUDED_STATUSES
from harness.view.trials import cell_href, cell_label

BY = ["spec", "model"]  # temperatures pooled; generators, chain generations and texts never are (cell_keys)


def headline(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell of `pass_rate_table(results, by=["spec", "model"])`, indexed like it (a chain's
    generations under the model that drives it), with every temperature of the cell pooled:

        n, seeds, few_seeds, pass_rate(_low/_high), passed_all(_low/_high), cost_per_success, cached_calls
                        as in pass_rate_table
        excluded        trials left out of every rate (infra_error, error, interrupted); a cell whose trials were
                        all excluded is listed too, with n = 0 and no rates
        chains, chains_known, chains_reproduced, reproduced(_low/_high)   for a chain's cells (every generation
                        of it): `lineage.chain_summary` over the chains of that spec, driving model, generator
                        and text, all temperatures pooled; NaN outside chains
    """
    keys = cell_keys(BY)
    units = with_text_columns(chain_units(results))
    excluded = units.assign(excluded=units["status"].isin(EXCLUDED_STATUSES)).groupby(
        keys, sort=True, dropna=False)["excluded"].sum().astype(int)
    table = pass_rate_table(results, by=BY).join(excluded, how="outer")
    table["n"] = table["n"].fillna(0).astype(int)
    chains = chain_summary(results, by=BY).reset_index()
    if chains.empty:
        return table.assign(chains=float("nan"), chains_known=float("nan"), chains_reproduced=float("nan"),
                            reproduced=float("nan"), reproduced_low=float("nan"), reproduced_high=float("nan"))
    joined = ["spec", "model", "generator", "spec_text", "selection"]  # gen0 follows from generator and model
    chains = chains.set_index(joined)[["chains", "known", "reproduced_n", "reproduced", "reproduced_low",
                                       "reproduced_high"]]
    chains.columns = ["chains", "chains_known", "chains_reproduced", "reproduced", "reproduced_low", "reproduced_high"]
    return table.join(chains, on=joined)


def headline_view(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """`headline`'s table as short strings, one row per cell, and a note on what every row shares.

    Columns: spec, text, model, generator and generation (only when they vary; otherwise named in the note),
    trials (counted), excluded, pass rate and all tests pass (each `0.88 [0.34, 0.99]`, a 95 % interval
    clustered by seed), seeds (`3 few` below 5), US$ per success (`cached` when the cache served every call: an
    earlier trial paid for them) and, when there are chains, chains reproduced."""
    rows = table.reset_index()
    rows["text"] = rows["spec_text"].astype(str) + "/" + rows["selection"].astype(str)
    view = pd.DataFrame({
        "spec": rows["spec"], "text": rows["text"], "model": rows["model"], "generator": rows["generator"],
        "generation": rows["generation"].astype(str),
        "trials": rows["n"].astype(str), "excluded": rows["excluded"].astype(str),
        "pass rate": [with_interval(*v) for v in zip(rows["pass_rate"], rows["pass_rate_low"],
                                                     rows["pass_rate_high"])],
        "all tests pass": [with_interval(*v) for v in zip(rows["passed_all"], rows["passed_all_low"],
                                                          rows["passed_all_high"])],
        "seeds": [("-" if pd.isna(s) else f"{int(s)}" + (" few" if few else "")) for s, few in
                  zip(rows["seeds"], rows["few_seeds"].astype(object).fillna(False))],
        "US$ per success": [spend(c, cached) for c, cached in zip(rows["cost_per_success"], rows["cached_calls"])],
    })
    if rows["chains"].notna().any():
        view["chains reproduced"] = [_reproduced(*v) for v in zip(
            rows["chains_reproduced"], rows["chains_known"], rows["reproduced_low"], rows["reproduced_high"])]
    shared = [c for c in ("generator", "generation") if view[c].nunique() == 1]
    note = ", ".join(f"{c} {view[c].iloc[0]}" for c in shared)
    return view.drop(columns=shared), (f"Every row: {note}." if note else "")


def _reproduced(count: float, known: float, low: float, high: float) -> str:
    if pd.isna(count):
        return "-"
    return f"{int(count)} of {int(known)}" + ("" if pd.isna(low) else f" [{low:.2f}, {high:.2f}]")  # one seed: none


VIEWER = "trials/index.html"  # the viewer's table, relative to the report's index.html (harness/view/site.py)


def headline_html(table: pd.DataFrame, viewer: str = VIEWER) -> str:
    """`headline_view`'s table as HTML, each row's trial count a link to that cell's trials in the viewer, every
    value escaped; the note on what every row shares under it."""
    view, note = headline_view(table)
    rows = table.reset_index()
    labels = [cell_label(*key) for key in zip(rows["spec"], rows["spec_text"], rows["selection"], rows["model"],
                                               rows["generator"], rows["generation"])]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in view.columns)
    body = []
    for label, values in zip(labels, view.itertuples(index=False)):
        cells = [f'<a href="{html.escape(cell_href(label, viewer))}" title="this cell\'s trials">{html.escape(v)}</a>'
                 if column == "trials" else html.escape(str(v)) for column, v in zip(view.columns, values)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = " ".join(filter(None, [note, "Each trial count opens that cell's trials in the viewer;"]))
    return (f'<table class="dataframe headline"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            f'<p class="table-note">{html.escape(note)} <a href="{html.escape(viewer)}">every trial</a>.</p>')
