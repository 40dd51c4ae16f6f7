"""Tiny models with known answers for the attribution tests.

- ``tiny_classifier``: a small seeded CNN (two convolutions, one nested in a sub-model) on
  48x48 grey images; nothing is known about its answers, it exercises the contract.
- ``linear``: scores = W x (a bias-free dense layer, no softmax), so d score_k / d x = W_k
  exactly, for any x: every gradient method's answer is known in closed form. Returns the
  classifier and W as (7, 48, 48) maps.
- ``quadrant_classifier``: the top-left 24x24 quadrant is cropped and zero-padded back to
  48x48 before a bias-free convolution, so the output depends on that quadrant only and
  the convolution's activations are zero elsewhere. Every method must put its mass there.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from reportgen.loading.model import Classifier
from tests.conftest import make_classifier, quadrant_model

SIZE = 48
HALF = SIZE // 2


def tiny_cnn(input_shape: tuple[int, int, int] = (SIZE, SIZE, 1), seed: int = 0) -> keras.Model:
    """Rescaling → Conv → Pool → [nested: Conv → GAP] → Dense(7, softmax), seeded weights."""
    keras.utils.set_random_seed(seed)
    inner = keras.Sequential([
        keras.Input((input_shape[0] // 4, input_shape[1] // 4, 6)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="inner_conv"),
        keras.layers.GlobalAveragePooling2D(),
    ], name="head")
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="outer_conv")(x)
    x = keras.layers.MaxPooling2D(4)(x)
    x = inner(x)
    outputs = keras.layers.Dense(7, activation="softmax", name="scores")(x)
    model = keras.Model(inputs, outputs)
    dense = model.get_layer("scores")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 8.0, bias])  # sharpen the outputs so maps are not all tiny
    return model


def quadrant_cnn(seed: int = 0) -> keras.Model:
    """The shared quadrant model with sharpened outputs (so the maps are not all tiny)."""
    model = quadrant_model(seed)
    dense = model.get_layer("scores")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 40.0, bias])
    return model


def block_images(n_images: int, seed: int = 0, block: int = 8) -> np.ndarray:
    """(N, 48, 48) uint8 images of random grey ``block`` x ``block`` tiles.

    Tile edges fall on the quadrant border, so superpixels do not straddle it.
    """
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (n_images, SIZE // block, SIZE // block))
    return np.kron(tiles, np.ones((block, block))).astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_classifier() -> Classifier:
    return make_classifier(tiny_cnn())


@pytest.fixture(scope="session")
def quadrant_classifier() -> Classifier:
    return make_classifier(quadrant_cnn())


@pytest.fixture(scope="session")
def face_like_images() -> np.ndarray:
    """(6, 48, 48) uint8 smooth random images (blurred noise), reproducible."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(3)
    noise = gaussian_filter(rng.normal(size=(6, SIZE, SIZE)), sigma=(0, 2, 2))
    scaled = (noise - noise.min()) / (noise.max() - noise.min()) * 255
    return scaled.astype(np.uint8)


@pytest.fixture(scope="module")
def linear() -> tuple[Classifier, np.ndarray]:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, use_bias=False)])
    weights = model.layers[-1].get_weights()[0]  # (2304, 7)
    return make_classifier(model), weights.T.reshape(7, SIZE, SIZE)
