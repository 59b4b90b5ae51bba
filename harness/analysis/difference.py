"""The difference between two experiments' rates (a share of trials, or a mean fraction of tests), each clustered
by seed, with a confidence interval: how a change reads when two experiments are set side by side.

Pure functions; the interval's core takes arrays, so its coverage is simulated through the code the comparison
uses (tests/analysis/test_difference.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from harness.analysis.intervals import clustered_interval, clustered_interval_arrays


@dataclass(frozen=True)
class Difference:
    """p_b - p_a and its interval; low and high are NaN when either side has fewer than two seeds."""

    a: float
    b: float
    difference: float
    low: float
    high: float


def difference_interval(values_a: Iterable[float], clusters_a: Iterable, values_b: Iterable[float],
                        clusters_b: Iterable, confidence: float = 0.95) -> Difference:
    """Interval for p_b - p_a, the difference between two means of per-trial values in [0, 1] (pass/fail, or a
    fraction of tests passed), each over trials clustered by seed, the two sets of trials independent (two
    experiments, or two cells of one).

    Method: MOVER, the method of variance estimates recovery (Zou & Donner 2008, "Construction of confidence
    limits about effect measures: a general approach", Statistics in Medicine 27(10): 1693-1702), which for two
    proportions is Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the difference
    between independent proportions: comparison of eleven methods", Statistics in Medicine 17(8): 873-890,
    method 10), with each side's Wilson interval replaced by its interval clustered by seed
    (harness.analysis.intervals.clustered_interval: Wilson on the design-effect sample size, Korn & Graubard's
    degrees of freedom). With (l_a, u_a) and (l_b, u_b) those intervals around p_a and p_b:

        d    = p_b - p_a
        low  = d - sqrt((p_b - l_b)^2 + (u_a - p_a)^2)
        high = d + sqrt((u_b - p_b)^2 + (p_a - l_a)^2)

    It inherits the clustered interval's behaviour: never zero-width (not even when both sides all pass), stays
    inside [-1, 1], and is wide with few seeds. Trials of the two sides that share a seed number are treated as
    independent: for a paired design (the same seeds, positively correlated) the interval is conservative.
    """
    a = clustered_interval(values_a, clusters_a, confidence)
    b = clustered_interval(values_b, clusters_b, confidence)
    low, high = mover(a.mean, a.low, a.high, b.mean, b.low, b.high)
    return Difference(a.mean, b.mean, b.mean - a.mean, float(low), float(high))


def mover(p_a, low_a, high_a, p_b, low_b, high_b):
    """The last two lines of `difference_interval`'s formula, from each side's estimate and interval (floats or
    arrays; NaN in, NaN out). Returns low, high of p_b - p_a."""
    d = np.asarray(p_b, dtype=float) - np.asarray(p_a, dtype=float)
    low = d - np.sqrt((np.asarray(p_b) - low_b) ** 2 + (np.asarray(high_a) - p_a) ** 2)
    high = d + np.sqrt((np.asarray(high_b) - p_b) ** 2 + (np.asarray(p_a) - low_a) ** 2)
    return low, high


def difference_interval_arrays(sums_a: np.ndarray, counts_a: np.ndarray, sums_b: np.ndarray, counts_b: np.ndarray,
                               confidence: float = 0.95):
    """`difference_interval` on many simulated pairs of sweeps at once (each side's arrays as
    `clustered_interval_arrays` takes them). Returns arrays difference, low, high."""
    p_a, low_a, high_a = clustered_interval_arrays(sums_a, counts_a, confidence)
    p_b, low_b, high_b = clustered_interval_arrays(sums_b, counts_b, confidence)
    low, high = mover(p_a, low_a, high_a, p_b, low_b, high_b)
    return p_b - p_a, low, high


def excludes_zero(diff: Difference) -> bool:
    """Whether the interval lies wholly on one side of 0 (False when it is unknown)."""
    return not math.isnan(diff.low) and (diff.low > 0 or diff.high < 0)
