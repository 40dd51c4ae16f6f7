"""The contract every registered method must meet, and the quadrant known-answer test.

SHAP runs only in the slow suite: shap's numba kernels compile on first use, which takes
15-60 s on the shared CPU, before any explaining happens.
"""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions import REGISTRY, make_explainer
from tests.attributions.conftest import HALF, block_images, make_classifier, tiny_cnn

# Smaller sample counts than the defaults keep the suite fast; the code paths are the same.
FAST = {"lime": {"num_samples": 300}, "shap": {"max_evals": 200},
        "smoothgrad": {"n_samples": 12}, "ig": {"steps": 16}}
METHODS = [pytest.param(name, marks=pytest.mark.slow) if name == "shap" else name
           for name in REGISTRY]


def explainer(name, classifier, seed=0):
    return make_explainer(name, classifier, seed=seed, **FAST.get(name, {}))


@pytest.mark.parametrize("name", METHODS)
def test_contract(name, tiny_classifier, face_like_images):
    images = face_like_images[:3]
    targets = np.array([0, 3, 6])
    maps = explainer(name, tiny_classifier).explain(images, targets)

    assert maps.shape == images.shape
    assert maps.dtype == np.float32
    assert np.isfinite(maps).all()
    assert np.abs(maps).max() > 0

    again = explainer(name, tiny_classifier).explain(images, targets)
    np.testing.assert_array_equal(maps, again)

    one_by_one = np.concatenate([
        explainer(name, tiny_classifier).explain(images[i : i + 1], targets[i : i + 1])
        for i in range(len(images))
    ])
    np.testing.assert_allclose(one_by_one, maps, rtol=1e-4, atol=1e-5 * np.abs(maps).max())


@pytest.mark.parametrize("name", METHODS)
def test_maps_do_not_depend_on_the_batch_size(name, tiny_classifier, face_like_images):
    """The batch size changes how many inputs go to the model per call, never the maps
    (SHAP included: its search keeps shap's own per-step batch whatever ``batch_size``)."""
    images = face_like_images[:3]
    targets = np.array([2, 5, 1])
    small = make_explainer(name, tiny_classifier, batch_size=7, **FAST.get(name, {}))
    large = make_explainer(name, tiny_classifier, batch_size=512, **FAST.get(name, {}))
    maps = large.explain(images, targets)
    np.testing.assert_allclose(small.explain(images, targets), maps, rtol=1e-4,
                               atol=1e-5 * np.abs(maps).max())


@pytest.mark.parametrize("name", METHODS)
def test_explain_classes_matches_explain(name, tiny_classifier, face_like_images):
    images = face_like_images[:2]
    classes = np.array([1, 4])
    method = explainer(name, tiny_classifier)
    grid = method.explain_classes(images, classes)
    assert grid.shape == (2, 2, *images.shape[1:])
    for column, k in enumerate(classes):
        direct = method.explain(images, np.full(len(images), k))
        np.testing.assert_allclose(grid[:, column], direct, rtol=1e-4,
                                   atol=1e-5 * np.abs(direct).max())


@pytest.mark.parametrize("name", METHODS)
def test_empty_batch(name, tiny_classifier):
    maps = explainer(name, tiny_classifier).explain(np.zeros((0, 48, 48)), np.zeros(0, int))
    assert maps.shape == (0, 48, 48)


@pytest.mark.parametrize("name", METHODS)
def test_rgb_model_with_other_input_size(name):
    """Pixel-space maps for a 3-channel model whose input (40x40) differs from the images."""
    classifier = make_classifier(tiny_cnn(input_shape=(40, 40, 3)), image_size=(48, 48))
    images = block_images(2, seed=5)
    maps = explainer(name, classifier).explain(images, np.array([2, 5]))
    assert maps.shape == (2, 48, 48)
    assert np.isfinite(maps).all() and np.abs(maps).max() > 0


# Share of |attribution| inside the quadrant the model reads (chance: 25%). Grad-CAM's
# activations leak one pixel across the border (the 3x3 convolution) and are bilinearly
# upsampled, so it gets a lower bar.
QUADRANT_SHARE = {"gradcam": 0.85, "lime": 0.9}


@pytest.mark.parametrize("name", METHODS)
def test_mass_in_the_quadrant_the_model_reads(name, quadrant_classifier):
    images = block_images(3, seed=1)
    targets = quadrant_classifier.predict(images).argmax(axis=1)
    maps = np.abs(explainer(name, quadrant_classifier).explain(images, targets))
    inside = maps[:, :HALF, :HALF].sum(axis=(1, 2))
    share = inside / maps.sum(axis=(1, 2))
    assert (share >= QUADRANT_SHARE.get(name, 0.95)).all(), share


@pytest.mark.parametrize("name", METHODS)
def test_explain_mean_is_the_mean_of_the_maps_when_exhaustive(name, tiny_classifier,
                                                              face_like_images):
    """The mean map of a group: |map| averaged for magnitude displays, else the signed map
    (an adaptive method at its full sample count, where it may stop no earlier)."""
    images, targets = face_like_images[:3], np.array([4, 4, 4])
    extra = {"exhaustive": True} if REGISTRY[name].adaptive else {}
    method = make_explainer(name, tiny_classifier, **FAST.get(name, {}), **extra)
    maps = method.explain(images, targets)
    expected = (np.abs(maps) if method.display == "magnitude" else maps).mean(axis=0)
    np.testing.assert_allclose(method.explain_mean(images, targets), expected, rtol=1e-4,
                               atol=1e-5 * np.abs(expected).max())
