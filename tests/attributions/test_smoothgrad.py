"""Adaptive SmoothGrad: known answers for its stopping rule, its cap and its exhaustive mode."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions import AttributionSettings
from reportgen.attributions.smoothgrad import SmoothGradExplainer, spearman_brown

SMALL = {"n_samples": 40, "min_samples": 10, "round_samples": 10}


def test_a_linear_model_stops_at_the_floor_with_the_exact_map(linear, face_like_images):
    classifier, weights = linear
    method = SmoothGradExplainer(classifier, **SMALL)
    maps = method.explain(face_like_images[:3], np.array([0, 4, 6]))
    np.testing.assert_allclose(maps, weights[[0, 4, 6]], rtol=1e-5, atol=1e-7)
    assert method.samples_used == [10, 10, 10]
    assert method.diagnostics(face_like_images[:3], np.array([0, 4, 6]), maps)[
        "stability_mean"] == pytest.approx(1.0)


def test_the_cap_is_never_passed(tiny_classifier, face_like_images):
    """A target no map can reach stops every image at the cap, in whole rounds."""
    method = SmoothGradExplainer(tiny_classifier, target=1.01, **SMALL)
    method.explain(face_like_images[:3], np.array([1, 2, 3]))
    assert method.samples_used == [40, 40, 40]
    loose = SmoothGradExplainer(tiny_classifier, target=-1.0, **SMALL)
    loose.explain(face_like_images[:3], np.array([1, 2, 3]))
    assert loose.samples_used == [10, 10, 10]


def test_same_seed_same_maps_and_counts(tiny_classifier, face_like_images):
    images, targets = face_like_images[:4], np.array([0, 1, 5, 6])
    first = SmoothGradExplainer(tiny_classifier, seed=3, target=0.3, **SMALL)
    second = SmoothGradExplainer(tiny_classifier, seed=3, target=0.3, **SMALL)
    np.testing.assert_array_equal(first.explain(images, targets), second.explain(images, targets))
    assert first.samples_used == second.samples_used
    assert first.agreements == second.agreements


def test_a_stopped_image_is_the_fixed_method_at_that_n(tiny_classifier, face_like_images):
    """The noise rows are used in order, so an image that stopped at n has the map of the
    fixed-n method with n samples and the same seed."""
    images, targets = face_like_images[:4], np.array([2, 3, 4, 0])
    method = SmoothGradExplainer(tiny_classifier, seed=1, target=0.3, **SMALL)
    maps = method.explain(images, targets)
    for i, used in enumerate(method.samples_used):
        fixed = SmoothGradExplainer(tiny_classifier, seed=1, n_samples=used, exhaustive=True)
        expected = fixed.explain(images[i : i + 1], targets[i : i + 1])[0]
        np.testing.assert_allclose(maps[i], expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_exhaustive_uses_the_cap_everywhere(linear, face_like_images):
    classifier, weights = linear
    method = SmoothGradExplainer(classifier, exhaustive=True, **SMALL)
    maps = method.explain(face_like_images[:2], np.array([3, 3]))
    assert method.samples_used == [40, 40]
    np.testing.assert_allclose(maps, weights[[3, 3]], rtol=1e-5, atol=1e-7)


def test_settings_pass_exhaustive_to_adaptive_methods_only(tiny_classifier):
    settings = AttributionSettings(exhaustive=True)
    assert settings.params("smoothgrad") == {"exhaustive": True}
    assert settings.params("ig") == {}
    assert settings.build("smoothgrad", tiny_classifier).exhaustive


def test_spearman_brown_known_values():
    np.testing.assert_allclose(spearman_brown(np.array([0.0, 0.5, 1.0])), [0.0, 2 / 3, 1.0])


def test_a_mean_map_of_a_linear_model_stops_at_the_floor(linear, face_like_images):
    classifier, weights = linear
    method = SmoothGradExplainer(classifier, **SMALL)
    mean = method.explain_mean(face_like_images[:3], np.array([5, 5, 5]))
    np.testing.assert_allclose(mean, np.abs(weights[5]), rtol=1e-5, atol=1e-7)


def test_an_exhaustive_mean_map_is_the_mean_of_the_maps(tiny_classifier, face_like_images):
    images, targets = face_like_images[:3], np.array([1, 1, 1])
    method = SmoothGradExplainer(tiny_classifier, exhaustive=True, **SMALL)
    expected = np.abs(method.explain(images, targets)).mean(axis=0)
    np.testing.assert_allclose(method.explain_mean(images, targets), expected, rtol=1e-5,
                               atol=1e-6 * expected.max())
    assert method.explain_mean(images[:0], targets[:0]).shape == (48, 48)


def test_a_mean_map_stops_together_and_never_past_the_cap(tiny_classifier, face_like_images):
    """Loose: the floor for all; unreachable: the cap for all (each the fixed method's mean)."""
    images, targets = face_like_images[:3], np.array([0, 0, 0])
    for target, n in ((-1.0, 10), (1.01, 40)):
        method = SmoothGradExplainer(tiny_classifier, mean_target=target, **SMALL)
        fixed = SmoothGradExplainer(tiny_classifier, n_samples=n, exhaustive=True)
        expected = np.abs(fixed.explain(images, targets)).mean(axis=0)
        np.testing.assert_allclose(method.explain_mean(images, targets), expected, rtol=1e-4,
                                   atol=1e-5 * expected.max())
