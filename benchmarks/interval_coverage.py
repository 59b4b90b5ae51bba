"""Measure the coverage of intervals for a mean over trials clustered by seed, on simulated sweeps.

    python benchmarks/interval_coverage.py [--sweeps 4000] [--bootstrap-sweeps 500]

Prints, per number of seeds, the share of 95 % intervals that hold the truth and their mean width, for
harness.analysis.intervals.clustered_interval and for the percentile bootstrap over seeds that the tables used before it
(kept here only as the comparison). Seeds draw their success chance from a beta distribution with the given
intra-cluster correlation (harness.analysis.intervals.beta_binomial_sweeps). Seeded: the same figures every run.
"""

from __future__ import annotations

import argparse

import numpy as np

from harness.analysis.intervals import beta_binomial_sweeps, clustered_interval_arrays

SEEDS = (1, 2, 3, 5, 10, 20)
SCENARIOS = [  # truth, ICC, trials per seed
    (0.6, 0.3, 6), (0.6, 0.3, 1), (0.6, 0.1, 6), (0.6, 0.6, 6), (0.3, 0.3, 3), (0.9, 0.3, 6), (0.95, 0.3, 6),
]


def percentile_bootstrap(sums: np.ndarray, counts: np.ndarray, rng: np.random.Generator, resamples: int = 2000):
    """The old interval: resample seeds with replacement, take the 2.5 and 97.5 % quantiles of the means."""
    low, high = np.empty(len(sums)), np.empty(len(sums))
    for i, (s, c) in enumerate(zip(sums, counts)):
        picks = rng.integers(0, len(s), size=(resamples, len(s)))
        low[i], high[i] = np.quantile(s[picks].sum(axis=1) / c[picks].sum(axis=1), [0.025, 0.975])
    return low, high


def measure(truth: float, icc: float, per_seed: int, seeds: int, sweeps: int, bootstrap: bool) -> str:
    rng = np.random.default_rng([int(truth * 100), int(icc * 100), per_seed, seeds])
    sums, counts = beta_binomial_sweeps(rng, sweeps, seeds, per_seed, truth, icc)
    if bootstrap:
        low, high = percentile_bootstrap(sums, counts, rng)
    else:
        _, low, high = clustered_interval_arrays(sums, counts, 0.95)
    if np.isnan(low).all():
        return "   no interval"
    return f"{np.mean((low <= truth) & (truth <= high)):6.1%} w{np.nanmean(high - low):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=4000)
    parser.add_argument("--bootstrap-sweeps", type=int, default=500)
    args = parser.parse_args()
    print("coverage of nominal 95 % intervals and mean width (w), per number of seeds\n")
    print(f"{'method':<22}{'truth':>6}{'ICC':>5}{'per seed':>9}  " + "".join(f"{g:>3} seeds     " for g in SEEDS))
    for truth, icc, per_seed in SCENARIOS:
        runs = [("clustered_interval", args.sweeps, False)]
        if (truth, icc, per_seed) == SCENARIOS[0]:
            runs.append(("percentile bootstrap", args.bootstrap_sweeps, True))
        for name, sweeps, bootstrap in runs:
            cells = "  ".join(measure(truth, icc, per_seed, g, sweeps, bootstrap) for g in SEEDS)
            print(f"{name:<22}{truth:>6}{icc:>5}{per_seed:>9}  {cells}")


if __name__ == "__main__":
    main()
