"""The label-free input-scale signal: how well each scaling matches a BatchNorm layer's
stored training statistics.

A BatchNormalization layer keeps the running mean and variance of its inputs over training.
Feeding the images under each candidate scaling and comparing the per-channel mean and
variance of that layer's inputs with the stored ones shows which scaling the model saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from reportgen.loading.model import Classifier, LoadedModel
from reportgen.loading.pixels import InputScale

N_IMAGES = 512  # images whose activations are compared; statistics of 512 are stable enough
MIN_BN_RATIO = 2.0  # runner-up distance / best distance for the signal to count as clear

Probe = Callable[[tf.Tensor], tf.Tensor]


@dataclass(frozen=True)
class BatchNormSignal:
    layer: str
    distances: dict[str, float]  # candidate → median per-channel KL(activations ‖ stored)
    choice: str

    @property
    def clear(self) -> bool:
        ranked = sorted(self.distances.values())
        return bool(len(ranked) > 1 and ranked[1] >= MIN_BN_RATIO * max(ranked[0], 1e-12))


def first_batchnorm(model: keras.Model) -> tuple[Probe, keras.layers.BatchNormalization] | None:
    """(model input → that layer's input, the layer) for the first BatchNormalization layer,
    looking inside nested models; None when there is none or the graph cannot be cut there."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            return keras.Model(model.inputs, layer.input), layer
        if isinstance(layer, keras.Model):
            inner = first_batchnorm(layer)
            if inner is None:
                continue
            return _chain(keras.Model(model.inputs, layer.input), inner[0]), inner[1]
    return None


def _chain(first: Probe, second: Probe) -> Probe:
    return lambda x: second(first(x))


def gaussian_kl(means: np.ndarray, variances: np.ndarray, ref_means: np.ndarray,
                ref_variances: np.ndarray) -> np.ndarray:
    """Per channel KL(N(mean, var) ‖ N(ref_mean, ref_var)), all arrays (C,)."""
    ratio = variances / ref_variances
    return 0.5 * (ratio + (means - ref_means) ** 2 / ref_variances - 1.0 - np.log(ratio))


def batchnorm_signal(model: LoadedModel, images: np.ndarray, labels: np.ndarray, seed: int,
                     batch_size: int, candidates: Sequence[InputScale]) -> BatchNormSignal | None:
    """The candidate whose activations at the first BatchNorm layer match its stored
    statistics best; None for a model without one (or without Keras layers)."""
    if model.keras_model is None:
        return None
    try:
        found = first_batchnorm(model.keras_model)
    except Exception:  # noqa: BLE001 - some graphs cannot be cut at an inner layer
        return None
    if found is None:
        return None
    probe, layer = found
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    ref_means = np.asarray(layer.moving_mean, np.float64)
    ref_variances = np.asarray(layer.moving_variance, np.float64) + layer.epsilon
    order = np.random.default_rng(seed).permutation(len(labels))[:N_IMAGES]
    pixels = np.asarray(images[np.sort(order)], np.float32)  # only these images are read
    distances = {}
    try:
        for scale in candidates:
            classifier = Classifier(model, images.shape[1:3], scale, batch_size=batch_size)
            acts = np.concatenate([
                probe(classifier.to_model_input(tf.constant(pixels[start : start + batch_size])))
                .numpy() for start in range(0, len(pixels), batch_size)])
            acts = np.moveaxis(acts.astype(np.float64), axis, -1).reshape(-1, len(ref_means))
            kl = gaussian_kl(acts.mean(axis=0), acts.var(axis=0) + layer.epsilon, ref_means,
                             ref_variances)
            median = float(np.median(kl))  # NaN when activations overflow: worst fit
            distances[scale.value] = median if np.isfinite(median) else float("inf")
    except Exception:  # noqa: BLE001 - e.g. a layer whose input is not a single tensor
        return None
    choice = min(distances, key=lambda name: distances[name])
    return BatchNormSignal(layer.name, distances, choice)
