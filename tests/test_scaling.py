"""Input-scale detection with known answers: small CNNs without a Rescaling layer trained
briefly on each scaling, hand-built BatchNorm models, and ambiguous models that must warn."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from reportgen.loading.batchnorm import BatchNormSignal, gaussian_kl
from reportgen.loading.model import load_model
from reportgen.loading.pixels import InputScale
from reportgen.loading.scaling import (
    PairedGap,
    decide_scale,
    paired_gap,
    resolve_scale,
    stratified_subset,
)

SCALES = [InputScale.RAW, InputScale.UNIT, InputScale.SYMMETRIC]
N_CLASSES = 7


def blob_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 48, 48) uint8 noisy grey images with a bright blob whose place is the class, and
    30% of the labels drawn at random, so that, as on FER2013, no model is right on all of
    them: a wrongly amplified input then makes confident mistakes instead of confident hits.
    """
    rng = np.random.default_rng(seed)
    places = rng.integers(0, N_CLASSES, n)
    images = rng.normal(rng.uniform(60, 140, (n, 1, 1)), 25, (n, 48, 48))
    for image, place in zip(images, places):
        row, col = divmod(int(place), 3)
        image[4 + 14 * row : 14 + 14 * row, 4 + 14 * col : 14 + 14 * col] += 90
    labels = np.where(rng.random(n) < 0.3, rng.integers(0, N_CLASSES, n), places)
    return np.clip(images, 0, 255).astype(np.uint8), labels


def to_scale(images: np.ndarray, scale: InputScale) -> np.ndarray:
    x = images.astype(np.float32)[..., None]
    return {InputScale.RAW: x, InputScale.UNIT: x / 255.0, InputScale.SYMMETRIC: x / 127.5 - 1}[scale]


def small_cnn(batchnorm: bool) -> keras.Model:
    layers = [keras.Input((48, 48, 1)), keras.layers.Conv2D(8, 3, strides=2, name="conv")]
    # momentum 0.9: the running statistics settle within this short training, as they do
    # over a real model's many epochs at the default 0.99.
    layers += [keras.layers.BatchNormalization(momentum=0.9, name="bn")] if batchnorm else []
    layers += [keras.layers.Activation("relu"), keras.layers.MaxPooling2D(2),
               keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2),
               keras.layers.Flatten(), keras.layers.Dense(N_CLASSES, activation="softmax")]
    return keras.Sequential(layers)


def saved(tmp_path, model: keras.Model, name: str):
    path = tmp_path / f"{name}.keras"
    model.save(path)
    return load_model(path)


@pytest.fixture(scope="module")
def data():
    return blob_images(700, seed=0), blob_images(300, seed=1)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """scale → a CNN (with a BatchNorm after its first convolution) trained on that scaling."""
    (train_x, train_y), _ = data
    models = {}
    for k, scale in enumerate(SCALES):
        keras.utils.set_random_seed(k)
        model = small_cnn(batchnorm=True)
        model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
        model.fit(to_scale(train_x, scale), train_y, epochs=4, batch_size=32, verbose=0)
        models[scale] = saved(tmp_path_factory.mktemp("models"), model, f"cnn{k}")
    return models


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: s.value)
def test_a_briefly_trained_cnn_is_detected_by_both_signals(scale, trained, data):
    _, (images, labels) = data
    decision = resolve_scale(trained[scale], InputScale.AUTO, images, labels, seed=0,
                             batch_size=128)
    assert decision.scale is scale, decision.reason
    assert decision.paired.best == scale.value and decision.paired.clear
    assert decision.batchnorm.choice == scale.value and decision.batchnorm.clear
    assert decision.warning is None
    assert max(decision.log_likelihoods, key=decision.log_likelihoods.get) == scale.value
    assert decision.n_probe_images == len(labels)  # every image, not a subset
    summary = decision.to_summary()
    assert summary["paired"]["best"] == scale.value and summary["batchnorm"]["layer"] == "bn"


def hand_built_batchnorm(scale: InputScale, images: np.ndarray) -> keras.Model:
    """Conv → BatchNorm whose stored statistics are those of ``images`` under ``scale`` → a
    head with zero weights, so the outputs (uniform) say nothing about the scaling."""
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(4, 3, name="conv"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(N_CLASSES, activation="softmax",
                                                 kernel_initializer="zeros", name="head")])
    conv = keras.Model(model.inputs, model.get_layer("bn").input)
    acts = conv(to_scale(images, scale)).numpy().reshape(-1, 4)
    bn = model.get_layer("bn")
    bn.moving_mean.assign(acts.mean(axis=0))
    bn.moving_variance.assign(acts.var(axis=0))
    return model


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: s.value)
def test_a_hand_built_batchnorm_model_is_detected_from_its_statistics(scale, data, tmp_path):
    _, (images, labels) = data
    loaded = saved(tmp_path, hand_built_batchnorm(scale, images), "bn")
    decision = resolve_scale(loaded, InputScale.AUTO, images, labels, seed=0, batch_size=128)
    assert decision.scale is scale
    assert decision.batchnorm.choice == scale.value and decision.batchnorm.clear
    assert decision.batchnorm.distances[scale.value] < 0.01
    # The likelihood ties exactly (uniform outputs), so the choice is flagged.
    assert not decision.paired.clear
    assert "--input-scale" in decision.warning and "BatchNorm" in decision.warning


def test_an_ambiguous_model_warns_naming_the_option(data, tmp_path):
    """Outputs that do not depend on the scaling and no BatchNorm: nothing can decide."""
    _, (images, labels) = data
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(N_CLASSES, activation="softmax",
                                                 kernel_initializer="zeros")])
    decision = resolve_scale(saved(tmp_path, model, "flat"), InputScale.AUTO, images, labels,
                             seed=0, batch_size=128)
    assert decision.batchnorm is None and not decision.paired.clear
    assert "ambiguous" in decision.warning and "--input-scale" in decision.warning


def test_disagreeing_signals_keep_the_likelihood_and_warn():
    """A clear likelihood against a clear BatchNorm signal: keep the likelihood's, and warn.
    (Rewriting a trained model's BatchNorm statistics would change its outputs too, so the
    rule is checked on the signals themselves.)"""
    likelihood = PairedGap("0-1", "-1-1", mean_gap=0.2, z=8.0)
    batchnorm = BatchNormSignal("bn", {"0-255": 900.0, "0-1": 2.0, "-1-1": 0.01}, "-1-1")
    chosen, reason, warning = decide_scale(likelihood, batchnorm, 3589)
    assert chosen == "0-1" and "3589 images" in reason
    assert "--input-scale" in warning and "point to -1-1" in warning
    agreeing = BatchNormSignal("bn", {"0-255": 900.0, "0-1": 0.01, "-1-1": 2.0}, "0-1")
    assert decide_scale(likelihood, agreeing, 3589)[2] is None


def test_an_explicit_scale_is_kept_and_still_scored(trained, data):
    _, (images, labels) = data
    decision = resolve_scale(trained[InputScale.UNIT], InputScale.RAW, images, labels, 0, 128)
    assert decision.scale is InputScale.RAW and decision.reason == "set by --input-scale"
    assert set(decision.log_likelihoods) == {"0-255", "0-1", "-1-1"}


def test_paired_gap_known_answer():
    scores = {"a": np.array([0.0, -1.0, -2.0]), "b": np.array([-1.0, -1.5, -3.0]),
              "c": np.full(3, -9.0)}
    gap = paired_gap(scores)
    diffs = np.array([1.0, 0.5, 1.0])
    assert (gap.best, gap.second) == ("a", "b")
    assert gap.mean_gap == pytest.approx(diffs.mean())
    assert gap.z == pytest.approx(diffs.mean() / (diffs.std(ddof=1) / np.sqrt(3)))
    tied = paired_gap({"a": np.zeros(4), "b": np.zeros(4)})
    assert tied.z == 0.0 and not tied.clear


def test_gaussian_kl_is_zero_for_equal_statistics_and_grows_with_the_shift():
    ones = np.ones(3)
    assert np.allclose(gaussian_kl(ones, ones, ones, ones), 0.0)
    assert (gaussian_kl(ones * 3, ones, ones, ones) > gaussian_kl(ones * 2, ones, ones, ones)).all()


def test_every_image_is_scored_up_to_the_cap():
    labels = np.repeat(np.arange(7), [900, 10, 900, 900, 900, 900, 900])
    assert len(stratified_subset(labels[:350], 5000, 0)) == 350
    subset = stratified_subset(labels, 5000, 0)
    assert len(subset) == 5000 and len(np.unique(subset)) == 5000
    assert (labels[subset] == 1).sum() == 10  # the rare class is kept whole


def test_the_cli_warns_about_an_ambiguous_scale_and_records_it(tmp_path, small_csv):
    """stderr, summary.json notes and model.input_scale_detection all carry the warning."""
    import json

    from typer.testing import CliRunner

    from reportgen.cli import app

    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(N_CLASSES, activation="softmax",
                                                 kernel_initializer="zeros")])
    path = tmp_path / "flat.keras"
    model.save(path)
    result = CliRunner().invoke(app, ["gate", "--model", str(path), "--data", str(small_csv),
                                      "--out", str(tmp_path / "g"), "--quiet", "--policy", "none"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines()
                if line.startswith("reportgen: warning: input scale")]
    assert len(warnings) == 1 and "--input-scale" in warnings[0]
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    detection = summary["model"]["input_scale_detection"]
    assert detection["warning"] in summary["notes"] and detection["paired"]["clear"] is False


@pytest.mark.slow
def test_a_real_fer_cnn_trained_on_0_1_is_detected_where_accuracy_was_wrong(tmp_path):
    """A CNN without Rescaling or BatchNorm trained 5 epochs on 10,000 FER2013 Training faces
    in 0-1. On PublicTest the old rule (accuracy on 656 stratified images) chose 0-255
    (38.0% vs 37.2%); the likelihood over all 3,589 images says 0-1 (-1.45 vs -15.2 nats)."""
    from pathlib import Path

    from reportgen.loading.data import load_dataset

    root = Path(__file__).resolve().parents[1].parent / "shared" / "fer2013"
    if not (root / "PublicTest").is_dir():
        pytest.skip("needs ../shared/fer2013")
    train, test = load_dataset(root, "Training"), load_dataset(root, "PublicTest")
    chosen = np.random.default_rng(0).permutation(len(train.labels))[:10000]
    keras.utils.set_random_seed(0)
    layers: list = [keras.Input((48, 48, 1))]
    for filters in (16, 32, 64):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
                   keras.layers.MaxPooling2D(2)]
    model = keras.Sequential([*layers, keras.layers.Flatten(), keras.layers.Dropout(0.3),
                              keras.layers.Dense(N_CLASSES, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(to_scale(train.images[chosen], InputScale.UNIT), train.labels[chosen], epochs=5,
              batch_size=64, verbose=0)
    decision = resolve_scale(saved(tmp_path, model, "fer"), InputScale.AUTO, test.images,
                             test.labels, seed=0, batch_size=256)
    assert decision.scale is InputScale.UNIT and decision.paired.clear
    assert decision.n_probe_images == len(test.labels) and decision.warning is None
