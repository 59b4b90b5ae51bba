"""Measure the coverage and width of intervals for a mean over trials clustered by seed, on simulated sweeps.

    python benchmarks/interval_coverage.py [--sweeps 4000] [--full]

Compares harness.analysis.intervals.clustered_interval ("after") with the interval the tables used before it
("before": a Wilson interval on the design-effect sample size, the design effect taken as 1 when every trial of a
sample agrees; kept here only as the comparison) over truths 0.02-0.98, ICCs 0.01-0.8, 2-50 seeds and 1-20
trials a seed. Seeds draw their success chance from a beta distribution with the given intra-cluster
correlation (harness.analysis.intervals.beta_binomial_sweeps). Prints issue 27's cells, a summary of the grid
and, with --full, every cell. Seeded: the same figures every run.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
from scipy import stats

from harness.analysis.intervals import beta_binomial_sweeps, clustered_interval_arrays

TRUTHS = (0.02, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.98)
ICCS = (0.01, 0.1, 0.3, 0.5, 0.7, 0.8)
SEEDS = (2, 3, 5, 10, 20, 50)
PER_SEED = (1, 2, 6, 20)
ISSUE = [(truth, icc, 6, seeds) for truth in (0.95, 0.1) for icc in (0.7, 0.3) for seeds in (3, 5, 10, 20)]
NOMINAL = 0.95


def before_interval(sums: np.ndarray, counts: np.ndarray, confidence: float = NOMINAL):
    """The interval replaced in issue 27: Wilson's on n* = n / max(1, deff) * (t_{n-1} / t_{G-1})^2, with
    deff = v / (p (1 - p) / (n - 1)), and deff = 1 when p (1 - p) = 0. Equal n in every sample."""
    clusters, n = sums.shape[1], counts.sum(axis=1)
    p = sums.sum(axis=1) / n
    variance = clusters / (clusters - 1) * ((sums - p[:, None] * counts) ** 2).sum(axis=1) / n**2
    independent = p * (1 - p) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(independent > 0, variance / independent, 1.0)
    tail = (1 + confidence) / 2
    effective = n / np.maximum(deff, 1.0) * (stats.t.ppf(tail, n - 1) / stats.t.ppf(tail, clusters - 1)) ** 2
    z = stats.norm.ppf(tail)
    shrink = 1 + z * z / effective
    centre = (p + z * z / (2 * effective)) / shrink
    half = z / shrink * np.sqrt(p * (1 - p) / effective + z * z / (4 * effective**2))
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def measure(truth: float, icc: float, per_seed: int, seeds: int, sweeps: int) -> dict:
    """Coverage and mean width of both intervals in one cell, on the same simulated sweeps."""
    rng = np.random.default_rng([int(truth * 100), int(icc * 100), per_seed, seeds])
    sums, counts = beta_binomial_sweeps(rng, sweeps, seeds, per_seed, truth, icc)
    row = {"truth": truth, "icc": icc, "per_seed": per_seed, "seeds": seeds}
    for name, (low, high) in (("before", before_interval(sums, counts)),
                              ("after", clustered_interval_arrays(sums, counts, NOMINAL)[1:])):
        row[f"{name}_coverage"] = np.mean((low <= truth) & (truth <= high))
        row[f"{name}_width"] = np.mean(high - low)
    return row


def cell_text(row: pd.Series, name: str) -> str:
    return f"{row[f'{name}_coverage']:6.1%} w{row[f'{name}_width']:.2f}"


def by_seeds(table: pd.DataFrame, title: str) -> str:
    """One line per (truth, ICC, trials a seed) and method, a column per number of seeds."""
    seeds = sorted(table["seeds"].unique())
    lines = [title, f"{'method':<8}{'truth':>6}{'ICC':>6}{'per seed':>9}  " + "".join(f"{g:>3} seeds    "
                                                                                     for g in seeds)]
    for (truth, icc, per_seed), rows in table.groupby(["truth", "icc", "per_seed"], sort=False):
        rows = rows.set_index("seeds")
        for name in ("before", "after"):
            lines.append(f"{name:<8}{truth:>6}{icc:>6}{per_seed:>9}  "
                         + "  ".join(cell_text(rows.loc[g], name) for g in seeds))
    return "\n".join(lines)


def summary(table: pd.DataFrame, sweeps: int) -> str:
    """Per method: cells below nominal by more than three Monte Carlo standard errors, the lowest and mean
    coverage and the mean width, over the grid and per number of seeds."""
    floor = NOMINAL - 3 * math.sqrt(NOMINAL * (1 - NOMINAL) / sweeps)
    lines = [f"whole grid, {len(table)} cells: cells below {floor:.3f} (nominal - 3 Monte Carlo SE), lowest and "
             "mean coverage, mean width (over all cells, and per number of seeds)"]
    for name in ("before", "after"):
        coverage, width = table[f"{name}_coverage"], table[f"{name}_width"]
        worst = table.loc[coverage.idxmin()]
        lines.append(f"{name:<8}{int((coverage < floor).sum()):>4} below  lowest {coverage.min():6.1%} (truth "
                     f"{worst['truth']}, ICC {worst['icc']}, {int(worst['per_seed'])} a seed, {int(worst['seeds'])}"
                     f" seeds)  mean {coverage.mean():6.1%}  width {width.mean():.3f}")
        per = table.groupby("seeds")[[f"{name}_coverage", f"{name}_width"]].mean()
        lines.append("          " + "  ".join(f"{g} seeds: {c:6.1%} w{w:.3f}" for g, (c, w) in per.iterrows()))
    held = table[table["before_coverage"] >= floor]
    ratio = (held["after_width"] / held["before_width"]).groupby(held["seeds"]).median()
    lines.append(f"where before holds ({len(held)} cells), after's width over before's, median per number of seeds: "
                 + "  ".join(f"{g}: {r:.2f}" for g, r in ratio.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=4000, help="simulated sweeps per cell")
    parser.add_argument("--full", action="store_true", help="print every cell of the grid")
    args = parser.parse_args()
    print(f"coverage of nominal 95 % intervals and their mean width (w), {args.sweeps} simulated sweeps a cell\n")
    issue = pd.DataFrame([measure(*cell, args.sweeps) for cell in ISSUE])
    print(by_seeds(issue, "issue 27's cells (6 trials a seed)") + "\n")
    grid = pd.DataFrame([measure(t, i, m, g, args.sweeps)
                         for t in TRUTHS for i in ICCS for m in PER_SEED for g in SEEDS])
    print(summary(grid, args.sweeps))
    if args.full:
        print("\n" + by_seeds(grid, "every cell"))


if __name__ == "__main__":
    main()
