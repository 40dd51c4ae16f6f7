"""The vectorised bootstrap agrees with the plain index-based one in reportgen.stats."""

from __future__ import annotations

import numpy as np

from reportgen.bias.resample import bootstrap_group_means, bootstrap_means, intervals
from reportgen.stats import bootstrap_indices, percentile_ci


def test_means_match_index_resampling() -> None:
    values = np.random.default_rng(1).normal(size=(57, 3))
    expected = values[bootstrap_indices(57, seed=4, n_boot=230)].mean(axis=1)
    np.testing.assert_allclose(bootstrap_means(values, seed=4, n_boot=230), expected)
    low, high = intervals(bootstrap_means(values, seed=4, n_boot=230))[1]
    np.testing.assert_allclose((low, high), percentile_ci(expected[:, 1]))


def test_group_means_match_per_group_average() -> None:
    rng = np.random.default_rng(2)
    values, groups = rng.normal(size=(40, 2)), rng.integers(0, 3, 40)
    samples = bootstrap_group_means(values, groups, 4, seed=0, n_boot=120)
    indices = bootstrap_indices(40, seed=0, n_boot=120)
    for b in (0, 77):
        drawn = indices[b]
        for g in range(3):
            chosen = drawn[groups[drawn] == g]
            np.testing.assert_allclose(samples[b, g], values[chosen].mean(axis=0))
    assert np.isnan(samples[:, 3]).all()  # an empty group is NaN, not an error
    assert np.isnan(intervals(samples)[3]).all()


def test_constant_values_have_a_zero_width_interval() -> None:
    ci = intervals(bootstrap_means(np.full((30, 1), 2.5), seed=0))
    np.testing.assert_allclose(ci, [[2.5, 2.5]])
