"""Shared fixtures: tiny models with known behaviour and small FER2013-format data."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reportgen.loading.data import FER2013_CLASSES

REPO = Path(__file__).resolve().parent.parent
DEMO_CSV = REPO / "sample_models" / "fer2013_demo.csv.gz"


@pytest.fixture(autouse=True, scope="session")
def _reference_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Reference-model predictions are cached in a temporary folder, never in the home."""
    os.environ["REPORTGEN_CACHE"] = str(tmp_path_factory.mktemp("reportgen-cache"))


def brightness_model(n_classes: int = 7, softmax: bool = True, rescaling: bool = True):
    """A model whose logits are linear in the mean brightness: dark → class 0, bright → class K-1.

    Input 48×48×1, raw 0–255 pixels (a Rescaling layer divides by 255).
    """
    import keras

    layers = [keras.Input((48, 48, 1))]
    if rescaling:
        layers.append(keras.layers.Rescaling(1 / 255))
    # A 1×1 identity convolution gives Grad-CAM a layer to hook without changing the answer.
    layers += [keras.layers.Conv2D(1, 1, kernel_initializer="ones", bias_initializer="zeros", name="conv"),
               keras.layers.GlobalAveragePooling2D(),
               keras.layers.Dense(n_classes, activation="softmax" if softmax else None)]
    model = keras.Sequential(layers)
    centres = np.linspace(0.1, 0.9, n_classes)
    # logit_k = -20 (b - c_k)^2 expanded: 40 c_k b - 20 c_k^2 (the b^2 term is shared)
    model.layers[-1].set_weights([(40 * centres)[None, :].astype("float32"),
                                  (-20 * centres**2).astype("float32")])
    return model


def make_classifier(model, image_size: tuple[int, int] = (48, 48), scale=None):
    """Wrap an in-memory Keras model as the pipeline does (raw 0–255 pixels by default)."""
    from reportgen.loading.model import Classifier, InputScale, describe_keras_model

    return Classifier(describe_keras_model(model), image_size, scale or InputScale.RAW)


def write_csv(path: Path, images: np.ndarray, labels: np.ndarray, usages: list[str] | None = None) -> Path:
    """Write images (N, 48, 48) uint8 as a Kaggle-format fer2013.csv (gzipped if path ends .gz)."""
    usages = usages or ["PublicTest"] * len(labels)
    lines = ["emotion,pixels,Usage"]
    lines += [f"{label},{' '.join(map(str, image.ravel()))},{usage}"
              for image, label, usage in zip(images, labels, usages)]
    text = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)
    return path


def write_folders(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / FER2013_CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"img_{i:04d}.png")
    return root


@pytest.fixture(scope="session")
def demo_data():
    """The bundled demo sample: (images (350, 48, 48) uint8, labels (350,))."""
    from reportgen.loading.data import load_dataset

    dataset = load_dataset(DEMO_CSV)
    return dataset.images, dataset.labels


@pytest.fixture(scope="session")
def small_data(demo_data):
    """8 images per class from the demo sample."""
    images, labels = demo_data
    keep = np.concatenate([np.flatnonzero(labels == k)[:8] for k in range(7)])
    return images[keep], labels[keep]


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory, small_data) -> Path:
    return write_csv(tmp_path_factory.mktemp("csv") / "fer2013.csv", *small_data)


@pytest.fixture(scope="session")
def two_input_model_path(tmp_path_factory) -> Path:
    """A model with two image inputs, which reportgen must refuse on load."""
    import keras

    first, second = keras.Input((48, 48, 1)), keras.Input((48, 48, 1))
    merged = keras.layers.Add()([keras.layers.Flatten()(first), keras.layers.Flatten()(second)])
    path = tmp_path_factory.mktemp("models") / "two_inputs.keras"
    keras.Model([first, second], keras.layers.Dense(7, activation="softmax")(merged)).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "brightness.keras"
    brightness_model().save(path)
    return path


QUADRANT = 24  # the quadrant models see only pixels [0:24, 0:24] of a 48x48 image


def quadrant_model(seed: int = 0):  # -> keras.Model
    """A 48x48 grey model whose output depends only on the top-left 24x24 quadrant.

    The image is cropped to the quadrant and zero-padded back before a bias-free ReLU
    convolution (``quadrant_conv``), so every activation, gradient, Grad-CAM map and LIME/SHAP
    effect outside the quadrant is exactly zero. Weights are seeded; callers set the
    ``quadrant_conv`` and ``scores`` weights when they need a particular response.
    """
    import keras

    keras.utils.set_random_seed(seed)
    size = 2 * QUADRANT
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Cropping2D(((0, QUADRANT), (0, QUADRANT)))(x)
    x = keras.layers.ZeroPadding2D(((0, QUADRANT), (0, QUADRANT)))(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", use_bias=False,
                            name="quadrant_conv")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pooled")(x)
    outputs = keras.layers.Dense(7, activation="softmax", name="scores")(features)
    return keras.Model(inputs, outputs)

