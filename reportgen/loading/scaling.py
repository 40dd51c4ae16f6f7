"""Decide how pixels are scaled for a model whose expected input range is unknown.

Two signals, because accuracy alone cannot tell the scalings apart on real models (0–1 and
-1–1 differ by a handful of images on a few hundred):

- **Likelihood**: the mean log-probability of the true labels under each candidate, over all
  images (or ``MAX_PROBE_IMAGES`` stratified ones), with a paired test of the best two: the
  per-image differences must be clearly above zero (``MIN_PAIRED_Z`` standard errors).
- **BatchNorm statistics** (label-free): the first BatchNormalization layer stores the mean
  and variance of its inputs as seen in training; the candidate whose activations there
  match them best (smallest median per-channel KL divergence) is the one the model was
  trained with. Clear when the runner-up is ``MIN_BN_RATIO`` times further away.

``auto`` takes the likelihood's choice when it is clear; when it is not, a clear BatchNorm
choice; and warns (naming ``--input-scale``) when the signals disagree or neither is clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportgen.loading.batchnorm import BatchNormSignal, batchnorm_signal
from reportgen.loading.model import Classifier, InputScale, LoadedModel, looks_like_probabilities
from reportgen.numbers import round_finite

CANDIDATES = (InputScale.RAW, InputScale.UNIT, InputScale.SYMMETRIC)
MAX_PROBE_IMAGES = 5000  # every image up to this many; beyond, a stratified subset
MIN_PAIRED_Z = 3.0  # mean paired log-likelihood gap of the best two, in standard errors
LOG_FLOOR = 1e-12  # probabilities below this (or NaN) count as this, so one image cannot be -inf
RESCALING_REASON = ("auto: the model has its own Rescaling/Normalization layer, so raw 0–255 "
                    "pixels go in")


@dataclass(frozen=True)
class PairedGap:
    """The best two candidates by likelihood and how far apart they are, image by image."""

    best: str
    second: str
    mean_gap: float  # mean of log p_best(true) - log p_second(true), nats per image
    z: float  # mean_gap / its standard error (inf when every image agrees exactly)

    @property
    def clear(self) -> bool:
        return bool(self.z >= MIN_PAIRED_Z)


@dataclass(frozen=True)
class ScaleDecision:
    scale: InputScale
    reason: str
    accuracies: dict[str, float]  # candidate scale value → accuracy on the probe images
    n_probe_images: int
    log_likelihoods: dict[str, float] = field(default_factory=dict)  # mean log p(true label)
    paired: PairedGap | None = None
    batchnorm: BatchNormSignal | None = None
    warning: str | None = None  # set when the choice is uncertain; names --input-scale

    def to_summary(self) -> dict[str, Any]:
        """``model.input_scale_detection`` in summary.json (floats rounded, inf as null)."""
        paired, batchnorm = self.paired, self.batchnorm
        return {
            "n_images": self.n_probe_images,
            "log_likelihoods": {k: round_finite(v) for k, v in self.log_likelihoods.items()},
            "paired": None if paired is None else {
                "best": paired.best, "second": paired.second,
                "mean_gap": round_finite(paired.mean_gap), "z": round_finite(paired.z),
                "clear": paired.clear, "min_z": MIN_PAIRED_Z},
            "batchnorm": None if batchnorm is None else {
                "layer": batchnorm.layer, "choice": batchnorm.choice, "clear": batchnorm.clear,
                "distances": {k: round_finite(v) for k, v in batchnorm.distances.items()}},
            "warning": self.warning,
        }


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` images, an equal share per class where classes allow."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    share = max(limit // max(len(classes), 1), 1)
    picked = [rng.permutation(np.flatnonzero(labels == k))[:share] for k in classes]
    chosen = np.concatenate(picked)
    rest = np.setdiff1d(np.arange(len(labels)), chosen)  # fill up from the larger classes
    extra = rng.permutation(rest)[: max(0, limit - len(chosen))]
    return np.sort(np.concatenate([chosen, extra]))[:limit]


def log_likelihoods(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, K) model outputs (probabilities or logits) → (N,) log p(true label), floored."""
    outputs = np.asarray(outputs, np.float64)
    if not looks_like_probabilities(outputs):
        shifted = outputs - np.nanmax(outputs, axis=1, keepdims=True)
        outputs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    chosen = outputs[np.arange(len(labels)), labels]
    return np.log(np.maximum(np.nan_to_num(chosen, nan=0.0), LOG_FLOOR))


def paired_gap(scores: dict[str, np.ndarray]) -> PairedGap:
    """The best two candidates by mean log-likelihood and their paired z statistic."""
    best, second = sorted(scores, key=lambda name: -float(np.mean(scores[name])))[:2]
    gaps = scores[best] - scores[second]
    mean = float(gaps.mean())
    spread = float(gaps.std(ddof=1)) if len(gaps) > 1 else 0.0
    if spread > 0:
        z = mean / (spread / np.sqrt(len(gaps)))
    else:
        z = float("inf") if mean > 0 else 0.0
    return PairedGap(best, second, mean, float(z))


def resolve_scale(
    model: LoadedModel,
    requested: InputScale,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    batch_size: int,
    score_all: bool = True,
) -> ScaleDecision:
    """Score the three candidate scalings and apply the ``auto`` rule (see the module doc).

    ``auto``: 0–255 when the model has its own Rescaling/Normalization layer, else the
    decision above. An explicit choice is kept but still scored.
    """
    if not score_all and (requested is not InputScale.AUTO or model.has_rescaling):
        # gate: the answer does not depend on the scores, so skip the three extra passes.
        chosen = InputScale.RAW if requested is InputScale.AUTO else requested
        reason = "set by --input-scale" if requested is not InputScale.AUTO else RESCALING_REASON
        return ScaleDecision(chosen, reason, {}, 0)
    subset = stratified_subset(labels, MAX_PROBE_IMAGES, seed)
    pixels, truth = images[subset], np.asarray(labels)[subset]
    accuracies, scores = {}, {}
    for scale in CANDIDATES:
        classifier = Classifier(model, images.shape[1:3], scale, batch_size=batch_size)
        outputs = classifier.predict(pixels)
        accuracies[scale.value] = float((outputs.argmax(axis=1) == truth).mean())
        scores[scale.value] = log_likelihoods(outputs, truth)
    means = {name: float(values.mean()) for name, values in scores.items()}
    paired = paired_gap(scores)
    scored: dict[str, Any] = {"accuracies": accuracies, "n_probe_images": len(subset),
                              "log_likelihoods": means, "paired": paired}
    if requested is not InputScale.AUTO:
        return ScaleDecision(requested, "set by --input-scale", **scored)
    if model.has_rescaling:
        return ScaleDecision(InputScale.RAW, RESCALING_REASON, **scored)
    batchnorm = batchnorm_signal(model, images, labels, seed, batch_size, CANDIDATES)
    chosen, reason, warning = decide_scale(paired, batchnorm, len(subset))
    return ScaleDecision(InputScale(chosen), reason, **scored, batchnorm=batchnorm,
                         warning=warning)


def decide_scale(paired: PairedGap, batchnorm: BatchNormSignal | None,
            n_images: int) -> tuple[str, str, str | None]:
    """(chosen scale value, reason, warning or None) from the two signals."""
    likelihood = (f"mean log-likelihood of the true labels on {n_images} images: {paired.best} "
                  f"beats {paired.second} by {paired.mean_gap:.3f} nats per image "
                  f"(paired z = {paired.z:.1f})")
    bn_clear = batchnorm is not None and batchnorm.clear
    if paired.clear:
        if bn_clear and batchnorm is not None and batchnorm.choice != paired.best:
            return paired.best, f"auto: {likelihood}", (
                f"input scale: the likelihood chose {paired.best} but the statistics of "
                f"BatchNorm layer '{batchnorm.layer}' point to {batchnorm.choice}; kept "
                f"{paired.best}. Check it, and set --input-scale if it is wrong.")
        agree = (f"; BatchNorm layer '{batchnorm.layer}' agrees" if bn_clear and batchnorm
                 else "")
        return paired.best, f"auto: {likelihood}{agree}", None
    if bn_clear and batchnorm is not None:
        return batchnorm.choice, (
            f"auto: the statistics of BatchNorm layer '{batchnorm.layer}' match "
            f"{batchnorm.choice} best; the likelihood could not tell the scalings apart "
            f"({likelihood})"), (
            f"input scale: the likelihood cannot tell {paired.best} from {paired.second} "
            f"(paired z = {paired.z:.1f} < {MIN_PAIRED_Z:g}); chose {batchnorm.choice} from the "
            f"BatchNorm statistics alone. Set --input-scale if you know the model's scaling.")
    return paired.best, f"auto: {likelihood}; no clear second signal", (
        f"input scale is ambiguous: {paired.best} and {paired.second} fit about equally well "
        f"(paired z = {paired.z:.1f} < {MIN_PAIRED_Z:g}) and no BatchNorm layer decides; chose "
        f"{paired.best}. Set --input-scale to the scaling the model was trained with.")
