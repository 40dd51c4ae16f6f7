"""Rank correlations, top regions, agreement and seed stability on maps with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from reportgen.attributions import AttributionSettings, make_explainer
from reportgen.quality.agreement import agreement_matrix
from reportgen.quality.ranks import jaccard_rows, top_regions
from reportgen.quality.stability import measure_stability, seed_agreement
from reportgen.stats import spearman_rows


def test_spearman_rows_match_scipy_pair_by_pair() -> None:
    rng = np.random.default_rng(0)
    first = rng.normal(size=(4, 6, 6))
    second = first + rng.normal(size=(4, 6, 6))
    second[0] = np.round(second[0])  # ties
    expected = [spearmanr(a.ravel(), b.ravel()).statistic for a, b in zip(first, second)]
    np.testing.assert_allclose(spearman_rows(first, second), expected)


def test_a_constant_map_correlates_zero() -> None:
    maps = np.random.default_rng(0).normal(size=(2, 5, 5))
    assert np.all(spearman_rows(maps, np.zeros_like(maps)) == 0)


def test_top_regions_keep_ties_whole_and_jaccard() -> None:
    scores = np.zeros((1, 10, 10))
    scores[0, :2, :] = 5.0  # 20 tied pixels: the top 10% cut falls inside them
    region = top_regions(scores, 0.10)
    assert region.sum() == 20
    assert not top_regions(np.ones((1, 4, 4))).any()  # a constant map has no top region
    a = np.array([[1, 1, 0, 0]], bool)
    b = np.array([[0, 1, 1, 0]], bool)
    np.testing.assert_allclose(jaccard_rows(a, b), [1 / 3])
    np.testing.assert_allclose(jaccard_rows(~a & a, ~a & a), [1.0])


def test_agreement_matrix() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 8, 8))
    matrix = agreement_matrix({"a": base, "b": -base, "c": rng.normal(size=(5, 8, 8))})
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert matrix[0, 1] == pytest.approx(1.0)  # same |map|, opposite sign
    assert abs(matrix[0, 2]) < 0.2


def test_seed_agreement_of_identical_and_unrelated_runs() -> None:
    rng = np.random.default_rng(0)
    run = rng.normal(size=(3, 12, 12))
    assert seed_agreement([run, run.copy()]) == (1.0, 1.0)
    jaccard, rho = seed_agreement([run, rng.normal(size=(3, 12, 12))])
    assert jaccard < 0.2 and abs(rho) < 0.2


def test_lime_stability_is_measured_on_the_subset(quadrant_classifier, images) -> None:
    targets = quadrant_classifier.predict(images).argmax(axis=1)
    params = {"lime": {"num_samples": 200}}
    maps = {"lime": make_explainer("lime", quadrant_classifier, seed=0, **params["lime"])
            .explain(images, targets)}
    positions = np.array([1, 4])
    result = measure_stability(quadrant_classifier, images, targets, maps, ["lime"], positions,
                               AttributionSettings(seed=0, method_params=params), n_seeds=2)
    assert result.seeds == (0, 1)
    assert 0.0 <= result.jaccard["lime"] <= 1.0
    assert -1.0 <= result.spearman["lime"] <= 1.0
    again = measure_stability(quadrant_classifier, images, targets, maps, ["lime"], positions,
                              AttributionSettings(seed=0, method_params=params), n_seeds=2)
    assert again.jaccard == result.jaccard  # reproducible under the seed
