"""Tiny known-answer models and textured images for the explanation-quality tests.

- ``quadrant``: the prediction depends only on the top-left quadrant. The image is cropped to
  that quadrant and zero-padded back to 48x48 before a bias-free ReLU convolution, so every
  activation (and so every gradient, Grad-CAM map and LIME/SHAP effect) outside the
  quadrant is exactly zero: a faithful map must rank the quadrant first.
- ``conv``: two seeded random convolutions over the whole image, for the randomisation check.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from reportgen.loading.model import Classifier
from tests.conftest import make_classifier, quadrant_model

SIZE = 48
HALF = SIZE // 2
N_CLASSES = 7
GAIN = 0.3  # logit units per standard deviation of a pooled feature


def calibrated_quadrant_model(seed: int = 0) -> keras.Model:
    """The shared quadrant model with edge-detector kernels (blur removes their input) and
    logits standardised on reference images so they spread over about ±3."""
    model = quadrant_model(seed)
    inputs = model.inputs[0]
    features = model.get_layer("pooled").output
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(3, 3, 1, 8))
    kernel -= kernel.mean(axis=(0, 1), keepdims=True)  # edge detectors: blur removes their input
    model.get_layer("quadrant_conv").set_weights([kernel.astype(np.float32)])
    # Standardise the pooled features on reference images so the logits spread over ~±3.
    reference = textured_images(64, seed + 99)[..., None]
    pooled = keras.Model(inputs, features).predict(reference, verbose=0)
    mean, std = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    dense = rng.normal(size=(8, N_CLASSES)) / std[:, None] * GAIN
    bias = -mean @ dense
    model.get_layer("scores").set_weights([dense.astype(np.float32), bias.astype(np.float32)])
    return model


def conv_model(seed: int = 0) -> keras.Model:
    """Two random 3x3 convolutions over the whole image, global pooling, dense softmax."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax", name="logits")(x)
    return keras.Model(inputs, outputs)


def textured_images(n_images: int, seed: int = 0) -> np.ndarray:
    """(n, 48, 48) uint8: smooth-ish random texture around a random mid grey."""
    rng = np.random.default_rng(seed)
    texture = gaussian_filter(rng.normal(size=(n_images, SIZE, SIZE)), sigma=(0, 1.0, 1.0))
    texture /= texture.std(axis=(1, 2), keepdims=True)
    means = rng.uniform(100, 160, size=(n_images, 1, 1))
    return np.clip(means + 40 * texture, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def quadrant_classifier() -> Classifier:
    return make_classifier(calibrated_quadrant_model())


@pytest.fixture(scope="session")
def conv_classifier() -> Classifier:
    return make_classifier(conv_model())


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    return textured_images(10)
