"""Decide how pixels are scaled for a model whose expected input range is unknown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.loading.model import Classifier, InputScale, LoadedModel

CANDIDATES = (InputScale.RAW, InputScale.UNIT, InputScale.SYMMETRIC)
MAX_PROBE_IMAGES = 700


@dataclass(frozen=True)
class ScaleDecision:
    scale: InputScale
    reason: str
    accuracies: dict[str, float]  # candidate scale value → accuracy on the probe subset
    n_probe_images: int


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` images, an equal share per class where classes allow."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    share = max(limit // max(len(classes), 1), 1)
    picked = [rng.permutation(np.flatnonzero(labels == k))[:share] for k in classes]
    return np.sort(np.concatenate(picked))[:limit]


def resolve_scale(
    model: LoadedModel,
    requested: InputScale,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    batch_size: int,
    score_all: bool = True,
) -> ScaleDecision:
    """Score all three candidate scalings on a stratified subset and apply the `auto` rule.

    `auto`: 0–255 when the model has its own Rescaling/Normalization layer, else the candidate
    with the best accuracy on the subset. An explicit choice is kept but still scored.
    """
    if not score_all and (requested is not InputScale.AUTO or model.has_rescaling):
        # gate: the answer does not depend on the scores, so skip the three extra passes.
        chosen = InputScale.RAW if requested is InputScale.AUTO else requested
        reason = ("set by --input-scale" if requested is not InputScale.AUTO else
                  "auto: the model has its own Rescaling/Normalization layer, so raw 0–255 pixels go in")
        return ScaleDecision(chosen, reason, {}, 0)
    subset = stratified_subset(labels, MAX_PROBE_IMAGES, seed)
    pixels = images[subset]
    accuracies = {}
    for scale in CANDIDATES:
        classifier = Classifier(model, images.shape[1:3], scale, batch_size=batch_size)
        preds = classifier.predict(pixels).argmax(axis=1)
        accuracies[scale.value] = float((preds == labels[subset]).mean())
    if requested is not InputScale.AUTO:
        return ScaleDecision(requested, "set by --input-scale", accuracies, len(subset))
    if model.has_rescaling:
        reason = "auto: the model has its own Rescaling/Normalization layer, so raw 0–255 pixels go in"
        return ScaleDecision(InputScale.RAW, reason, accuracies, len(subset))
    best = max(CANDIDATES, key=lambda scale: accuracies[scale.value])
    reason = f"auto: best accuracy of the three scalings on {len(subset)} stratified images"
    return ScaleDecision(best, reason, accuracies, len(subset))
