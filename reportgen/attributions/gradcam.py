"""Grad-CAM (Selvaraju et al., 2017) on a convolutional layer, upsampled to the image size.

Keras has no forward hooks and rebuilding a sub-model to expose an inner layer breaks for
layers inside nested models, so the target layer's ``call`` is wrapped for the duration of
one trace of the compiled function, which records its output tensor. Hand-written because
tf-keras-vis needs the layer at the top level of a functional model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from reportgen.attributions.base import Explainer, as_pixels, as_targets
from reportgen.errors import InputError
from reportgen.loading.model import EVALUATIONS, Classifier

CONV_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)


def walk_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer in forward order, descending into nested models."""
    layers: list[keras.layers.Layer] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            layers.extend(walk_layers(layer))
        else:
            layers.append(layer)
    return layers


def find_layer(model: keras.Model | None, name: str | None) -> keras.layers.Layer:
    """The layer called ``name``, or the last convolution when ``name`` is None.

    Raises InputError for a model without Keras layers, an unknown name, or no convolution.
    """
    if model is None:
        raise InputError(
            "gradcam: needs a Keras model (.keras or .h5); "
            "a bare TF SavedModel has no layers to hook"
        )
    layers = walk_layers(model)
    convs = [layer for layer in layers if isinstance(layer, CONV_TYPES)]
    if name is None:
        if not convs:
            raise InputError(
                "gradcam: the model has no Conv2D/SeparableConv2D/DepthwiseConv2D layer"
            )
        return convs[-1]
    for layer in layers:
        if layer.name == name:
            return layer
    listed = ", ".join(layer.name for layer in convs) or "none"
    raise InputError(f"--gradcam-layer: no layer named '{name}' (convolution layers: {listed})")


@contextmanager
def recording(layer: keras.layers.Layer, tape: tf.GradientTape) -> Iterator[list[tf.Tensor]]:
    """While active, every output of ``layer`` is watched by ``tape`` and appended to the list."""
    outputs: list[tf.Tensor] = []
    original = layer.call

    def call(*args: object, **kwargs: object) -> tf.Tensor:
        result = original(*args, **kwargs)
        tape.watch(result)
        outputs.append(result)
        return result

    layer.call = call
    try:
        yield outputs
    finally:
        del layer.call  # drops the instance attribute, restoring the class method


def compile_gradcam(
    classifier: Classifier, layer: keras.layers.Layer
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A compiled ``(pixels (B, h, w), targets (B,)) -> (B, h, w)`` Grad-CAM function."""
    height, width = classifier.image_size

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, height, width], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def gradcam(pixels: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape, recording(layer, tape) as outputs:
            scores = tf.gather(classifier.probabilities_tf(pixels), targets, batch_dims=1)
        if not outputs or outputs[-1].shape.rank != 4:
            raise InputError(f"--gradcam-layer: layer '{layer.name}' has no (N, H, W, C) output")
        activations = outputs[-1]
        weights = tf.reduce_mean(tape.gradient(scores, activations), axis=(1, 2), keepdims=True)
        cams = tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1, keepdims=True))
        return tf.image.resize(cams, (height, width), method="bilinear")[..., 0]

    def run(pixels: np.ndarray, targets: np.ndarray) -> np.ndarray:
        EVALUATIONS.gradient += len(pixels)
        return gradcam(tf.constant(pixels, tf.float32), tf.constant(targets, tf.int32)).numpy()

    return run


class GradCamExplainer(Explainer):
    """Grad-CAM: ReLU(sum_k mean(dp/dA_k) * A_k) on the layer's activations A, upsampled.

    Non-negative by construction. ``layer`` None picks the last convolution, nested
    models included.
    """

    name = "gradcam"
    title = "Grad-CAM"
    display = "positive"
    gradient_based = True
    needs_layer = True

    def __init__(self, classifier: Classifier, batch_size: int | None = None, seed: int = 0,
                 layer: str | None = None) -> None:
        super().__init__(classifier, batch_size, seed)
        self.layer = find_layer(classifier.model.keras_model, layer)
        self.params = {"layer": self.layer.name}
        self._gradcam = compile_gradcam(classifier, self.layer)

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 maps >= 0."""
        pixels = as_pixels(images)
        classes = as_targets(targets, len(pixels))
        size = self.batch_size
        chunks = [
            self._gradcam(pixels[start : start + size], classes[start : start + size])
            for start in range(0, len(pixels), size)
        ]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros_like(pixels)
