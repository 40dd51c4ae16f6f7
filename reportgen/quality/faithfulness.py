"""Faithfulness: deletion and insertion curves (Petsiuk et al., 2018, "RISE").

A faithful map ranks first the pixels the model relies on (by |map|, see ``ranks``).
*Deletion* replaces pixels with a baseline in that order, most important first, and records
p(target) after each step: the faster it falls, the lower the area under the curve (AUC) and
the better. *Insertion* starts from the baseline and restores pixels in the same order: the
faster p(target) recovers, the higher the AUC. Both are compared with random maps' curves.

Baseline (documented choice): ``"blur"``, a Gaussian blur with sigma = 4 px, strong enough
on a 48x48 face to erase the eye, brow and mouth shapes that carry an expression while
keeping the face's overall tone, so the curves measure the removal of information rather
than a change in brightness (to which a FER model may react on its own). ``"mean"``, every
removed pixel set to the image's mean grey, is the alternative.

Random maps are Gaussian-smoothed white noise (sigma ``RANDOM_GRAIN`` px), so a method is
compared with an uninformed map of a grain like its own, not with salt-and-pepper noise.
Ties (LIME superpixels, Grad-CAM's zero regions) are broken at random, seeded, so that no
method gains from the image's pixel order. Hand-written rather than taken from Quantus (not
a dependency): its pixel flipping calls the model once per step of each image, thousands of
~35 ms calls here, where this predicts every step of every case and map in large batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.ndimage import gaussian_filter

from reportgen.loading.model import Classifier
from reportgen.progress import Advance
from reportgen.quality.ranks import importance

Baseline = Literal["blur", "mean"]

BLUR_SIGMA = 4.0  # px on a 48x48 face; see the module docstring
N_STEPS = 12  # curve points after the start: 8.3% of the pixels per step
RANDOM_GRAIN = 3.0  # px, smoothing of the random maps
ROUND_IMAGES = 8192  # perturbed images per round of predictions (~75 MB of 48x48 float32)


@dataclass(frozen=True)
class Curves:
    """p(target) along the deletion and insertion paths of M cases, (M, S+1) each, in 0–1."""

    deletion: np.ndarray
    insertion: np.ndarray
    fractions: np.ndarray  # (S+1,) share of pixels removed (or restored), 0 to 1

    def deletion_aucs(self) -> np.ndarray:
        """(M,) area under each deletion curve, 0–1 (lower is better)."""
        return np.trapezoid(self.deletion, self.fractions, axis=1)

    def insertion_aucs(self) -> np.ndarray:
        """(M,) area under each insertion curve, 0–1 (higher is better)."""
        return np.trapezoid(self.insertion, self.fractions, axis=1)


@dataclass(frozen=True)
class FaithfulnessResult:
    """Curves of every method and of the random maps, over the same M cases."""

    baseline: Baseline
    n_steps: int
    curves: dict[str, Curves]  # method → curves
    random: Curves

    def margins(self, method: str) -> np.ndarray:
        """(M,) per-case faithfulness: the mean of the deletion margin (random AUC − method
        AUC) and the insertion margin (method AUC − random AUC), in probability units.

        Positive: the map locates the model's evidence better than a random map does.
        """
        curves = self.curves[method]
        deletion = self.random.deletion_aucs() - curves.deletion_aucs()
        insertion = curves.insertion_aucs() - self.random.insertion_aucs()
        return (deletion + insertion) / 2.0


def baseline_images(images: np.ndarray, baseline: Baseline,
                    sigma: float = BLUR_SIGMA) -> np.ndarray:
    """(N, h, w) pixels 0–255 → (N, h, w) float32 images that stand for "nothing here"."""
    pixels = np.asarray(images, dtype=np.float32)
    if baseline == "mean":
        return np.broadcast_to(pixels.mean(axis=(1, 2), keepdims=True), pixels.shape).copy()
    if baseline == "blur":
        return gaussian_filter(pixels, sigma=(0, sigma, sigma), mode="nearest").astype(np.float32)
    raise ValueError(f"unknown faithfulness baseline {baseline!r} (use 'blur' or 'mean')")


def pixel_ranks(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, h, w) importance → (N, h*w) int rank of each pixel, 0 = most important.

    Ties are broken by a random key drawn from ``rng``.
    """
    flat = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    ranks = np.empty(flat.shape, dtype=np.int32)
    positions = np.arange(flat.shape[1], dtype=np.int32)
    for row, values in enumerate(flat):
        order = np.lexsort((rng.random(len(values)), -values))
        ranks[row, order] = positions
    return ranks


def random_maps(n_maps: int, shape: tuple[int, int], rng: np.random.Generator,
                grain: float = RANDOM_GRAIN) -> np.ndarray:
    """(n_maps, h, w) float64 smooth random maps (white noise blurred by ``grain`` px)."""
    noise = rng.normal(size=(n_maps, *shape))
    return gaussian_filter(noise, sigma=(0, grain, grain)) if grain > 0 else noise


def path_images(image: np.ndarray, fill: np.ndarray, ranks: np.ndarray,
                counts: np.ndarray) -> np.ndarray:
    """Inner points of the deletion and insertion paths of one image, for R orderings.

    ``image``, ``fill`` (P,) flat pixels; ``ranks`` (R, P); ``counts`` (S-1,) pixels switched
    at each inner step → (R, 2, S-1, P) float32: [:, 0] deletion, [:, 1] insertion.
    """
    switched = ranks[:, None, :] < counts[None, :, None]  # (R, S-1, P)
    deletion = np.where(switched, fill, image)
    insertion = np.where(switched, image, fill)
    return np.stack([deletion, insertion], axis=1).astype(np.float32)


def measure_faithfulness(
    classifier: Classifier,
    images: np.ndarray,
    targets: np.ndarray,
    maps: Mapping[str, np.ndarray],
    baseline: Baseline = "blur",
    n_steps: int = N_STEPS,
    n_random: int = 1,
    seed: int = 0,
    batch_size: int | None = None,
    advance: Advance | None = None,
    blur_sigma: float = BLUR_SIGMA,
    random_grain: float = RANDOM_GRAIN,
) -> FaithfulnessResult:
    """Deletion and insertion curves for every method's maps and for ``n_random`` random maps.

    ``images`` (M, h, w) 0–255, ``targets`` (M,) the explained classes, ``maps`` method →
    (M, h, w). Every curve point of every case is predicted in large batches; about
    M * (2 + 2 * (n_steps - 1) * (methods + n_random)) images in all.
    ``advance(n)`` is called after each round with the number of cases done.
    Raises ValueError when ``n_random`` < 1: the curves mean nothing without the baseline.
    """
    if n_random < 1:
        raise ValueError("faithfulness needs at least one random map (n_random >= 1)")
    methods = list(maps)
    pixels = np.asarray(images, dtype=np.float32)
    rng = np.random.default_rng(seed)
    scores = [importance(maps[m]) for m in methods]
    scores += [random_maps(len(pixels), pixels.shape[1:], rng, random_grain)
               for _ in range(n_random)]
    ranks = np.stack([pixel_ranks(s, rng) for s in scores], axis=1)  # (M, R, P)
    fills = baseline_images(pixels, baseline, blur_sigma)
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    counts = np.round(fractions[1:-1] * pixels[0].size).astype(np.int32)
    probs = np.zeros((len(pixels), len(scores), 2, n_steps + 1))
    per_round = max(1, ROUND_IMAGES // (2 + 2 * len(scores) * len(counts)))
    for start in range(0, len(pixels), per_round):
        part = range(start, min(len(pixels), start + per_round))
        probs[part.start : part.stop] = _predict_paths(
            classifier, pixels, fills, ranks, counts, np.asarray(targets), part, batch_size)
        if advance is not None:
            advance(len(part))
    curves = {m: Curves(probs[:, r, 0], probs[:, r, 1], fractions) for r, m in enumerate(methods)}
    randoms = probs[:, len(methods):].mean(axis=1)
    random = Curves(randoms[:, 0], randoms[:, 1], fractions)
    return FaithfulnessResult(baseline, n_steps, curves, random)


def _predict_paths(classifier: Classifier, pixels: np.ndarray, fills: np.ndarray,
                   ranks: np.ndarray, counts: np.ndarray, targets: np.ndarray, part: range,
                   batch_size: int | None) -> np.ndarray:
    """p(target) on both paths of the cases in ``part`` → (len(part), R, 2, S+1)."""
    n_orders, shape = ranks.shape[1], pixels.shape[1:]
    stacks = []
    for i in part:
        image, fill = pixels[i].ravel(), fills[i].ravel()
        inner = path_images(image, fill, ranks[i], counts).reshape(-1, image.size)
        stacks.append(np.concatenate([image[None], fill[None], inner]))
    batch = np.concatenate(stacks).reshape(-1, *shape)
    chosen = np.repeat(targets[part.start : part.stop], len(stacks[0]))
    scores = classifier.predict(batch, batch_size=batch_size)[np.arange(len(batch)), chosen]
    scores = scores.reshape(len(part), -1)
    full, empty = scores[:, :1, None], scores[:, 1:2, None]
    inner = scores[:, 2:].reshape(len(part), n_orders, 2, len(counts))
    deletion = np.concatenate([np.repeat(full, n_orders, 1), inner[:, :, 0],
                               np.repeat(empty, n_orders, 1)], axis=2)
    insertion = np.concatenate([np.repeat(empty, n_orders, 1), inner[:, :, 1],
                                np.repeat(full, n_orders, 1)], axis=2)
    return np.stack([deletion, insertion], axis=2)
