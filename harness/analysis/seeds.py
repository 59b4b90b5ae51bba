"""How many seeds a sweep needs: from a pilot sweep's table, per cell, the seeds for a target interval half-width.

    harness-seeds runs/demo --half-width 0.05                 # for the share of trials passing every test
    harness-seeds runs/demo --half-width 0.05 --column pass_rate

One line per cell (cells as in `harness.analysis.cells.pass_rate_table`). The plan is for the interval the tables
report (`harness.analysis.intervals.clustered_interval`), with as many trials per seed as the pilot had.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from harness.analysis.cells import cell_frame, group_cells
from harness.analysis.intervals import clustered_interval, design_effect_interval
from harness.errors import ConfigError, command
from harness.records.tables import results_table

MAX_SEEDS = 100_000  # a plan beyond this is reported as not reachable


@dataclass(frozen=True)
class VarianceComponents:
    """One-way random-effects split of per-trial values by seed; NaN where the pilot cannot tell."""
    between: float  # variance of the seeds' true means
    within: float  # variance of trials around their seed's mean (NaN with one trial per seed)
    seed_mean: float  # variance of one seed's mean over its trials: between + within / m0

    def design_effect(self, per_seed: float) -> float:
        """How many times the variance of a mean over seeds of per_seed trials exceeds that of as many
        independent trials (Kish 1965): deff = per_seed * seed_mean / (between + within), that is
        1 + (per_seed - 1) * ICC with ICC = between / (between + within). 1 with one trial per seed, or when
        every trial agrees; NaN when the pilot had one seed."""
        if math.isnan(self.seed_mean):
            return math.nan
        total = self.seed_mean if math.isnan(self.within) else self.between + self.within
        return max(1.0, per_seed * self.seed_mean / total) if total > 0 else 1.0


def variance_components(values: Iterable[float], clusters: Iterable) -> VarianceComponents:
    """ANOVA estimators of variance components for unbalanced one-way data (Searle, Casella & McCulloch 1992,
    "Variance Components", ch. 3). With G seeds, seed g holding m_g of the N trials with mean y_g, grand mean y:

        within    = MSW = sum_g sum_i (y_gi - y_g)^2 / (N - G)          (NaN when N = G)
        MSB       = sum_g m_g (y_g - y)^2 / (G - 1)                    (NaN when G < 2)
        m0        = (N - sum_g m_g^2 / N) / (G - 1)                    (= m with m trials per seed)
        between   = max(0, (MSB - MSW) / m0)
        seed_mean = MSB / m0,  estimating between + within / m0 (with one trial per seed, the trials' variance)
    """
    frame = pd.DataFrame({"y": np.asarray(list(values), dtype=float), "seed": list(clusters)})
    groups = frame.groupby("seed", dropna=False)["y"]
    means, sizes = groups.transform("mean"), groups.size().to_numpy(float)
    total, seeds = float(sizes.sum()), len(sizes)
    if seeds < 2:
        return VarianceComponents(math.nan, math.nan, math.nan)
    within = float(((frame["y"] - means) ** 2).sum() / (total - seeds)) if total > seeds else math.nan
    msb = float(((means - frame["y"].mean()) ** 2).sum() / (seeds - 1))  # sum over trials = sum_g m_g (...)^2
    m0 = (total - (sizes**2).sum() / total) / (seeds - 1)
    between = max(0.0, (msb - within) / m0) if not math.isnan(within) else math.nan
    return VarianceComponents(between, within, msb / m0)


def planned_half_width(mean: float, deff: float, seeds: int, per_seed: float, confidence: float = 0.95) -> float:
    """Half the width `clustered_interval` is expected to have with `seeds` seeds of `per_seed` trials if the
    pilot's mean and design effect hold: its formula (`design_effect_interval`) with n = round(seeds *
    per_seed), that deff and deff_max = n / seeds, as if the sweep's estimate came out equal to the pilot's.
    A plug-in value: about half of such sweeps come out wider."""
    n = max(seeds, round(seeds * per_seed))
    deff_max = n / seeds
    low, high = design_effect_interval(mean, min(max(deff, 1.0), deff_max), n, seeds, deff_max, confidence)
    return float(high - low) / 2


def seeds_needed(mean: float, deff: float, per_seed: float, half_width: float, confidence: float = 0.95) -> float:
    """The fewest seeds (>= 2) whose `planned_half_width` is at most half_width, found by bisection (the
    planned width falls as seeds grow); NaN when the pilot's design effect is unknown or over MAX_SEEDS."""
    if math.isnan(mean) or math.isnan(deff):
        return math.nan
    fits = lambda seeds: planned_half_width(mean, deff, seeds, per_seed, confidence) <= half_width
    if not fits(MAX_SEEDS):
        return math.nan
    low, high = 1, 2  # invariant once found: fits(high), and low == 1 or not fits(low)
    while not fits(high):
        low, high = high, min(2 * high, MAX_SEEDS)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if fits(mid) else (mid, high)
    return float(high)


def plan_seeds(results: pd.DataFrame, half_width: float, column: str = "passed_all",
               by: Iterable[str] = ("spec", "model", "temperature"), confidence: float = 0.95) -> pd.DataFrame:
    """Per cell of the pilot (keys as in `pass_rate_table`): seeds, trials_per_seed, the mean of `column`
    (passed_all or pass_rate), its between- and within-seed variance (`variance_components`), the design effect
    they imply (`VarianceComponents.design_effect`), the half-width of its interval now (NaN with one seed), and
    seeds_needed for `half_width` with as many trials per seed (`seeds_needed`)."""
    if not 0 < half_width < 0.5:
        raise ValueError(f"half_width must be in (0, 0.5), got {half_width}")
    keys, cells = group_cells(results, by)
    rows = []
    for key, cell in cells:
        values = cell[column].astype(float)
        now = clustered_interval(values, cell["seed"], confidence)
        per_seed = now.n / now.clusters
        parts = variance_components(values, cell["seed"])
        deff = parts.design_effect(per_seed)
        rows.append({**dict(zip(keys, key)), "seeds": now.clusters, "trials_per_seed": per_seed, "mean": now.mean,
                     "between_var": parts.between, "within_var": parts.within, "deff": deff,
                     "half_width": (now.high - now.low) / 2,
                     "seeds_needed": seeds_needed(now.mean, deff, per_seed, half_width, confidence)})
    return cell_frame(rows, keys, ["seeds", "trials_per_seed", "mean", "between_var", "within_var", "deff",
                                   "half_width", "seeds_needed"])


@command("harness-seeds")
def main(argv: Optional[list[str]] = None) -> None:
    """harness-seeds runs/<experiment> --half-width W: the seeds each cell needs for an interval that narrow."""
    parser = argparse.ArgumentParser(prog="harness-seeds", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="an experiment's folder, e.g. runs/demo (holds results.parquet)")
    parser.add_argument("--half-width", type=float, required=True, help="target half-width, e.g. 0.05")
    parser.add_argument("--column", choices=["passed_all", "pass_rate"], default="passed_all")
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args(argv)
    table_path = args.run_dir / "results.parquet"
    results = results_table(args.run_dir)  # rebuilt from the records when it cannot be read
    try:
        plan = plan_seeds(results, args.half_width, args.column, confidence=args.confidence)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if plan.empty:
        raise ConfigError(f"{table_path} holds no counted trials")
    print(f"{table_path}: seeds for a {args.confidence:.0%} interval of {args.column} with half-width "
          f"{args.half_width} (same trials per seed as now; '-': not estimable, or over {MAX_SEEDS})")
    print(plan_text(plan))


def plan_text(plan: pd.DataFrame) -> str:
    """`plan_seeds`'s table as printed by harness-seeds and the results notebook: one line per cell."""
    shown = plan.round(4).astype({"seeds_needed": object})
    shown["seeds_needed"] = [str(int(x)) if x == x else "-" for x in plan["seeds_needed"]]
    return shown.to_string(na_rep="-", sparsify=False)
