"""Tiny known-answer models and synthetic faces for the bias tests.

The models are linear in the pixels (Rescaling → Flatten → Dense, weights set by hand):

- ``clean``: each class scores a fixed zero-sum pixel pattern with no bias. Scaling every
  pixel by a factor scales all logits alike, and shifting all pixels by a constant changes
  no logit, so brightness and contrast probes cannot change its predictions.
- ``planted``: the same patterns, plus a 'sad' logit that grows as the mean brightness falls
  below ``DARK_THRESHOLD``: a hand-built dark → 'sad' shortcut.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.ndimage import gaussian_filter

from reportgen.loading.model import Classifier, InputScale, describe_keras_model

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SAD = 4
SIZE = 48
N_IMAGES = 500
DARK_THRESHOLD = 0.38  # mean brightness (0–1) below which the planted model leans 'sad'
DARK_GAIN = 400.0  # logit units per unit of mean brightness


def _patterns(seed: int = 1) -> np.ndarray:
    """(K, h*w) zero-sum smooth patterns, one per class."""
    rng = np.random.default_rng(seed)
    raw = gaussian_filter(rng.normal(size=(7, SIZE, SIZE)), sigma=(0, 4, 4))
    flat = raw.reshape(7, -1)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.abs(flat).sum(axis=1, keepdims=True) * 40.0


def _linear_model(weights: np.ndarray, bias: np.ndarray) -> keras.Model:
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(7, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([weights.T.astype(np.float32), bias.astype(np.float32)])
    return model


def make_classifier(model: keras.Model) -> Classifier:
    return Classifier(describe_keras_model(model), (SIZE, SIZE), InputScale.RAW)


def gradient_attribute(classifier: Classifier):
    """gradient × input of the target's probability, compiled (eager conv gradients crash)."""

    @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def attribute(pixels: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            chosen = tf.gather(classifier.probabilities_tf(pixels), targets, batch_dims=1)
        return tape.gradient(chosen, pixels) * pixels

    return lambda images, targets: attribute(
        tf.constant(images, tf.float32), tf.constant(targets, tf.int32)).numpy()


def clean_model(patterns: np.ndarray) -> Classifier:
    return make_classifier(_linear_model(patterns, np.zeros(7)))


def planted_model(patterns: np.ndarray) -> Classifier:
    weights = patterns.copy()
    weights[SAD] -= DARK_GAIN / weights.shape[1]  # logit falls with mean brightness
    bias = np.zeros(7)
    bias[SAD] = DARK_GAIN * DARK_THRESHOLD
    return make_classifier(_linear_model(weights, bias))


def make_faces(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, 48) uint8 smooth random images of varied brightness, labels = clean argmax
    for 80% of images and random otherwise (so the model makes some errors)."""
    rng = np.random.default_rng(0)
    noise = gaussian_filter(rng.normal(size=(N_IMAGES, SIZE, SIZE)), sigma=(0, 3, 3))
    noise /= noise.std(axis=(1, 2), keepdims=True)
    means = rng.uniform(90, 170, size=(N_IMAGES, 1, 1))
    images = np.clip(means + 35 * noise, 0, 255).astype(np.uint8)
    scores = images.reshape(N_IMAGES, -1) / 255.0 @ patterns.T
    labels = scores.argmax(axis=1)
    noisy = rng.random(N_IMAGES) < 0.2
    labels[noisy] = rng.integers(0, 7, size=noisy.sum())
    return images, labels


@pytest.fixture(scope="session")
def patterns() -> np.ndarray:
    return _patterns()


@pytest.fixture(scope="session")
def clean_classifier(patterns: np.ndarray) -> Classifier:
    return clean_model(patterns)


@pytest.fixture(scope="session")
def planted_classifier(patterns: np.ndarray) -> Classifier:
    return planted_model(patterns)


@pytest.fixture(scope="session")
def faces(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return make_faces(patterns)


@pytest.fixture(scope="session")
def attribute_for():
    """Factory: classifier → compiled gradient × input attribution callable."""
    return gradient_attribute


@pytest.fixture(scope="session")
def planted_result(planted_classifier: Classifier, faces: tuple[np.ndarray, np.ndarray]):
    from reportgen.bias import analyse_bias

    images, labels = faces
    probs = planted_classifier.predict(images)
    return analyse_bias(planted_classifier, images, labels, probs, CLASS_NAMES, seed=0,
                        attribute=gradient_attribute(planted_classifier))


@pytest.fixture(scope="session")
def clean_result(clean_classifier: Classifier, faces: tuple[np.ndarray, np.ndarray]):
    from reportgen.bias import analyse_bias

    images, labels = faces
    probs = clean_classifier.predict(images)
    return analyse_bias(clean_classifier, images, labels, probs, CLASS_NAMES, seed=0)
