"""harness.analysis.difference: the difference of two rates clustered by seed, and its interval's coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.difference import difference_interval, difference_interval_arrays, excludes_zero
from harness.analysis.intervals import beta_binomial_sweeps, clustered_interval


def test_the_interval_is_newcombes_hybrid_built_on_each_sides_clustered_interval():
    a_values, a_seeds = [1, 1, 0, 1, 1, 0, 1, 1], [0, 0, 1, 1, 2, 2, 3, 3]
    b_values, b_seeds = [0, 0, 1, 0, 0, 1], [0, 1, 2, 3, 4, 5]
    a, b = clustered_interval(a_values, a_seeds), clustered_interval(b_values, b_seeds)
    diff = difference_interval(a_values, a_seeds, b_values, b_seeds)
    assert (diff.a, diff.b, diff.difference) == pytest.approx((0.75, 1 / 3, 1 / 3 - 0.75))
    assert diff.low == pytest.approx(diff.difference - math.hypot(b.mean - b.low, a.high - a.mean))
    assert diff.high == pytest.approx(diff.difference + math.hypot(b.high - b.mean, a.mean - a.low))
    assert -1 <= diff.low < diff.difference < diff.high <= 1 and not excludes_zero(diff)


def test_a_clear_difference_excludes_zero_and_agreement_is_never_zero_width():
    seeds = [s for s in range(10) for _ in range(3)]
    clear = difference_interval([1.0] * 30, seeds, [0.0] * 30, seeds)
    assert clear.difference == -1.0 and clear.high < 0 and excludes_zero(clear)
    same = difference_interval([1.0] * 30, seeds, [1.0] * 30, seeds)
    assert same.difference == 0 and same.low < 0 < same.high


def test_one_seed_on_either_side_leaves_the_interval_unknown():
    diff = difference_interval([1, 0, 1], [0, 0, 0], [1, 1, 0, 0], [0, 1, 2, 3])
    assert diff.difference == pytest.approx(0.5 - 2 / 3) and math.isnan(diff.low) and math.isnan(diff.high)
    assert not excludes_zero(diff)


@pytest.mark.parametrize("seeds, p_a, p_b, icc, per_seed", [
    (5, 0.6, 0.8, 0.3, 6), (5, 0.3, 0.6, 0.2, 1), (10, 0.5, 0.5, 0.1, 3), (20, 0.85, 0.95, 0.3, 6)])
def test_a_95_percent_interval_covers_the_true_difference_at_least_about_95_percent_of_the_time(
        seeds, p_a, p_b, icc, per_seed):
    """Simulated under the clustered interval's own model (beta-binomial seeds): 4000 pairs of sweeps each.
    Each side's interval holds its level near 0 and 1 by being conservative in the middle (harness/analysis/
    intervals.py), so b-a's is too: measured 97.3 % to 99.98 % over these cases, mean width 1.08 at 5 seeds,
    0.73 at 10 and 0.34 at 20. What is pinned is the level, and that the interval says something (never near the
    trivial [-1, 1])."""
    rng = np.random.default_rng(7)
    a = beta_binomial_sweeps(rng, 4000, seeds, per_seed, p_a, icc)
    b = beta_binomial_sweeps(rng, 4000, seeds, per_seed, p_b, icc)
    _, low, high = difference_interval_arrays(*a, *b)
    coverage = np.mean((low <= p_b - p_a) & (p_b - p_a <= high))
    assert coverage >= 0.93, coverage
    assert np.nanmean(high - low) < 1.2
