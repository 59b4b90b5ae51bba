"""The notebooks' figures, shaped for any sweep: one temperature or many, one model or many.

Each function takes a table from harness.analysis.cells (no statistics are computed here) and returns a matplotlib
Figure, so a test can read its axes without a kernel.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from harness.analysis.failures import group_label

CONDITIONS = ["model", "generator", "spec_text", "selection", "generation"]


def varying(table: pd.DataFrame, candidates: Iterable[str] = CONDITIONS) -> list[str]:
    """The model, and whichever other candidate columns vary in this table: enough to tell conditions apart."""
    candidates = list(candidates)
    return candidates[:1] + [k for k in candidates[1:] if k in table and table[k].nunique(dropna=False) > 1]


def label(keys: Sequence[str], values) -> str:
    """`synthetic, generation=1`: the model by name, the other keys as key=value."""
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(str(v) if k == "model" else f"{k}={v}" for k, v in zip(keys, values))


def temperature_limits(temperatures: Iterable[float]) -> tuple[float, float]:
    """x limits for a plot against temperature: the temperatures' range padded on each side by 8 % of it, and by
    at least 0.05, so that a single temperature is a point in a readable range, not a sliver at 1e-3 scale."""
    values = np.asarray(list(temperatures), dtype=float)
    low, high = float(values.min()), float(values.max())
    pad = max(0.05, 0.08 * (high - low))
    return low - pad, high + pad


def pass_rate_figure(cells: pd.DataFrame, title: str) -> Figure:
    """One panel per spec: the share of trials passing every test (with its interval clustered by seed; hollow
    below 5 seeds) and the mean fraction of tests passed, per condition (`varying`). Against temperature when
    the table has several; otherwise side by side, one condition per position on the x axis. With chains, the
    title says that a generation's rates are over the chains that reached it (see `lineage.with_ended_chains`).

    `cells` is `pass_rate_table(...).reset_index()`: spec, temperature, the conditions, and the rates."""
    shown, specs = varying(cells), sorted(cells["spec"].unique())
    groups = list(cells.groupby(shown, sort=True, dropna=False))
    single = cells["temperature"].nunique() == 1
    width = max(6.5, 5 * len(specs)) if not single else max(6.5, min(16, 2 + 1.2 * len(groups) * len(specs)))
    fig, axes = plt.subplots(1, len(specs), figsize=(width, 4.5), sharey=True, squeeze=False)
    span = float(cells["temperature"].max() - cells["temperature"].min())
    for ax, spec in zip(axes[0], specs):
        for i, (key, rows) in enumerate(groups):
            rows = rows[rows["spec"] == spec].sort_values("temperature")
            if rows.empty:
                continue
            x = np.full(len(rows), float(i)) if single else (
                rows["temperature"].to_numpy() + 0.012 * span * (i - (len(groups) - 1) / 2))
            _share_with_interval(ax, x, rows, label(shown, key))
        if single:
            ax.set_xticks(range(len(groups)), [label(shown, key) for key, _ in groups], rotation=20, ha="right")
            ax.set_xlim(-0.6, len(groups) - 0.4)
            ax.set_xlabel(f"condition (every trial at temperature {cells['temperature'].iloc[0]:g})")
        else:
            ax.set_xlim(*temperature_limits(cells["temperature"]))
            temperatures = sorted(cells["temperature"].unique())
            if len(temperatures) <= 8:
                ax.set_xticks(temperatures)
            ax.set_xlabel("sampling temperature (dimensionless)")
        ax.set_title(f"spec: {spec}")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of counted trials / tests (0-1)")
    fig.legend(*_marks(), loc="lower center", ncols=3, fontsize="small", frameon=False)
    if not single:
        axes[0][-1].legend(*_one_per_condition(axes[0][-1]), loc="center left", bbox_to_anchor=(1.01, 0.5),
                           fontsize="small", title="condition")
    generators = cells["generator"].unique() if "generator" in cells else []
    chained = "generation" in cells and (cells["generation"] > 0).any()
    fig.suptitle(title + (f" (generator {generators[0]})" if len(generators) == 1 else "") + (
        "\nconditioned on survival: a chain's generation g counts only the chains that reached it" if chained
        else ""))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _share_with_interval(ax, x: np.ndarray, rows: pd.DataFrame, name: str) -> None:
    errors = [(rows["passed_all"] - rows["passed_all_low"]).fillna(0).to_numpy(),
              (rows["passed_all_high"] - rows["passed_all"]).fillna(0).to_numpy()]
    bars = ax.errorbar(x, rows["passed_all"], yerr=errors, capsize=3, marker="o", label=name,
                       linestyle="-" if len(x) > 1 and np.ptp(x) > 0.5 else "none")
    colour, few = bars[0].get_color(), rows["few_seeds"].astype(bool).to_numpy()
    ax.scatter(x[few], rows["passed_all"].to_numpy()[few], facecolors="white", edgecolors=colour, zorder=3)
    ax.plot(x, rows["pass_rate"], linestyle="--" if len(x) > 1 else "none", marker="x", color=colour,
            label=f"{name}: mean pass rate")


def _marks() -> tuple[list, list]:
    """What the marks mean, in black: the conditions' colours have a legend of their own."""
    return [Line2D([], [], color="black", marker="o"),
            Line2D([], [], color="black", marker="o", markerfacecolor="white", linestyle="none"),
            Line2D([], [], color="black", marker="x", linestyle="--")], [
        "share passing every test, 95 % interval clustered by seed", "the same, fewer than 5 seeds (wide)",
        "mean fraction of tests passed"]


def _one_per_condition(ax) -> tuple[list, list]:
    handles, labels = ax.get_legend_handles_labels()
    kept = [(h, l) for h, l in zip(handles, labels) if not l.endswith(": mean pass rate")]
    return [h for h, _ in kept], [l for _, l in kept]


def cost_figure(cells: pd.DataFrame, title: str = "Cost against success per cell") -> Figure | None:
    """Each cell whose costs are all known at its mean cost per trial (x, US dollars) and its share passing every
    test (y, with its interval clustered by seed), one legend entry per cell, each with its own marker. Cells at
    the same cost (to 3 significant digits) are spread sideways a little, so that no point or error bar hides
    another.
    Cells whose every model call the cache served are left out (their spend was paid by an earlier trial, so
    their 0 is not free) and named under the title; partly cached ones say how much. None when no cell is left,
    and None when every cell left cost nothing (a local model, such as SmolLM2): the points would all sit at 0,
    spread sideways into negative dollars on an axis of millionths, a chart of nothing.

    `cells` is `pass_rate_table(...).reset_index()`."""
    priced = cells.dropna(subset=["cost_usd"])
    cached = priced["cached_calls"].fillna(0) >= 1 if "cached_calls" in priced else pd.Series(False, priced.index)
    shown = [k for k in ("spec", "temperature") if priced[k].nunique() > 1] + varying(priced)
    left_out = [label(shown, tuple(r[shown])) for _, r in priced[cached].iterrows()]
    priced = priced[~cached].reset_index(drop=True)
    if priced.empty or not (priced["cost_usd"] > 0).any():
        return None
    spot = [f"{c:.3g}" for c in priced["cost_usd"]]
    rank = pd.Series(spot).groupby(spot).cumcount().to_numpy()
    size = pd.Series(spot).map(pd.Series(spot).value_counts()).to_numpy()
    low, high = float(priced["cost_usd"].min()), float(priced["cost_usd"].max())
    pad = max(0.08 * (high - low), 0.08 * high, 1e-6)
    step = 0.03 * (high - low + 2 * pad)  # a few points at any scale
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, row in priced.iterrows():
        errors = [[np.nan_to_num(row["passed_all"] - row["passed_all_low"])],
                  [np.nan_to_num(row["passed_all_high"] - row["passed_all"])]]
        part = row.get("cached_calls", 0)
        name = label(shown, tuple(row[shown])) + (f" ({100 * part:.0f} % of calls cached)" if part > 0 else "")
        ax.errorbar([row["cost_usd"] + step * (rank[i] - (size[i] - 1) / 2)], [row["passed_all"]], yerr=errors,
                    marker=MARKERS[i % len(MARKERS)], capsize=3, linestyle="none", label=name)
    ax.set_xlim(low - pad - step * size.max() / 2, high + pad + step * size.max() / 2)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel("mean cost per trial (US dollars)" + ("; cells of equal cost spread sideways" if size.max() > 1
                                                         else ""))
    ax.set_ylabel("share passing every test (0-1)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    note = f"\nnot shown, every call served from the cache: {', '.join(left_out)}" if left_out else ""
    ax.set_title(f"{title}\n(error bars: 95 % interval clustered by seed){note}", fontsize="medium")
    fig.tight_layout()
    return fig


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]


def failure_figure(groups: pd.DataFrame, title: str, max_rows: int = 15) -> Figure | None:
    """The clauses failed at least once, merged into groups that failed in the same trials, most failed first
    (at most `max_rows` groups): a groups × models heatmap of the failure rate when there are several models;
    with one model, a bar per group with its 95 % interval clustered by seed, its count of runs and, when a single trial
    broke it, that trial's id. None when nothing failed.

    `groups` is `failures.failure_groups(..., by=["model"])` for one spec and text."""
    if groups.empty:
        return None
    labels = {g: group_label(names, named) for g, names, named in
              zip(groups["group"], groups["names"], groups["named"])}
    grid = groups.pivot(index="group", columns="model", values="failure_rate").sort_index()
    shown = list(grid.index[:max_rows])
    hidden = len(grid) - len(shown)
    title += f"\n({hidden} more groups failed, as often or less; not shown)" if hidden > 0 else ""
    if grid.shape[1] == 1:
        return _failure_bars(groups.set_index("group").loc[shown], [labels[g] for g in shown], title)
    grid = grid.loc[shown]
    fig, ax = plt.subplots(figsize=(min(16, 7 + 1.2 * grid.shape[1]), 1.5 + 0.3 * len(grid)))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    image = ax.imshow(grid.to_numpy(dtype=float), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(grid)), [labels[g] for g in shown], fontsize="small")
    ax.set_xlabel("model")
    fig.colorbar(image, ax=ax, label="failure rate (fraction; grey: no scored run)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _failure_bars(rows: pd.DataFrame, names: list[str], title: str) -> Figure:
    rate = rows["failure_rate"].to_numpy(dtype=float)
    low, high = rows["failure_rate_low"].to_numpy(dtype=float), rows["failure_rate_high"].to_numpy(dtype=float)
    errors = [np.nan_to_num(rate - low), np.nan_to_num(high - rate)]  # no interval (NaN) with one seed
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.35 * len(rows)))
    y = np.arange(len(rows))
    ax.barh(y, rate, xerr=errors, capsize=3, height=0.6, color="tab:red", alpha=0.7)
    for i, (f, n, trials) in enumerate(zip(rows["failures"], rows["runs"], rows["failed_in"])):
        ax.annotate(f"{int(f)} of {int(n)} runs" + (f": trial {trials[0]}" if len(trials) == 1 else ""), (1.02, i),
                    va="center", fontsize="small", xycoords=("axes fraction", "data"))
    ax.set_yticks(y, names, fontsize="small")
    ax.set_ylim(len(rows) - 0.4, -0.6)  # most failed on top
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"runs that failed a test of it (fraction of scored runs; model {rows['model'].iloc[0]}; "
                  "95 % interval clustered by seed)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def chain_labels(table: pd.DataFrame) -> list[str]:
    """Per row of a table of chain conditions (`lineage.chain_summary(...).reset_index()` and the like): the
    model driving the chain and what made its generation 0 (`synthetic, gen 0 by import`), the temperature,
    and the spec, generator and text where they vary in the table."""
    vary = [k for k in ("spec", "generator", "spec_text", "selection") if k in table and table[k].nunique() > 1]
    return [f"{row['model']}, gen 0 by {row['gen0']}" + (f", T={row['temperature']:g}" if "temperature" in row
                                                         else "") + "".join(f", {k}={row[k]}" for k in vary)
            for _, row in table.iterrows()]
