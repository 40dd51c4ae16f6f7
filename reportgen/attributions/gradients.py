"""Gradient attributions: vanilla saliency and Integrated Gradients (SmoothGrad: ``smoothgrad``).

All three reduce to "gradients of the target probability at many inputs". One compiled
``tf.function`` computes them for large batches that mix samples of several images: eager
``GradientTape`` through Conv2D crashes on this project's CPU build, and one call per image
would be dominated by call overhead. Hand-written rather than taken from a library because
the libraries (tf-keras-vis, xplique) run one eager tape per batch of a single image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from reportgen.attributions.base import Explainer, as_pixels, as_targets
from reportgen.loading.model import EVALUATIONS, Classifier

PIXEL_RANGE = 255.0


def compile_gradients(classifier: Classifier) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A compiled ``(pixels (B, h, w) f32, targets (B,) int) -> (B, h, w)`` gradient function.

    The gradient is that of the target class probability with respect to 0–255 pixels.
    """
    height, width = classifier.image_size

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, height, width], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def gradients(pixels: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            scores = tf.gather(classifier.probabilities_tf(pixels), targets, batch_dims=1)
        return tape.gradient(scores, pixels)

    def run(pixels: np.ndarray, targets: np.ndarray) -> np.ndarray:
        EVALUATIONS.gradient += len(pixels)
        return gradients(tf.constant(pixels, tf.float32), tf.constant(targets, tf.int32)).numpy()

    return run


def image_groups(n_images: int, per_image: int, batch_size: int) -> Iterator[slice]:
    """Slices of images whose ``per_image`` samples together fill about one batch."""
    step = max(1, batch_size // max(1, per_image))
    for start in range(0, n_images, step):
        yield slice(start, min(n_images, start + step))


class _GradientExplainer(Explainer):
    """Shared plumbing: samples per image → one compiled gradient call per batch."""

    gradient_based = True

    def __init__(
        self, classifier: Classifier, batch_size: int | None = None, seed: int = 0
    ) -> None:
        super().__init__(classifier, batch_size, seed)
        self._gradients = compile_gradients(classifier)

    def _batched(self, pixels: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Gradients for (B, h, w) pixels, in chunks of ``batch_size``."""
        size = self.batch_size
        chunks = [
            self._gradients(pixels[start : start + size], targets[start : start + size])
            for start in range(0, len(pixels), size)
        ]
        return np.concatenate(chunks, axis=0) if chunks else np.zeros_like(pixels)

    def _sampled(self, images: np.ndarray, targets: np.ndarray, samples: np.ndarray,
                 make_inputs: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """Mean over samples of ``gradient(make_inputs(image, samples))`` per image.

        ``samples`` (S, ...) is the same for every image, so a batch gives the same maps as
        one image at a time.
        """
        pixels = as_pixels(images)
        classes = as_targets(targets, len(pixels))
        maps = np.zeros_like(pixels)
        n_samples = len(samples)
        for group in image_groups(len(pixels), n_samples, self.batch_size):
            inputs = np.concatenate([make_inputs(image, samples) for image in pixels[group]])
            grads = self._batched(inputs, np.repeat(classes[group], n_samples))
            maps[group] = grads.reshape(-1, n_samples, *pixels.shape[1:]).mean(axis=1)
        return maps


class SaliencyExplainer(_GradientExplainer):
    """Vanilla gradient (Simonyan et al., 2014): d p(target) / d pixel, signed.

    Figures show its magnitude, as keras-vis did.
    """

    name = "saliency"
    title = "Saliency (vanilla gradient)"
    display = "magnitude"

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 gradients."""
        pixels = as_pixels(images)
        return self._batched(pixels, as_targets(targets, len(pixels))).astype(np.float32)


class IntegratedGradientsExplainer(_GradientExplainer):
    """Integrated Gradients (Sundararajan et al., 2017) from a flat baseline image.

    Midpoint Riemann sum over ``steps`` points; the maps sum to about
    p(image) - p(baseline), and ``diagnostics`` reports how far off that sum is.
    """

    name = "ig"
    title = "Integrated Gradients"
    display = "signed"

    def __init__(self, classifier: Classifier, batch_size: int | None = None, seed: int = 0,
                 steps: int = 50, baseline: float = 0.0) -> None:
        super().__init__(classifier, batch_size, seed)
        self.params = {"steps": int(steps), "baseline": float(baseline)}

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32, in probability units."""
        steps = int(self.params["steps"])
        baseline = float(self.params["baseline"])
        alphas = ((np.arange(steps, dtype=np.float32) + 0.5) / steps)[:, None, None]

        def path(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
            return baseline + alpha * (image[None] - baseline)

        mean_grads = self._sampled(images, targets, alphas, path)
        return ((as_pixels(images) - baseline) * mean_grads).astype(np.float32)

    def diagnostics(
        self, images: np.ndarray, targets: np.ndarray, maps: np.ndarray
    ) -> dict[str, float]:
        """Completeness gap |sum(map) - (p(x) - p(baseline))|: median, max, and relative median."""
        pixels = as_pixels(images)
        if len(pixels) == 0:
            return {}
        classes = as_targets(targets, len(pixels))
        rows = np.arange(len(pixels))
        p_image = self.classifier.predict(pixels)[rows, classes]
        flat = np.full_like(pixels, float(self.params["baseline"]))
        p_flat = self.classifier.predict(flat)[rows, classes]
        gaps = np.abs(maps.reshape(len(pixels), -1).sum(axis=1) - (p_image - p_flat))
        relative = gaps / np.maximum(np.abs(p_image - p_flat), 1e-6)
        return {
            "completeness_gap_median": float(np.median(gaps)),
            "completeness_gap_max": float(gaps.max()),
            "completeness_gap_relative_median": float(np.median(relative)),
        }
