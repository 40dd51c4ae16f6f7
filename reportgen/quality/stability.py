"""Stability of the stochastic methods (``Explainer.stochastic``) across seeds.

The same cases are explained again with other seeds (LIME draws other perturbations, SHAP
breaks ties differently) and every pair of seeds is compared by the Jaccard overlap of the
maps' top regions (the top 10% of pixels by |map|, ties kept whole, so for LIME whole
superpixels) and by the Spearman rank correlation of the whole maps. A method a reader can
rely on gives about the same picture whatever the seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from reportgen.attributions.settings import AttributionSettings
from reportgen.loading.model import Classifier
from reportgen.progress import Advance
from reportgen.quality.ranks import (
    TOP_FRACTION,
    importance,
    jaccard_rows,
    top_regions,
)
from reportgen.stats import spearman_rows


@dataclass(frozen=True)
class StabilityResult:
    """Per method, the mean over seed pairs and checked cases; ``positions`` method → (n,)
    the cases checked."""

    seeds: tuple[int, ...]
    positions: dict[str, np.ndarray]
    jaccard: dict[str, float]
    spearman: dict[str, float]


def seed_agreement(runs: Sequence[np.ndarray],
                   top_fraction: float = TOP_FRACTION) -> tuple[float, float]:
    """Maps of the same cases under several seeds, each (n, h, w) → (mean Jaccard of the top
    regions, mean Spearman), over every pair of seeds and every case."""
    scores = [importance(run) for run in runs]
    jaccards, rhos = [], []
    for first, second in combinations(scores, 2):
        jaccards.append(jaccard_rows(top_regions(first, top_fraction),
                                     top_regions(second, top_fraction)))
        rhos.append(spearman_rows(first, second))
    if not jaccards:
        return float("nan"), float("nan")
    return float(np.concatenate(jaccards).mean()), float(np.concatenate(rhos).mean())


def measure_stability(
    classifier: Classifier,
    images: np.ndarray,
    targets: np.ndarray,
    maps: Mapping[str, np.ndarray],
    methods: Sequence[str],
    positions: np.ndarray,
    settings: AttributionSettings | None = None,
    n_seeds: int = 2,
    advance: Advance | None = None,
    top_fraction: float = TOP_FRACTION,
) -> StabilityResult:
    """Re-explain ``positions`` of the M cases with ``n_seeds - 1`` further seeds per method.

    Explainers are built from ``settings`` (the attribution stage's), with seeds
    ``settings.seed + 1, ...``; ``maps`` method → (M, h, w) holds the run with
    ``settings.seed`` itself, which is reused. ``advance(n)`` counts re-explained images.
    """
    settings = settings or AttributionSettings()
    seed = settings.seed
    pixels = np.asarray(images, dtype=np.float32)[positions]
    chosen = np.asarray(targets, dtype=np.int32)[positions]
    seeds = tuple(seed + k for k in range(n_seeds))
    jaccard, spearman = {}, {}
    for method in methods:
        runs = [np.asarray(maps[method])[positions]]
        for other in seeds[1:]:
            explainer = settings.build(method, classifier, seed=other)
            runs.append(explainer.explain(pixels, chosen))
            if advance is not None:
                advance(len(positions))
        jaccard[method], spearman[method] = seed_agreement(runs, top_fraction)
    return StabilityResult(seeds, {m: np.asarray(positions) for m in methods}, jaccard, spearman)
