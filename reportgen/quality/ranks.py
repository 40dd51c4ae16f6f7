"""Shared map arithmetic: importance scores and top-region overlap (per-image rank
correlations, which the attribution stage also uses, are ``reportgen.stats.spearman_rows``).

Every quality measure compares maps through the same *importance* score, |map|: how strongly
a map marks a pixel, whichever way. The sign is left out because each method measures it
against its own reference (Integrated Gradients against a black image, LIME against the
image mean, SHAP against its own blur), none of which is the faithfulness baseline or the
other methods' reference, so only the magnitude is comparable across methods.
"""

from __future__ import annotations

import numpy as np

from reportgen.attributions.registry import REGISTRY

TOP_FRACTION = 0.10  # share of pixels that makes up a map's "top region"


def title_of(method: str) -> str:
    """The method's report title, or its name when it is not in the registry."""
    explainer = REGISTRY.get(method)
    return explainer.title if explainer is not None else method


def importance(maps: np.ndarray) -> np.ndarray:
    """(N, h, w) signed maps → (N, h, w) float64 importance |map| >= 0."""
    return np.abs(np.asarray(maps, dtype=np.float64))


def top_regions(scores: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """(N, h, w) importance → (N, h, w) bool: pixels at or above each map's top-``fraction`` cut.

    Ties at the cut are kept whole, so a superpixel map's top region is whole superpixels.
    A constant map has no top region (all False).
    """
    flat = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    keep = max(1, round(fraction * flat.shape[1]))
    cuts = -np.sort(-flat, axis=1)[:, keep - 1 : keep] if flat.size else flat[:, :1]
    varied = flat.max(axis=1, keepdims=True) > flat.min(axis=1, keepdims=True)
    return ((flat >= cuts) & varied).reshape(np.shape(scores))


def jaccard_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N, h, w) bool and (N, h, w) bool → (N,) |A ∩ B| / |A ∪ B| (1 when both are empty)."""
    a = np.asarray(first, bool).reshape(len(first), -1)
    b = np.asarray(second, bool).reshape(len(second), -1)
    union = (a | b).sum(axis=1)
    inter = (a & b).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)
