"""The attribution interface: one small base class that every method subclasses.

An explainer is built around a classifier and called on pixel-space images::

    maps = SmoothGradExplainer(classifier, seed=0).explain(images, targets)

``images`` are grey (N, h, w) in 0–255 and ``targets`` (N,) class indices; ``maps`` are
(N, h, w) float32, signed: positive values push the target class up.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from reportgen.loading.model import Classifier

Display = Literal["signed", "magnitude", "positive"]
# How the case figures draw a method: "overlay" draws the map over the image; "superpixels"
# also outlines the method's segments and adds a view keeping only the top supporting ones.
FigureKind = Literal["overlay", "superpixels"]

# Largest batch (images per compiled call) used for a 48x48 model; bigger inputs get less,
# so that activations stay well under a few hundred MB on CPU.
MAX_BATCH = 512
REFERENCE_PIXELS = 48 * 48


def default_batch_size(classifier: Classifier) -> int:
    """A batch size that fits memory: 512 for a 48x48 model, scaled down by input area, >= 16."""
    height, width, channels = classifier.model.input_shape
    scaled = MAX_BATCH * REFERENCE_PIXELS // max(1, height * width * channels)
    return int(max(16, min(MAX_BATCH, scaled)))


class Explainer:
    """Base class: ``explain(images, targets) -> maps`` in pixel space.

    Subclasses set ``name`` (the registry key), ``title`` (for the report), ``display`` (how
    figures show the maps: ``signed`` diverging, ``magnitude`` of a signed map, or
    ``positive`` for maps that are non-negative by construction) and fill ``params`` with
    every setting that changes the result, so the report can state them.

    The other class properties say what the stages must do for a method, so that none of
    them asks for a method by name:

    - ``gradient_based``: a few model calls per image (cheap); otherwise ~1000 (sampling).
    - ``stochastic``: the maps depend on ``seed``, so the quality stage measures their
      stability across seeds.
    - ``needs_segments``: ``segments(images)`` returns the regions the maps are made of,
      kept for the figures.
    - ``needs_layer``: the constructor takes ``layer``, a Keras layer name, so the method
      cannot run on a bare SavedModel.
    - ``figure``: how the case figures draw it (see ``FigureKind``).
    - ``adaptive``: the constructor takes ``exhaustive``; without it the method stops
      sampling an image once a stated rule says its map is stable (fewer model calls).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    display: ClassVar[Display] = "signed"
    gradient_based: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    needs_segments: ClassVar[bool] = False
    needs_layer: ClassVar[bool] = False
    figure: ClassVar[FigureKind] = "overlay"
    adaptive: ClassVar[bool] = False

    def __init__(
        self, classifier: Classifier, batch_size: int | None = None, seed: int = 0
    ) -> None:
        self.classifier = classifier
        self.batch_size = int(batch_size or default_batch_size(classifier))
        self.seed = int(seed)
        self.params: dict[str, object] = {}

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels 0–255 and (N,) int targets → (N, h, w) float32 signed maps."""
        raise NotImplementedError

    def explain_classes(self, images: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels and (C,) classes → (N, C, h, w) maps, one per image and class.

        The default repeats each image once per class; methods that can share work across
        classes (LIME fits every class on the same perturbations) override it.
        """
        pixels = as_pixels(images)
        classes = np.asarray(classes, dtype=np.int32)
        repeated = np.repeat(pixels, len(classes), axis=0)
        targets = np.tile(classes, len(pixels))
        maps = self.explain(repeated, targets)
        return maps.reshape(len(pixels), len(classes), *pixels.shape[1:])

    def explain_mean(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (h, w) float32 mean map over the N images: of
        |map| for ``magnitude`` displays, else of the signed map; zeros when N == 0.

        The default explains every image; a sampling method may stop sampling once the mean
        itself, rather than each image's map, is stable (SmoothGrad does).
        """
        pixels = as_pixels(images)
        if len(pixels) == 0:
            return np.zeros(pixels.shape[1:], np.float32)
        maps = self.explain(pixels, targets)
        return (np.abs(maps) if self.display == "magnitude" else maps).mean(axis=0).astype(
            np.float32)

    def segments(self, images: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels → (N, h, w) int region labels, for methods with ``needs_segments``."""
        raise NotImplementedError(f"{self.name} does not work on segments")

    def diagnostics(
        self, images: np.ndarray, targets: np.ndarray, maps: np.ndarray
    ) -> dict[str, float]:
        """Method-specific quality numbers for the report (e.g. IG's completeness gap)."""
        return {}

    def describe(self) -> str:
        """``Title (param=value, ...)`` for captions."""
        settings = ", ".join(f"{key}={format_param(value)}" for key, value in self.params.items())
        return f"{self.title} ({settings})" if settings else self.title


def format_param(value: object) -> str:
    """Short, stable text for a parameter value (floats to 3 significant digits)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def as_pixels(images: np.ndarray) -> np.ndarray:
    """(N, h, w) any numeric dtype → float32 0–255; raises ValueError on another rank."""
    pixels = np.asarray(images, dtype=np.float32)
    if pixels.ndim != 3:
        raise ValueError(f"images must be (N, h, w) grey pixels, got shape {pixels.shape}")
    return pixels


def as_targets(targets: np.ndarray, n_images: int) -> np.ndarray:
    """(N,) class indices → int32, checked against the number of images."""
    classes = np.asarray(targets, dtype=np.int32).reshape(-1)
    if len(classes) != n_images:
        raise ValueError(f"got {len(classes)} targets for {n_images} images")
    return classes
