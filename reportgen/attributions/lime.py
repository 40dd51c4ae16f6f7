"""LIME for grey faces: SLIC superpixels, perturbations built in-graph, ``lime``'s own fits.

The locally weighted fits are ``lime.lime_base.LimeBase`` (its kernel, feature selection and
Ridge), configured exactly as ``lime_image.LimeImageExplainer`` does. Perturbations are made
here instead of by ``lime_image``, whose per-sample Python loop and batches of 10 make it
~10x slower than the model: only the 0/1 masks cross into TensorFlow, and one compiled
function expands them into perturbed images and predicts them, in large batches that span
several images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import tensorflow as tf
from lime.lime_base import LimeBase
from skimage.segmentation import slic
from sklearn.metrics import pairwise_distances

from reportgen.attributions.base import Explainer, as_pixels, as_targets
from reportgen.loading.model import EVALUATIONS, Classifier

HideColour = Literal["mean", "segment_mean"] | float
MaskedPredict = Callable[..., tf.Tensor]
# Perturbed images predicted per round: several images' samples go through one set of batches.
ROUND_IMAGES = 8192


def segment(image: np.ndarray, n_segments: int = 50, compactness: float = 0.3) -> np.ndarray:
    """(h, w) grey 0–255 → (h, w) int superpixel labels 0..S-1 (SLIC).

    Tuned for 48x48 faces: n_segments=50 with compactness 0.3 (on 0–1 intensities) gives
    about 40–50 superpixels, where LIME's default quickshift gives 1–5.
    """
    labels = slic(np.asarray(image, np.float64) / 255.0, n_segments=n_segments,
                  compactness=compactness, channel_axis=None, start_label=0)
    # relabel to 0..S-1 in case SLIC's connectivity pass leaves gaps
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)


def hidden_image(image: np.ndarray, segments: np.ndarray, hide: HideColour) -> np.ndarray:
    """(h, w) → the (h, w) image that replaces switched-off superpixels."""
    if hide == "mean":
        return np.full_like(image, image.mean())
    if hide == "segment_mean":  # lime_image's default (hide_color=None)
        sums = np.bincount(segments.ravel(), weights=image.ravel())
        return (sums / np.bincount(segments.ravel()))[segments].astype(image.dtype)
    return np.full_like(image, float(hide))


def perturb(image: np.ndarray, hidden: np.ndarray, segments: np.ndarray,
            masks: np.ndarray) -> np.ndarray:
    """(h, w) image, (h, w) fill, (h, w) labels, (n, S) 0/1 masks → (n, h, w) perturbed images."""
    keep = np.asarray(masks, dtype=bool)[:, segments]
    return np.where(keep, image[None], hidden[None]).astype(np.float32)


def compile_masked_predict(classifier: Classifier) -> MaskedPredict:
    """A compiled ``(images, hidden, segments, masks, owners) -> (B, K)`` function.

    ``images``, ``hidden`` (I, h, w) float32 and ``segments`` (I, h, w) int32 describe I
    images; row b of ``masks`` (B, S) bool switches the superpixels of image ``owners[b]``.
    Equivalent to ``perturb`` followed by ``classifier.predict``, without materialising the
    perturbed images on the host.
    """
    height, width = classifier.image_size
    planes = tf.TensorSpec([None, height, width], tf.float32)
    forward = classifier.inference_fn()  # no gradients needed: the frozen graph when there is one

    @tf.function(input_signature=[
        planes, planes, tf.TensorSpec([None, height, width], tf.int32),
        tf.TensorSpec([None, None], tf.bool), tf.TensorSpec([None], tf.int32),
    ])
    def predict(images: tf.Tensor, hidden: tf.Tensor, segments: tf.Tensor, masks: tf.Tensor,
                owners: tf.Tensor) -> tf.Tensor:
        keep = tf.gather(masks, tf.gather(segments, owners), batch_dims=1)
        perturbed = tf.where(keep, tf.gather(images, owners), tf.gather(hidden, owners))
        return forward(perturbed)

    return predict


def lime_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """lime_image's default kernel: sqrt(exp(-d^2 / width^2))."""
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


def fit_weights(masks: np.ndarray, probabilities: np.ndarray, label: int,
                kernel_width: float = 0.25, feature_selection: str = "auto",
                num_features: int = 100000, seed: int = 0) -> tuple[np.ndarray, float]:
    """LimeBase fit, as lime_image runs it → ((S,) superpixel weights, weighted R^2).

    ``masks`` (n, S) 0/1 with row 0 all ones (the unperturbed image); ``probabilities`` (n, K).
    """
    distances = pairwise_distances(masks, masks[:1], metric="cosine").ravel()
    base = LimeBase(partial(lime_kernel, kernel_width=kernel_width), random_state=seed)
    _, pairs, score, _ = base.explain_instance_with_data(
        masks, probabilities, distances, label, num_features, feature_selection=feature_selection
    )
    weights = np.zeros(masks.shape[1])
    for feature, weight in pairs:
        weights[feature] = weight
    return weights, float(score)


@dataclass
class _Neighbourhood:
    """One image's superpixels, perturbation masks and predicted probabilities."""

    segments: np.ndarray  # (h, w) int
    masks: np.ndarray  # (n, S) 0/1
    probabilities: np.ndarray  # (n, K)


class LimeExplainer(Explainer):
    """LIME on SLIC superpixels; a pixel's value is the weight of its superpixel.

    ``hide`` is what a switched-off superpixel shows: ``"mean"`` (the image mean, default),
    ``"segment_mean"`` (lime_image's default) or a grey level 0–255.
    """

    name = "lime"
    title = "LIME"
    display = "signed"
    stochastic = True
    needs_segments = True
    figure = "superpixels"

    def __init__(self, classifier: Classifier, batch_size: int | None = None, seed: int = 0,
                 num_samples: int = 1000, n_segments: int = 50, compactness: float = 0.3,
                 hide: HideColour = "mean", kernel_width: float = 0.25,
                 feature_selection: str = "auto") -> None:
        super().__init__(classifier, batch_size, seed)
        self.params = {
            "num_samples": int(num_samples), "segmentation": f"SLIC n_segments={n_segments}",
            "hide": hide, "kernel_width": float(kernel_width),
        }
        self.n_segments = int(n_segments)
        self.compactness = float(compactness)
        self.hide = hide
        self.kernel_width = float(kernel_width)
        self.feature_selection = feature_selection
        self.fit_scores: list[float] = []  # R^2 of every fit made by explain(), in order
        self._predict = compile_masked_predict(classifier)

    def segments(self, images: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels → (N, h, w) int superpixel labels."""
        labels = [segment(image, self.n_segments, self.compactness) for image in as_pixels(images)]
        return np.stack(labels) if labels else np.zeros((0, *np.shape(images)[1:]), np.int32)

    def masks(self, n_segments: int) -> np.ndarray:
        """(num_samples, S) 0/1 perturbation matrix from ``seed``; row 0 keeps everything."""
        rng = np.random.default_rng(self.seed)
        masks = rng.integers(0, 2, (int(self.params["num_samples"]), n_segments))
        masks[0] = 1
        return masks

    def neighbourhoods(self, images: np.ndarray) -> Iterator[_Neighbourhood]:
        """Each image's neighbourhood, predicted in rounds of about ``ROUND_IMAGES`` samples."""
        pixels = as_pixels(images)
        per_round = max(1, ROUND_IMAGES // int(self.params["num_samples"]))
        for start in range(0, len(pixels), per_round):
            chunk = pixels[start : start + per_round]
            segments = [segment(image, self.n_segments, self.compactness) for image in chunk]
            masks = [self.masks(int(labels.max()) + 1) for labels in segments]
            hidden = np.stack([hidden_image(image, labels, self.hide)
                               for image, labels in zip(chunk, segments)])
            probabilities = self._predict_round(chunk, hidden, np.stack(segments), masks)
            splits = np.split(probabilities, len(chunk))
            yield from (_Neighbourhood(*parts) for parts in zip(segments, masks, splits))

    def _predict_round(self, images: np.ndarray, hidden: np.ndarray, segments: np.ndarray,
                       masks: list[np.ndarray]) -> np.ndarray:
        """Probabilities (sum of n_i, K) for every mask row of every image in the round."""
        width = max(mask.shape[1] for mask in masks)
        padded = np.ones((sum(len(mask) for mask in masks), width), dtype=bool)
        owners = np.repeat(np.arange(len(masks), dtype=np.int32), [len(m) for m in masks])
        row = 0
        for mask in masks:
            padded[row : row + len(mask), : mask.shape[1]] = mask
            row += len(mask)
        EVALUATIONS.forward += len(padded)
        constants = [tf.constant(images), tf.constant(hidden, tf.float32),
                     tf.constant(segments, tf.int32)]
        chunks = [
            self._predict(*constants, tf.constant(padded[start : start + self.batch_size]),
                          tf.constant(owners[start : start + self.batch_size])).numpy()
            for start in range(0, len(padded), self.batch_size)
        ]
        return np.concatenate(chunks, axis=0)

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 superpixel weights.

        Weights are in probability units: the fitted change in p(target) when the
        superpixel is shown rather than hidden. Each fit's R^2 is appended to ``fit_scores``.
        """
        classes = as_targets(targets, len(images))
        maps, scores = self.explain_classes_per_image(images, classes[:, None])
        self.fit_scores.extend(scores[:, 0].tolist())
        return maps[:, 0]

    def explain_classes(self, images: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """(N, h, w), (C,) → (N, C, h, w): every class fitted on the same perturbations."""
        per_image = np.tile(np.asarray(classes, np.int32), (len(images), 1))
        return self.explain_classes_per_image(images, per_image)[0]

    def explain_classes_per_image(
        self, images: np.ndarray, classes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, h, w), (N, C) classes per image → (N, C, h, w) float32 maps, (N, C) fit R^2."""
        maps = np.zeros((len(images), classes.shape[1], *np.shape(images)[1:]), np.float32)
        scores = np.zeros(classes.shape)
        for index, hood in enumerate(self.neighbourhoods(images)):
            for column, label in enumerate(classes[index]):
                weights, scores[index, column] = fit_weights(
                    hood.masks, hood.probabilities, int(label), self.kernel_width,
                    self.feature_selection, seed=self.seed)
                maps[index, column] = weights[hood.segments]
        return maps, scores

    def diagnostics(
        self, images: np.ndarray, targets: np.ndarray, maps: np.ndarray
    ) -> dict[str, float]:
        """Superpixel counts per image (mean, min, max); median R^2 of explain()'s fits so far."""
        counts = np.array([int(labels.max()) + 1 for labels in self.segments(images)])
        if len(counts) == 0:
            return {}
        result = {"segments_mean": float(counts.mean()), "segments_min": float(counts.min()),
                  "segments_max": float(counts.max())}
        if self.fit_scores:
            result["fit_r2_median"] = float(np.median(self.fit_scores))
        return result
