"""Confidence intervals for a share or a mean over trials clustered by seed: a Clopper-Pearson interval on an
effective sample size that does not collapse when a sample shows no variance, honest from 0 to 1.

Every function here is pure. The core works on arrays of per-seed sums and counts, so the coverage test and
benchmarks/interval_coverage.py simulate thousands of sweeps at once through the very code the tables use.
Quantiles come from scipy.special (`stdtrit`, `betaincinv`: the functions scipy.stats' `t.ppf` and `beta.ppf`
compute with, equal to them to the last bit over the range used here), imported inside the functions that need
them: importing this module does not pay for scipy, and the first interval pays 0.16 s where scipy.stats cost
0.69 s, which a finished sweep's re-run paid to print its summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

# Below this many seeds a cell is flagged: its interval is honest but wide (see `clustered_interval`).
FEW_SEEDS = 5
# k0 in `design_effect_interval`: how many minority outcomes the worst-case design effect is worth. Set by
# simulation: with 2, truth 0.05, ICC 0.7, 50 seeds of 20 trials covered 94.3 % (10,000 sweeps); with 3, no cell of
# a denser grid (7,920 cells: truths 0.02-0.5, ICCs 0.01-0.8, 2-50 seeds, 1-20 trials a seed; 4,000 sweeps each)
# fell below 94.95 %, for 1 % more mean width.
PSEUDO_MINORITY = 3.0


@dataclass(frozen=True)
class ClusteredInterval:
    """A mean over trials and its interval; low and high are NaN when fewer than two clusters were seen."""
    mean: float
    low: float
    high: float
    n: int  # trials
    clusters: int  # seeds

    @property
    def few(self) -> bool:
        return self.clusters < FEW_SEEDS


def clustered_interval(values: Iterable[float], clusters: Iterable, confidence: float = 0.95) -> ClusteredInterval:
    """Interval for the mean of per-trial values in [0, 1] (a pass/fail, or a fraction of tests passed) when
    trials sharing a cluster (a seed) may be correlated. With G clusters, cluster g holding m_g trials whose
    values sum to Y_g, n = sum m_g:

        p         = sum Y_g / n                                          (the mean over trials)
        v         = G / (G - 1) * sum (Y_g - p m_g)^2 / n^2              (cluster-robust variance of p)
        deff_max  = sum m_g^2 / n                                        (= m with m trials per seed)
        deff      = v / (p (1 - p) / n), clipped to [1, deff_max]        (deff_max when p (1 - p) = 0)
        then `design_effect_interval`: deff shrunk toward deff_max when the sample holds few minority
        outcomes, n* = n / deff corrected for G - 1 degrees of freedom and floored at n / deff_max, and the
        Clopper-Pearson interval of p n* successes in n* trials.

    The design effect (Kish 1965, "Survey Sampling") and the Clopper-Pearson interval on the effective sample
    size with its degrees-of-freedom correction are Korn and Graubard's (1998, "Confidence intervals for
    proportions with small expected number of positive counts estimated from survey data", Survey Methodology
    24(2): 193-201). deff_max is the design effect if every seed's trials agreed, and its floor n / deff_max
    (n* = G with m trials per seed) is Clopper-Pearson on the seed means, honest without estimating any
    variance: a seed mean in [0, 1] with mean mu varies at most as a pass/fail does, mu (1 - mu) (Bhatia & Davis
    2000, "A better bound on the variance", Amer. Math. Monthly 107(4): 353-357). Trials are never counted as more
    informative than independent ones (deff >= 1), which is conservative for fractions, which vary less than a
    pass/fail does. One trial per seed gives Clopper-Pearson on the seeds. Fewer than 2 clusters: low and high
    are NaN (between-seed variation cannot be estimated).

    Coverage of a 95 % interval, simulated (beta-binomial seeds, `beta_binomial_sweeps`) over truths
    0.02-0.98, ICCs 0.01-0.8, 2-50 seeds and 1-20 trials a seed (1,296 cells of 4,000 sweeps,
    benchmarks/interval_coverage.py, which prints mean widths too): at least 95.4 % in every cell, 99.2 % on
    average; tests/analysis/test_intervals.py checks the grid. It is conservative, hence wide, with few seeds
    (flagged `few` below FEW_SEEDS) and near 0 and 1, where a sample rarely shows how strongly a seed's trials
    agree.
    """
    frame = pd.DataFrame({"value": np.asarray(list(values), dtype=float), "cluster": list(clusters)})
    if frame["value"].isna().any() or not frame["value"].between(0.0, 1.0).all():
        raise ValueError("values must be numbers in [0, 1]")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    grouped = frame.groupby("cluster", dropna=False)["value"].agg(["sum", "count"])
    sums, counts = grouped["sum"].to_numpy(float)[None, :], grouped["count"].to_numpy(float)[None, :]
    if counts.size == 0:
        return ClusteredInterval(math.nan, math.nan, math.nan, 0, 0)
    mean, low, high = clustered_interval_arrays(sums, counts, confidence)
    return ClusteredInterval(float(mean[0]), float(low[0]), float(high[0]), int(counts.sum()), counts.shape[1])


def clustered_interval_arrays(sums: np.ndarray, counts: np.ndarray, confidence: float = 0.95):
    """`clustered_interval` on many samples at once: per-cluster sums and counts of shape (samples, G); a
    cluster with count 0 is absent, so samples may differ in clusters and trials. Returns arrays mean, low,
    high of shape (samples,); low and high are NaN where a sample has fewer than 2 clusters. The interval depends
    on a sample only through (n, G, sum Y_g, sum Y_g^2, sum Y_g m_g, sum m_g^2), so each distinct tuple is
    computed once: simulated sweeps repeat them often."""
    sums, counts = np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)
    return _from_moments(np.stack([counts.sum(axis=1), (counts > 0).sum(axis=1), sums.sum(axis=1),
                                   (sums**2).sum(axis=1), (sums * counts).sum(axis=1), (counts**2).sum(axis=1)],
                                  axis=1), confidence)


def clustered_intervals(frame: pd.DataFrame, keys: list[str], value: str, cluster: str,
                        confidence: float = 0.95) -> pd.DataFrame:
    """`clustered_interval` of column `value` clustered by column `cluster`, for each group of `keys` at once
    (a table of many small groups, such as per-test failures). Returns a table indexed by `keys` with columns
    total (the sum of `value`), mean, low, high, n, clusters."""
    per_cluster = frame.groupby([*keys, cluster], sort=True, dropna=False)[value].agg(["sum", "count"])
    per_cluster = per_cluster.assign(squares=per_cluster["sum"] ** 2, cross=per_cluster["sum"] * per_cluster["count"],
                                     sizes=per_cluster["count"] ** 2, clusters=1.0)
    moments = per_cluster.groupby(level=list(range(len(keys))), sort=True, dropna=False).sum()
    mean, low, high = _from_moments(moments[["count", "clusters", "sum", "squares", "cross", "sizes"]].to_numpy(
        float), confidence)
    return pd.DataFrame({"total": moments["sum"], "mean": mean, "low": low, "high": high,
                         "n": moments["count"].astype(int), "clusters": moments["clusters"].astype(int)},
                        index=moments.index)


def _from_moments(moments: np.ndarray, confidence: float):
    """Mean, low, high from rows of (n, G, sum Y_g, sum Y_g^2, sum Y_g m_g, sum m_g^2), each distinct row once."""
    if len(moments) == 0:  # no group at all (no trial scored): `first` below would still hold one row
        return np.empty(0), np.empty(0), np.empty(0)
    order = np.lexsort(moments.T[::-1])  # distinct rows by sorting: much faster than np.unique(axis=0)
    ordered = moments[order]
    first = np.r_[True, (np.diff(ordered, axis=0) != 0).any(axis=1)]
    back = np.empty(len(moments), dtype=int)
    back[order] = np.cumsum(first) - 1
    n, clusters, total, squares, cross, sizes = ordered[first].T
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        variance = clusters / (clusters - 1) * (squares - 2 * mean * cross + mean**2 * sizes) / n**2
        deff = np.clip(variance / (mean * (1 - mean) / n), 1.0, sizes / n)
    deff = np.where(mean * (1 - mean) > 0, deff, sizes / n)
    low, high = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    ok = clusters >= 2
    low[ok], high[ok] = design_effect_interval(mean[ok], deff[ok], n[ok], clusters[ok], sizes[ok] / n[ok], confidence)
    return mean[back], low[back], high[back]


def design_effect_interval(mean, deff, n, clusters, deff_max, confidence: float = 0.95):
    """The Clopper-Pearson interval of a mean p over n trials in G >= 2 clusters with design effect deff
    (1 <= deff <= deff_max; arrays or floats), as `clustered_interval` computes it and the seeds planner
    plans it. With k = n min(p, 1 - p) minority outcomes, k0 = PSEUDO_MINORITY and t_d Student's t two-sided
    critical value on d degrees of freedom:

        deff~ = (k deff + k0 deff_max) / (k + k0)
        n*    = max(n / deff~ * (t_{n-1} / t_{G-1})^2,  n / deff_max)
        (low, high) = `clopper_pearson`(p n*, n*)

    Why deff~: a sample with few minority outcomes (every trial but two passing) says little about how strongly
    a seed's trials agree, and its deff is then biased low, so it is shrunk toward deff_max, its worst case, as
    if k0 more minority outcomes had all fallen in one seed; with many it is the estimate. Without this step
    the interval undercovers near 0 and 1 with correlated seeds (86 % at truth 0.02, ICC 0.5, 50 seeds of 20).
    k0 is this module's choice, set by simulation (see PSEUDO_MINORITY). The t ratio is Korn and Graubard's
    correction for a variance estimated on G - 1 degrees of freedom; the floor needs no variance estimate."""
    mean, deff, n, clusters, deff_max = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (
        mean, deff, n, clusters, deff_max)))
    minority = n * np.minimum(mean, 1.0 - mean)
    shrunk = (minority * deff + PSEUDO_MINORITY * deff_max) / (minority + PSEUDO_MINORITY)
    ratio = _t_critical(n - 1, confidence) / _t_critical(clusters - 1, confidence)
    effective = np.maximum(n / shrunk * ratio**2, n / deff_max)
    return clopper_pearson(mean * effective, effective, confidence)


def _t_critical(df: np.ndarray, confidence: float) -> np.ndarray:
    """Student's t two-sided critical value on each df (the quantile iterates: each distinct df once)."""
    from scipy import special

    distinct, back = np.unique(df, return_inverse=True)
    return special.stdtrit(distinct, (1.0 + confidence) / 2.0)[back].reshape(df.shape)


def clopper_pearson(successes, n, confidence: float = 0.95):
    """Clopper and Pearson's (1934, Biometrika 26(4): 404-413) interval for a binomial share, from the beta
    quantiles B(q; a, b), with alpha = 1 - confidence (arrays or floats; successes and n need not be integers):

        low  = B(alpha / 2; x, n - x + 1)        (0 when x = 0)
        high = B(1 - alpha / 2; x + 1, n - x)    (1 when x = n)

    It covers at least `confidence` for every true share, never less, at the price of some width. Floats in,
    floats out."""
    from scipy import special

    x, n = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    alpha = 1.0 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x > 0, special.betaincinv(x, n - x + 1, alpha / 2), 0.0)
        high = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - alpha / 2), 1.0)
    return (float(low), float(high)) if low.ndim == 0 else (low, high)


def beta_binomial_sweeps(rng: np.random.Generator, samples: int, clusters: int, per_cluster: int, mean: float,
                         icc: float) -> tuple[np.ndarray, np.ndarray]:
    """Simulated pass/fail sweeps, the model under which this module's coverage is measured: each seed draws its
    own success chance from Beta(mean (1 - icc) / icc, (1 - mean) (1 - icc) / icc), so the intra-cluster
    correlation of outcomes is icc, and runs per_cluster trials with it. Returns the (samples, clusters) arrays
    of successes and trials per seed, ready for `clustered_interval_arrays`."""
    if icc > 0:
        shape = (1.0 - icc) / icc
        chances = rng.beta(mean * shape, (1.0 - mean) * shape, size=(samples, clusters))
    else:
        chances = np.full((samples, clusters), mean)
    counts = np.full((samples, clusters), float(per_cluster))
    return rng.binomial(per_cluster, chances).astype(float), counts
