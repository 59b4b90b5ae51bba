"""harness.analysis.intervals: Wilson and Student's t against tables, and the clustered interval's coverage measured on
simulated sweeps (seeded, vectorised: thousands of sweeps in well under a second)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from harness.analysis.intervals import (FEW_SEEDS, beta_binomial_sweeps, clustered_interval, clustered_interval_arrays,
                                         t_quantile, wilson_interval)


@pytest.mark.parametrize("confidence, df, expected", [
    (0.95, 1, 12.706205), (0.95, 2, 4.302653), (0.95, 5, 2.570582), (0.95, 30, 2.042272), (0.99, 3, 5.840909),
    (0.90, 7, 1.894579), (0.95, 10_000, 1.960201),
])
def test_t_quantile_matches_tables(confidence, df, expected):
    assert t_quantile(confidence, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_rejects_nonsense():
    with pytest.raises(ValueError):
        t_quantile(0.95, 0)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_wilson_hand_computed():
    # 3 of 10 at 95 %: z = 1.959964, z^2 = 3.841459; centre = (0.3 + 0.192073) / 1.384146 = 0.355503,
    # half = 1.959964 / 1.384146 * sqrt(0.021 + 0.009604) = 0.247716.
    low, high = wilson_interval(3, 10)
    assert low == pytest.approx(0.107789, abs=1e-5)
    assert high == pytest.approx(0.603219, abs=1e-5)


def test_wilson_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.0 < high < 0.2
    low, high = wilson_interval(20, 20)
    assert 0.8 < low < 1.0 and high == 1.0
    narrow, wide = wilson_interval(5, 10, 0.80), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.0)


def test_wilson_coverage_on_simulated_binomials():
    rng = random.Random(20210707)
    p, n, runs = 0.3, 50, 2000
    covered = 0
    for _ in range(runs):
        successes = sum(rng.random() < p for _ in range(n))
        low, high = wilson_interval(successes, n)
        covered += low <= p <= high
    assert 0.93 <= covered / runs <= 0.97


def test_wilson_accepts_a_fractional_sample_size():
    low, high = wilson_interval(1.5, 3.0)
    assert 0 < low < 0.5 < high < 1


# The scenario the under-coverage of the old percentile bootstrap was measured in (74 % at 3 seeds).
TRUTH, ICC, PER_SEED, SWEEPS, NOMINAL = 0.6, 0.3, 6, 4000, 0.95
TOLERANCE = 0.025  # 4000 sweeps: a coverage's Monte Carlo standard error is about 0.0035


def coverage(clusters: int, per_seed: int = PER_SEED, truth: float = TRUTH, seed: int = 0) -> float:
    sums, counts = beta_binomial_sweeps(np.random.default_rng([seed, clusters]), SWEEPS, clusters, per_seed,
                                        truth, ICC)
    _, low, high = clustered_interval_arrays(sums, counts, NOMINAL)
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.mark.parametrize("clusters", [3, 5, 10, 20])
def test_clustered_interval_covers_as_claimed(clusters):
    """From FEW_SEEDS seeds on, within TOLERANCE of nominal; below, never under nominal - TOLERANCE (the interval
    is conservative there) and the cell is flagged."""
    measured = coverage(clusters)
    assert measured >= NOMINAL - TOLERANCE
    if clusters >= FEW_SEEDS:
        assert measured <= NOMINAL + TOLERANCE
    one_sweep = clustered_interval(np.repeat([1.0, 0.0], 3 * clusters), np.tile(np.arange(clusters), 6))
    assert one_sweep.few == (clusters < FEW_SEEDS)


def test_clustered_interval_covers_one_trial_per_seed():
    """The usual sweep: one trial per cell and seed. deff is 1 and n* = n, so this is Wilson's interval, whose
    coverage wobbles around nominal with n (Brown, Cai & DasGupta 2001)."""
    for clusters in (3, 5, 10, 20):
        assert coverage(clusters, per_seed=1) >= NOMINAL - 0.03


def test_clustered_interval_hand_computed():
    # Seeds 0, 1, 2 with 2 trials each: sums 2, 1, 0; p = 0.5, v = 3/2 * (1 + 0 + 1) / 36 = 1/12,
    # deff = (1/12) / (0.25 / 5) = 5/3, n* = 6 * 3/5 * (t_5 / t_2)^2.
    got = clustered_interval([1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 2, 2])
    effective = 3.6 * (2.570582 / 4.302653) ** 2
    assert (got.mean, got.n, got.clusters, got.few) == (0.5, 6, 3, True)
    assert (got.low, got.high) == pytest.approx(wilson_interval(0.5 * effective, effective), abs=1e-5)


def test_one_trial_per_seed_is_wilson_on_the_seeds():
    got = clustered_interval([1, 0, 1, 1, 0, 1, 1], range(7))
    assert (got.low, got.high) == pytest.approx(wilson_interval(5, 7), abs=1e-9)


def test_agreeing_seeds_still_give_a_wide_interval():
    """Every trial of 3 seeds passes: no between-seed variance is seen, yet 3 seeds do not prove much."""
    got = clustered_interval([1.0] * 18, np.repeat([0, 1, 2], 6))
    assert got.mean == 1.0 and got.high == 1.0 and got.low < 0.6
    assert got.few


def test_one_seed_gives_no_interval():
    got = clustered_interval([1.0, 0.0, 1.0], [4, 4, 4])
    assert got.mean == pytest.approx(2 / 3) and math.isnan(got.low) and math.isnan(got.high)
    assert got.clusters == 1 and got.few
    empty = clustered_interval([], [])
    assert empty.n == 0 and math.isnan(empty.mean) and math.isnan(empty.low)


def test_fractions_are_accepted_and_out_of_range_values_refused():
    got = clustered_interval([0.9, 0.8, 1.0, 0.7, 0.95, 0.85], [0, 0, 1, 1, 2, 2])
    assert got.low < got.mean < got.high
    with pytest.raises(ValueError):
        clustered_interval([1.5, 0.0], [0, 1])
    with pytest.raises(ValueError):
        clustered_interval([math.nan, 0.0], [0, 1])
