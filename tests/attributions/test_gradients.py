"""Gradient methods on a linear model, where every answer is known in closed form."""

from __future__ import annotations

import numpy as np

from reportgen.attributions.gradients import (
    IntegratedGradientsExplainer,
    SaliencyExplainer,
    image_groups,
)
from reportgen.attributions.smoothgrad import SmoothGradExplainer


def test_saliency_is_the_weight_map(linear, face_like_images):
    classifier, weights = linear
    maps = SaliencyExplainer(classifier).explain(face_like_images[:2], np.array([0, 5]))
    np.testing.assert_allclose(maps, weights[[0, 5]], rtol=1e-5, atol=1e-7)


def test_smoothgrad_of_a_linear_model_is_the_weight_map(linear, face_like_images):
    classifier, weights = linear
    maps = SmoothGradExplainer(classifier, n_samples=5).explain(face_like_images[:2],
                                                                np.array([1, 1]))
    np.testing.assert_allclose(maps, weights[[1, 1]], rtol=1e-5, atol=1e-7)


def test_ig_of_a_linear_model_is_input_times_weight(linear, face_like_images):
    classifier, weights = linear
    images = face_like_images[:2].astype(np.float32)
    maps = IntegratedGradientsExplainer(classifier, steps=4, baseline=10.0).explain(
        images, np.array([2, 6]))
    np.testing.assert_allclose(maps, (images - 10.0) * weights[[2, 6]], rtol=1e-4, atol=1e-5)


def test_ig_completeness_gap_is_small_on_a_cnn(tiny_classifier, face_like_images):
    ig = IntegratedGradientsExplainer(tiny_classifier)
    targets = np.array([0, 3, 6])
    maps = ig.explain(face_like_images[:3], targets)
    gaps = ig.diagnostics(face_like_images[:3], targets, maps)
    assert gaps["completeness_gap_relative_median"] < 0.05
    assert gaps["completeness_gap_max"] >= gaps["completeness_gap_median"] >= 0


def test_smoothgrad_parameters_are_stated(tiny_classifier):
    method = SmoothGradExplainer(tiny_classifier)
    assert method.params == {"n_samples": 400, "noise": 0.1, "target": 0.85,
                             "mean_target": 0.95, "min_samples": 50, "round_samples": 50}
    fixed = SmoothGradExplainer(tiny_classifier, exhaustive=True)
    assert fixed.params == {"n_samples": 300, "noise": 0.1}
    assert fixed.describe() == "SmoothGrad (n_samples=300, noise=0.1)"
    assert method.describe().endswith("min_samples=50, round_samples=50)")
    assert IntegratedGradientsExplainer(tiny_classifier).params["steps"] == 50


def test_image_groups_cover_every_image_once():
    groups = list(image_groups(23, per_image=50, batch_size=512))
    assert [g.start for g in groups] == [0, 10, 20] and groups[-1].stop == 23
    assert len(list(image_groups(3, per_image=1000, batch_size=512))) == 3
