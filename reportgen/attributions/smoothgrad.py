"""SmoothGrad (Smilkov et al., 2017) with an adaptive number of noise samples per image.

The noise is drawn once from ``seed`` (``n_samples`` rows, the cap) and every image uses its
rows in order, so an image's map depends only on the image and how many rows it used, never
on the batch it was explained in.

Stopping rule (per image, in rounds of ``round_samples`` after a floor of ``min_samples``):
the even-numbered and odd-numbered samples are two independent halves; the Spearman rank
correlation ρ of their |mean gradient| maps is corrected by Spearman–Brown, 2ρ / (1 + ρ), to
the agreement of two whole runs of the same n with different seeds (the seed-to-seed figure
the quality stage measures). The image stops once that reaches ``target``, or at the cap.
A per-class mean map (``explain_mean``) samples its images together and stops once the two
halves' *mean* |maps| predict ``mean_target``. With ``exhaustive`` every image uses the cap,
as the fixed-n method did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reportgen.attributions.base import as_pixels, as_targets
from reportgen.attributions.gradients import PIXEL_RANGE, _GradientExplainer
from reportgen.loading.model import Classifier
from reportgen.stats import spearman_rows

FIXED_SAMPLES = 300  # every image's n with ``exhaustive``
MAX_SAMPLES = 400  # the adaptive rule's cap


def spearman_brown(half_correlations: np.ndarray) -> np.ndarray:
    """(N,) correlation of two half-size runs → (N,) predicted correlation of two full runs."""
    rho = np.asarray(half_correlations, dtype=np.float64)
    return np.where(rho > -1.0, 2.0 * rho / np.maximum(1.0 + rho, 1e-12), -1.0)


@dataclass
class _Halves:
    """Running sums of the even- and odd-numbered samples' gradients of N images."""

    even: np.ndarray  # (N, h, w) float64
    odd: np.ndarray  # (N, h, w) float64
    used: np.ndarray = field(init=False)  # (N,) samples used so far

    def __post_init__(self) -> None:
        self.used = np.zeros(len(self.even), dtype=np.int64)

    def agreement(self, rows: np.ndarray) -> np.ndarray:
        """(R,) split-half Spearman ρ of |mean map| for ``rows`` (ranks ignore the scale, so
        the sums stand for the means)."""
        return spearman_rows(np.abs(self.even[rows]), np.abs(self.odd[rows]))

    def pooled(self, rows: np.ndarray) -> np.ndarray:
        """(R,) the split-half ρ of the mean |map| over ``rows``, repeated for each row."""
        rho = spearman_rows(np.abs(self.even[rows]).mean(axis=0)[None],
                            np.abs(self.odd[rows]).mean(axis=0)[None])
        return np.repeat(rho, len(rows))

    def maps(self) -> np.ndarray:
        """(N, h, w) float32 mean gradient over each image's used samples."""
        total = (self.even + self.odd) / np.maximum(self.used, 1)[:, None, None]
        return total.astype(np.float32)


class SmoothGradExplainer(_GradientExplainer):
    """SmoothGrad: the gradient averaged over noisy copies, sampled until stable.

    ``noise`` is sigma as a fraction of the 0–255 input range (0.10 → 25.5 grey levels).
    ``n_samples`` is the cap (default ``MAX_SAMPLES``; with ``exhaustive``, the fixed n of
    every image, default ``FIXED_SAMPLES`` as before the adaptive rule); ``min_samples`` the
    floor, ``round_samples`` the step and ``target`` the predicted seed-to-seed rank
    correlation at which an image stops (see the module docstring), ``mean_target`` the same
    for the mean map of a group (``explain_mean``); ``exhaustive`` uses the cap for every image. ``samples_used`` and ``agreements`` record, per explained image in
    order, the n used and the split-half ρ reached.

    Why the fixed n was 300 (σ = 10%): on the demo faces (40 images, seeds 0 and 1) the
    per-image rank correlation of |map| is 0.41 at n=50, σ=15%, 0.78 at n=500, σ=15%, and 0.82
    at n=300, σ=10% (min 0.72). Antithetic noise pairs gained only 0.02.

    Why the adaptive cap is 400: with a cap of 300, 84% of the demo audit's images stopped at
    the cap and the quality stage measured a seed-to-seed ρ of 0.800 (0.783 on PublicTest),
    at the edge of the 0.8 the report promises. On 60 demo faces (seeds 0 and 1, target 0.85)
    a cap of 300 used 280 samples on average for a measured ρ of 0.805 (min 0.67); a cap of
    400 used 331 for 0.823 (min 0.72).

    Why ``target`` is 0.85: on 40 other demo faces (seeds 0 and 1, 300 samples each) the
    split-half ρ at n=300 is 0.71 (predicted seed-to-seed 0.83, measured 0.81): these maps
    do not settle well before the cap. Stopping at a prediction of 0.80 used 238 samples on
    average but the measured seed-to-seed ρ fell to 0.78; at 0.85 it used 285 and kept 0.80.
    A class's mean map over 10 faces predicts 0.92 at n=50 and 0.95 at n=100 (measured
    against another seed's n=300 mean: 0.93 and 0.95), hence ``mean_target`` 0.95.
    """

    name = "smoothgrad"
    title = "SmoothGrad"
    display = "magnitude"
    stochastic = True
    adaptive = True

    def __init__(self, classifier: Classifier, batch_size: int | None = None, seed: int = 0,
                 n_samples: int | None = None, noise: float = 0.10, target: float = 0.85,
                 min_samples: int = 50, round_samples: int = 50, mean_target: float = 0.95,
                 exhaustive: bool = False) -> None:
        super().__init__(classifier, batch_size, seed)
        cap = int(n_samples if n_samples is not None
                  else FIXED_SAMPLES if exhaustive else MAX_SAMPLES)
        floor = cap if exhaustive else min(cap, _even(min_samples))
        self.params = {"n_samples": cap, "noise": float(noise)}
        if not exhaustive:
            self.params.update(target=float(target), mean_target=float(mean_target),
                               min_samples=floor, round_samples=_even(round_samples))
        self.floor, self.exhaustive = floor, bool(exhaustive)
        self.samples_used: list[int] = []
        self.agreements: list[float] = []

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 mean noisy gradients."""
        pixels = as_pixels(images)
        halves, reached = self._sample(pixels, as_targets(targets, len(pixels)),
                                       _Halves.agreement, float(self.params.get("target", 2.0)))
        self.samples_used.extend(halves.used.tolist())
        self.agreements.extend(reached.tolist())
        return halves.maps()

    def explain_mean(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (h, w) float32 mean |map| over the N images.

        The images are sampled together until the split-half agreement of their *mean* |map|
        reaches ``mean_target`` (Spearman–Brown, as per image): a mean over several faces
        is stable with fewer samples per face than any one face's map.
        """
        pixels = as_pixels(images)
        if len(pixels) == 0:
            return np.zeros(pixels.shape[1:], np.float32)
        halves, _ = self._sample(pixels, as_targets(targets, len(pixels)), _Halves.pooled,
                                 float(self.params.get("mean_target", 2.0)))
        return np.abs(halves.maps()).mean(axis=0).astype(np.float32)

    def _sample(self, pixels: np.ndarray, classes: np.ndarray,
                agreement: Callable[[_Halves, np.ndarray], np.ndarray],
                target: float) -> tuple[_Halves, np.ndarray]:
        """Rounds of samples until ``agreement(halves, active rows)`` (R,) split-half ρ
        predicts ``target`` or the cap is reached → (the sums, (N,) ρ reached)."""
        cap = int(self.params["n_samples"])
        sigma = float(self.params["noise"]) * PIXEL_RANGE
        shape = (cap, *self.classifier.image_size)
        noise = np.random.default_rng(self.seed).normal(0.0, sigma, shape).astype(np.float32)
        halves = _Halves(np.zeros(pixels.shape), np.zeros(pixels.shape))
        active, reached = np.arange(len(pixels)), np.full(len(pixels), np.nan)
        step = int(self.params.get("round_samples", cap))
        while len(active):
            start = int(halves.used[active[0]])  # the active rows move in step
            stop = min(cap, max(self.floor, start + step))
            self._add_round(pixels[active], classes[active], noise[start:stop], halves, active)
            rho = agreement(halves, active) if stop >= 2 else np.zeros(len(active))
            done = (spearman_brown(rho) >= target) | (stop >= cap)
            reached[active[done]] = rho[done]
            active = active[~done]
        return halves, reached

    def _add_round(self, pixels: np.ndarray, classes: np.ndarray, noise: np.ndarray,
                   halves: _Halves, rows: np.ndarray) -> None:
        """Add the gradients at ``pixels`` (R, h, w) + each of ``noise`` (S, h, w) to ``rows``.

        ``noise`` starts at an even sample number, so its even rows are the even samples.
        """
        def noisy(image: np.ndarray, eps: np.ndarray) -> np.ndarray:
            return image[None] + eps

        for part, sums in ((noise[0::2], halves.even), (noise[1::2], halves.odd)):
            if len(part):
                sums[rows] += self._sampled(pixels, classes, part, noisy) * len(part)
        halves.used[rows] += len(noise)

    def diagnostics(
        self, images: np.ndarray, targets: np.ndarray, maps: np.ndarray
    ) -> dict[str, float]:
        """Samples used per image (mean, min, max), the share that hit the cap, and the
        stability reached: split-half ρ and its Spearman–Brown seed-to-seed prediction (mean,
        min), over every image explained so far."""
        used = np.asarray(self.samples_used, dtype=np.float64)
        if len(used) == 0:
            return {}
        rho = np.asarray(self.agreements, dtype=np.float64)
        predicted = spearman_brown(rho)
        return {"samples_mean": float(used.mean()), "samples_min": float(used.min()),
                "samples_max": float(used.max()),
                "capped_share": float(np.mean(used >= int(self.params["n_samples"]))),
                "split_half_rho_mean": float(rho.mean()),
                "stability_mean": float(predicted.mean()),
                "stability_min": float(predicted.min())}


def _even(value: int) -> int:
    """The nearest even number >= 2 at or above ``value``: halves need equal sizes."""
    return max(2, int(value) + int(value) % 2)
