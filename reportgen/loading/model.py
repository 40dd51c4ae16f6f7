"""Load a Keras model and wrap it as a batched, compiled image classifier.

Everything downstream works in *pixel space*: grey images of shape (N, h, w), float32 in
0–255, as stored in FER2013. The classifier owns the adaptation to the model's own input
(resize, grey→RGB, value scaling), inside TensorFlow, so gradients flow through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from reportgen.errors import InputError
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.modelfile import check_model_file
from reportgen.loading.pixels import InputScale

FREEZE_CHECK_IMAGES = 32  # images on which the frozen graph must match the live model
FREEZE_TOLERANCE = 1e-4  # largest allowed |difference| in an output probability


@dataclass
class EvaluationCount:
    """Images put through any model in this process: ``forward`` (predictions) and
    ``gradient`` (a forward and a backward pass). A cheap tally for the benchmarks; compiled
    loops that call the model inside one graph add their images when they return."""

    forward: int = 0
    gradient: int = 0

    def snapshot(self) -> tuple[int, int]:
        """(forward, gradient) so far."""
        return self.forward, self.gradient


EVALUATIONS = EvaluationCount()


def scale_pixels(pixels: tf.Tensor, scale: InputScale) -> tf.Tensor:
    """Map 0–255 pixel values to the model's input range."""
    if scale is InputScale.UNIT:
        return pixels / 255.0
    if scale is InputScale.SYMMETRIC:
        return pixels / 127.5 - 1.0
    return pixels


@dataclass
class LoadedModel:
    """A model as read from disk, before any decision about its input scale."""

    path: Path
    sha256: str
    input_shape: tuple[int, int, int]  # (H, W, C)
    n_outputs: int
    n_params: int
    call: Callable[[tf.Tensor], tf.Tensor]  # model input (N, H, W, C) → raw outputs (N, K)
    keras_model: keras.Model | None  # None for a bare TF SavedModel
    has_rescaling: bool
    layer_names: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """sha256 of a file, or of a directory's sorted files (for SavedModels)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(model: keras.Model) -> str:
    """sha256 of an in-memory model's layer names, weight shapes and weight values."""
    digest = hashlib.sha256()
    for weight in model.weights:
        values = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}:{values.dtype}:{values.shape}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def load_model(path: Path, trust: bool = False, limits: InputLimits = DEFAULT_LIMITS) -> LoadedModel:
    """Read a `.keras`, `.h5`/`.hdf5` or TF SavedModel directory.

    Keras safe mode stays on unless ``trust`` is set, so models that carry code (Lambda or
    custom layers) are refused rather than executed; so are SavedModels, whose graph runs
    when loaded. A ``.keras`` zip is checked against ``limits`` before it is unpacked.
    """
    path = Path(path)
    check_model_file(path, trust, limits)
    if path.is_dir():
        return _load_saved_model(path)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not trust)
    except Exception as err:  # noqa: BLE001 - Keras raises many types; all mean "cannot use this file"
        raise InputError(f"{path}: cannot load model: {_first_line(err)}") from None
    return describe_keras_model(model, path)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    reason = text[0] if text else type(err).__name__
    if "safe_mode" in str(err) or "Lambda" in str(err):
        reason = "it contains code (Lambda or custom layers); pass --trust-model to load it anyway"
    return reason[:300]


def describe_keras_model(model: keras.Model, path: Path | None = None) -> LoadedModel:
    """The one place a ``LoadedModel`` is built from a Keras model, read from ``path`` or in memory.

    An in-memory model (``path`` None) is named ``<in-memory NAME>`` and hashed over its weights'
    names, shapes and values, so that two runs of the same model share a sha256.
    """
    where = path if path is not None else Path(f"<in-memory {model.name}>")
    _require_one(where, "input", [t.name for t in model.inputs])
    _require_one(where, "output", [t.name for t in model.outputs])
    shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
    if shape is None or len(shape) != 3 or shape[2] not in (1, 3) or None in shape[:2]:
        raise InputError(f"{where}: expects input {shape}; need an image input (H, W, 1 or 3)")
    n_outputs = int(model.outputs[0].shape[-1])
    layer_names = [layer.name for layer in _walk_layers(model)]
    rescaling = any(
        isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
        for layer in _walk_layers(model)
    )

    def call(inputs: tf.Tensor) -> tf.Tensor:
        return model(inputs, training=False)

    return LoadedModel(
        path=where,
        sha256=file_sha256(path) if path is not None else weights_sha256(model),
        input_shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        n_outputs=n_outputs,
        n_params=int(model.count_params()),
        call=call,
        keras_model=model,
        has_rescaling=rescaling,
        layer_names=layer_names,
    )


def _require_one(path: Path, kind: str, names: list[str]) -> None:
    """One image in, one vector of class scores out: anything else cannot be audited."""
    if len(names) != 1:
        listed = ", ".join(names[:4]) or "none"
        raise InputError(f"{path}: model has {len(names)} {kind}s ({listed}); reportgen audits "
                         f"models with one image input and one class-score output")


def _walk_layers(model: keras.Model) -> list[keras.layers.Layer]:
    layers: list[keras.layers.Layer] = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, keras.Model):
            layers.extend(_walk_layers(layer))
    return layers


def _load_saved_model(path: Path) -> LoadedModel:
    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
    except Exception as err:  # noqa: BLE001 - TF raises many types for unreadable SavedModels
        raise InputError(f"{path}: cannot load SavedModel: {_first_line(err)}") from None
    inputs = signature.structured_input_signature[1]
    _require_one(path, "input", list(inputs))
    _require_one(path, "output", list(signature.structured_outputs))
    (input_name, spec), = inputs.items()
    shape = tuple(spec.shape[1:])
    if len(shape) != 3 or shape[2] not in (1, 3) or None in shape[:2]:
        raise InputError(f"{path}: expects input {shape}; need an image input (H, W, 1 or 3)")
    (output_name,) = signature.structured_outputs
    n_outputs = int(signature.structured_outputs[output_name].shape[-1])
    n_params = int(sum(np.prod(v.shape) for v in getattr(loaded, "variables", [])))

    def call(inputs: tf.Tensor, _owner: object = loaded) -> tf.Tensor:
        # _owner keeps the loaded object, and so its variables, alive as long as this function.
        return signature(**{input_name: tf.cast(inputs, spec.dtype)})[output_name]

    return LoadedModel(
        path=path,
        sha256=file_sha256(path),
        input_shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        n_outputs=n_outputs,
        n_params=n_params,
        call=call,
        keras_model=None,
        has_rescaling=False,
    )


class Classifier:
    """A loaded model plus its input adaptation, called on grey pixel-space batches.

    ``probabilities_tf`` is differentiable and meant to be used inside ``tf.function``;
    ``predict`` runs it compiled over large batches.

    With ``freeze`` (the default), ``predict`` runs a copy of the graph with the weights folded
    in as constants, which lets TensorFlow's optimiser fold batch normalisation and fuse the
    layers: about a quarter faster per image on the sample model. The frozen graph must match
    the live model on a fixed check batch, or ``predict`` keeps the live one. Pass ``freeze=False``
    when the model's weights will change after the first ``predict`` (the randomisation check).
    """

    def __init__(
        self,
        model: LoadedModel,
        image_size: tuple[int, int],
        scale: InputScale,
        apply_softmax: bool = False,
        batch_size: int = 256,
        freeze: bool = True,
    ) -> None:
        if scale is InputScale.AUTO:
            raise ValueError("resolve InputScale.AUTO before building a Classifier")
        self.model = model
        self.image_size = image_size
        self.scale = scale
        self.apply_softmax = apply_softmax
        self.batch_size = batch_size
        self._compiled = tf.function(
            self.probabilities_tf,
            input_signature=[tf.TensorSpec([None, *image_size], tf.float32)],
        )
        self.freeze = freeze
        self._inference: Callable[[tf.Tensor], tf.Tensor] | None = None

    def to_model_input(self, pixels: tf.Tensor) -> tf.Tensor:
        """(N, h, w) float32 0–255 → (N, H, W, C) in the model's scale (bilinear resize)."""
        height, width, channels = self.model.input_shape
        x = pixels[..., tf.newaxis]
        if (height, width) != tuple(self.image_size):
            x = tf.image.resize(x, (height, width), method="bilinear")
        if channels == 3:
            x = tf.repeat(x, 3, axis=-1)
        return scale_pixels(x, self.scale)

    def probabilities_tf(self, pixels: tf.Tensor) -> tf.Tensor:
        """(N, h, w) float32 0–255 → (N, K) class probabilities, differentiable."""
        outputs = tf.cast(self.model.call(self.to_model_input(pixels)), tf.float32)
        return tf.nn.softmax(outputs, axis=-1) if self.apply_softmax else outputs

    def predict(
        self,
        pixels: np.ndarray,
        batch_size: int | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """(N, h, w) uint8 or float 0–255 → (N, K) float32 probabilities, in large batches.

        ``advance(n)`` is called after each batch with the number of images done.
        """
        size = batch_size or self.batch_size
        n_images = len(pixels)
        if n_images == 0:
            return np.zeros((0, self.model.n_outputs), np.float32)
        inference = self.inference_fn()
        EVALUATIONS.forward += n_images
        chunks = []
        for start in range(0, n_images, size):
            batch = np.asarray(pixels[start : start + size], dtype=np.float32)
            chunks.append(inference(tf.constant(batch)).numpy())
            if advance is not None:
                advance(len(batch))
        return np.concatenate(chunks, axis=0)


    def inference_fn(self) -> Callable[[tf.Tensor], tf.Tensor]:
        """The forward pass for predictions (not gradients), callable eagerly or in ``tf.function``.

        The frozen graph when ``freeze`` is set, it can be built, and it matches the live model
        on a fixed check batch; otherwise the live compiled function. Built once.
        """
        if self._inference is None:
            self._inference = self._frozen_or_live()
        return self._inference

    def _frozen_or_live(self) -> Callable[[tf.Tensor], tf.Tensor]:
        if not self.freeze:
            return self._compiled
        check = np.random.default_rng(0).uniform(
            0, 255, (FREEZE_CHECK_IMAGES, *self.image_size)).astype(np.float32)
        try:
            frozen = convert_variables_to_constants_v2(self._compiled.get_concrete_function())
            gap = np.abs(_first_output(frozen(tf.constant(check))).numpy()
                         - self._compiled(tf.constant(check)).numpy())
        except Exception:  # noqa: BLE001 - any model the converter cannot handle runs live
            return self._compiled
        if not np.all(gap <= FREEZE_TOLERANCE):  # also false when either side is NaN
            return self._compiled
        return lambda pixels: _first_output(frozen(pixels))


def _first_output(outputs: tf.Tensor | list[tf.Tensor]) -> tf.Tensor:
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def looks_like_probabilities(outputs: np.ndarray) -> bool:
    """True when every row is non-negative and sums to 1 (the model ends in a softmax)."""
    finite = outputs[np.isfinite(outputs).all(axis=1)]
    if len(finite) == 0:
        return True
    sums = finite.sum(axis=1)
    return bool(finite.min() >= -1e-6 and np.abs(sums - 1.0).max() < 1e-3)
