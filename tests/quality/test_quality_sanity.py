"""Cascading randomisation: weight-dependent methods are seen to change, image-only maps fail."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import keras
import numpy as np
import pytest
from scipy.ndimage import sobel

from reportgen.attributions import REGISTRY, AttributionSettings, Explainer, make_explainer
from reportgen.loading.model import Classifier
from reportgen.quality.sanity import (
    Cascade,
    check_randomisation,
    checkpoints,
    compare_maps,
    sanity_subset,
    weight_blocks,
)


class EdgeExplainer(Explainer):
    """A 'method' that ignores the model: the image's edge strength (Sobel)."""

    name: ClassVar[str] = "edges"
    title: ClassVar[str] = "Edges"
    gradient_based: ClassVar[bool] = True

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        pixels = np.asarray(images, np.float32)
        edges = [np.hypot(sobel(image, axis=0), sobel(image, axis=1)) for image in pixels]
        return np.stack(edges).astype(np.float32)


@pytest.fixture
def with_edges(monkeypatch) -> None:
    monkeypatch.setitem(REGISTRY, "edges", EdgeExplainer)


def explain_all(classifier: Classifier, methods: list[str], images: np.ndarray,
                targets: np.ndarray) -> dict[str, np.ndarray]:
    return {m: make_explainer(m, classifier, seed=0).explain(images, targets) for m in methods}


def test_sanity_passes_weight_dependent_methods_and_fails_an_image_only_map(
    with_edges, conv_classifier, images
) -> None:
    targets = conv_classifier.predict(images).argmax(axis=1)
    methods = ["saliency", "gradcam", "edges"]
    maps = explain_all(conv_classifier, methods, images, targets)
    positions = {m: np.arange(4) for m in methods}
    result = check_randomisation(conv_classifier, images, targets, maps, positions,
                                 AttributionSettings(seed=0))
    assert result.run and len(result.stages) == 3
    assert result.passed("saliency") is True
    assert result.passed("gradcam") is True
    assert result.passed("edges") is False
    rho, ssim = result.final("edges")
    assert rho > 0.99 and ssim > 0.99
    assert result.maps is not None and result.maps["saliency"].shape == (3, 4, 48, 48)


def test_the_original_model_is_left_untouched(conv_classifier, images) -> None:
    before = [w.copy() for w in conv_classifier.model.keras_model.get_weights()]
    probs = conv_classifier.predict(images)
    cascade = Cascade(conv_classifier, seed=0)
    cascade.randomise_top(len(cascade.blocks))
    assert not np.allclose(cascade.classifier.predict(images), probs, atol=1e-3)
    cascade.randomise_top(0)
    np.testing.assert_allclose(cascade.classifier.predict(images), probs, atol=1e-5)
    for old, new in zip(before, conv_classifier.model.keras_model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_blocks_group_batch_norm_with_its_convolution() -> None:
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Normalization(mean=120.0, variance=3600.0, name="norm")(inputs)  # fixed
    x = keras.layers.Conv2D(4, 3, name="c1")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(4, 3, name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(7, name="out")(x)
    blocks = weight_blocks(keras.Model(inputs, outputs))
    assert [[layer.name for layer in block] for block in blocks] == [["c1", "bn1"], ["c2"], ["out"]]
    assert checkpoints(3) == [1, 2, 3]
    assert checkpoints(7) == [1, 4, 7]
    assert checkpoints(1) == [1]
    assert checkpoints(0) == []


def test_a_model_without_keras_layers_is_not_run(conv_classifier, images) -> None:
    bare = Classifier(replace(conv_classifier.model, keras_model=None), (48, 48),
                      conv_classifier.scale)
    maps = {"saliency": np.zeros((len(images), 48, 48), np.float32)}
    result = check_randomisation(bare, images, np.zeros(len(images), int), maps,
                                 {"saliency": np.arange(2)})
    assert not result.run and "SavedModel" in result.reason
    assert result.passed("saliency") is None


def test_compare_maps_known_values() -> None:
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 48, 48))
    rho, ssim = compare_maps(maps, -2 * maps)  # same |map| up to scale
    np.testing.assert_allclose(rho, 1.0)
    np.testing.assert_allclose(ssim, 1.0)
    rho, _ = compare_maps(maps, rng.normal(size=(3, 48, 48)))
    assert np.all(np.abs(rho) < 0.1)


def test_sampled_methods_get_a_subset_of_the_cheap_methods_cases() -> None:
    subsets = sanity_subset(20, ["lime", "saliency"], {"lime"}, n_gradient=6, n_sampled=2, seed=0)
    assert len(subsets["saliency"]) == 6 and len(subsets["lime"]) == 2
    assert set(subsets["lime"]) <= set(subsets["saliency"])
