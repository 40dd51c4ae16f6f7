"""Model loading (formats, safety, shapes) and the classifier's input adaptation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from reportgen.errors import InputError
from reportgen.loading.model import (
    Classifier,
    InputScale,
    describe_keras_model,
    load_model,
    looks_like_probabilities,
)
from reportgen.loading.scaling import resolve_scale
from tests.conftest import brightness_model, make_classifier


def grey_levels(n_per_class: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Flat images whose brightness encodes the class (the brightness model's known answer)."""
    centres = np.linspace(0.1, 0.9, 7) * 255
    labels = np.repeat(np.arange(7), n_per_class)
    images = np.broadcast_to(centres[labels][:, None, None], (len(labels), 48, 48)).astype(np.uint8)
    return images, labels


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_formats_load_and_predict(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    brightness_model().save(path)
    loaded = load_model(path)
    assert loaded.input_shape == (48, 48, 1) and loaded.n_outputs == 7 and loaded.has_rescaling
    images, labels = grey_levels()
    probs = Classifier(loaded, (48, 48), InputScale.RAW).predict(images, batch_size=16)
    assert probs.shape == (140, 7)
    np.testing.assert_array_equal(probs.argmax(1), labels)


def test_saved_model_directory(tmp_path):
    brightness_model().export(tmp_path / "saved", verbose=False)
    # Loading a SavedModel runs its graph: refused without trust, saying why and what to do.
    with pytest.raises(InputError, match=r"runs its own graph code.*--trust-model.*\.keras"):
        load_model(tmp_path / "saved")
    loaded = load_model(tmp_path / "saved", trust=True)
    assert loaded.keras_model is None and loaded.input_shape == (48, 48, 1)
    images, labels = grey_levels(3)
    probs = Classifier(loaded, (48, 48), InputScale.RAW).predict(images)
    np.testing.assert_array_equal(probs.argmax(1), labels)


def test_rgb_and_larger_inputs_are_adapted(tmp_path):
    model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(1, 1), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(7)])
    path = tmp_path / "rgb.keras"
    model.save(path)
    loaded = load_model(path)
    classifier = Classifier(loaded, (48, 48), InputScale.RAW)
    images = np.full((2, 48, 48), 100, np.float32)
    x = classifier.to_model_input(images)
    assert tuple(x.shape) == (2, 64, 64, 3)
    np.testing.assert_allclose(x.numpy(), 100.0, atol=1e-3)  # bilinear resize of a flat image
    assert classifier.predict(images).shape == (2, 7)


def test_scales_map_to_the_documented_ranges():
    inputs = keras.Input((1, 2, 1))
    loaded = describe_keras_model(keras.Model(inputs, keras.layers.Identity()(inputs)))
    pixels = np.array([[[0.0, 255.0]]], np.float32)
    for scale, expected in [(InputScale.RAW, [0, 255]), (InputScale.UNIT, [0, 1]),
                            (InputScale.SYMMETRIC, [-1, 1])]:
        x = np.asarray(Classifier(loaded, (1, 2), scale).to_model_input(tf.constant(pixels))).ravel()
        np.testing.assert_allclose(x, expected, atol=1e-6)


def test_auto_scale_picks_the_best_candidate(tmp_path):
    # No Rescaling layer: the model expects 0–1, so 'auto' must score the candidates and pick 0-1.
    path = tmp_path / "unit.keras"
    brightness_model(rescaling=False).save(path)
    loaded = load_model(path)
    images, labels = grey_levels()
    decision = resolve_scale(loaded, InputScale.AUTO, images, labels, seed=0, batch_size=64)
    assert decision.scale is InputScale.UNIT
    assert decision.accuracies["0-1"] == 1.0 > decision.accuracies["0-255"]
    with_layer = load_model(_saved(tmp_path, brightness_model()))
    assert resolve_scale(with_layer, InputScale.AUTO, images, labels, 0, 64).scale is InputScale.RAW


def _saved(tmp_path, model):
    path = tmp_path / "with_layer.keras"
    model.save(path)
    return path


def test_probability_detection():
    assert looks_like_probabilities(np.array([[0.2, 0.8], [1.0, 0.0]]))
    assert not looks_like_probabilities(np.array([[2.0, -1.0]]))


def test_corrupt_and_unsupported_files(tmp_path):
    for name, content in [("m.keras", b"garbage"), ("m.h5", b"garbage"), ("m.onnx", b"x")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=name):
            load_model(tmp_path / name)
    with pytest.raises(InputError, match="model not found"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="not a TF SavedModel"):
        load_model(tmp_path / "dir")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_models_with_code_need_trust(tmp_path, suffix):
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Lambda(lambda x: x / 255.0),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7)])
    path = tmp_path / f"lambda{suffix}"
    model.save(path)
    with pytest.raises(InputError, match="--trust-model"):
        load_model(path)
    assert load_model(path, trust=True).n_outputs == 7


def _small_cnn() -> keras.Model:
    """Conv + batch norm + dense: the layer kinds whose folding makes the frozen graph faster."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, padding="same"), keras.layers.BatchNormalization(),
        keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(7, activation="softmax"),
    ])
    # Non-trivial batch-norm statistics, so folding them is actually exercised.
    bn = model.layers[2]
    bn.set_weights([np.full(4, 1.5, "float32"), np.full(4, 0.2, "float32"),
                    np.linspace(-0.1, 0.1, 4).astype("float32"), np.full(4, 0.3, "float32")])
    return model


def test_frozen_inference_matches_the_live_model():
    model = _small_cnn()
    images = np.random.default_rng(0).uniform(0, 255, (300, 48, 48)).astype(np.float32)
    frozen, live = make_classifier(model), make_classifier(model)
    live.freeze = False
    got, want = frozen.predict(images, batch_size=128), live.predict(images, batch_size=128)
    assert frozen._inference is not frozen._compiled  # the frozen graph is in use
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))


def test_unfrozen_classifier_sees_weight_changes_and_failed_freezing_runs_live(monkeypatch):
    model = _small_cnn()
    images = np.random.default_rng(1).uniform(0, 255, (20, 48, 48)).astype(np.float32)
    live = make_classifier(model)
    live.freeze = False
    before = live.predict(images)
    dense = model.layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([-kernel, bias])
    assert not np.allclose(live.predict(images), before)  # the randomisation check relies on it

    def refuse(_function):
        raise ValueError("cannot convert")

    monkeypatch.setattr("reportgen.loading.model.convert_variables_to_constants_v2", refuse)
    fallback = make_classifier(model)
    np.testing.assert_allclose(fallback.predict(images), live.predict(images), atol=1e-6)
    assert fallback._inference is fallback._compiled
