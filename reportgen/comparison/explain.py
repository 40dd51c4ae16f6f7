"""Explanations side by side: the same few images, each model's gradient saliency map.

The cases are the most informative disagreements (one model sure and right, another sure and
wrong) plus the image every model gets right most confidently, so a reader sees both where the
models part and where they agree. Each map explains that model's own answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.comparison.disagreement import Disagreement
from reportgen.loading.model import Classifier

METHOD = "saliency"
N_DISAGREEMENT_CASES = 3


@dataclass(frozen=True)
class SideBySideMaps:
    """maps: (M, C, h, w) float32, model × case; targets: (M, C) the class each map explains."""

    method: str
    indices: np.ndarray  # (C,) image indices into the data set
    kinds: tuple[str, ...]  # (C,) "disagreement" or "confident agreement"
    maps: np.ndarray
    targets: np.ndarray

    def to_summary(self, sources: Sequence[str]) -> dict:
        """``sources``: the cases' image ids, in case order."""
        return {"method": self.method,
                "cases": [{"source": s, "kind": k} for s, k in zip(sources, self.kinds)]}


def explanation_cases(disagreement: Disagreement, probs: Sequence[np.ndarray],
                      labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """(C,) image indices and their kinds: the top disagreements, then the most confident
    image all models get right (if any)."""
    chosen = [c.index for c in disagreement.cases[:N_DISAGREEMENT_CASES]]
    kinds = ["disagreement"] * len(chosen)
    right = np.all([p.argmax(axis=1) == labels for p in probs], axis=0)
    if right.any():
        least = np.min([p[np.arange(len(labels)), labels] for p in probs], axis=0)
        chosen.append(int(np.flatnonzero(right)[least[right].argmax()]))
        kinds.append("confident agreement")
    return np.array(chosen, dtype=np.int64), tuple(kinds)


def explain_side_by_side(classifiers: Sequence[Classifier], images: np.ndarray,
                         indices: np.ndarray, kinds: tuple[str, ...], preds: Sequence[np.ndarray],
                         seed: int, batch_size: int) -> SideBySideMaps:
    """Each model's map of its own answer on ``images[indices]`` ((N, h, w) uint8 data set)."""
    from reportgen.attributions import REGISTRY

    pixels = np.asarray(images[indices], dtype=np.float32)
    maps, targets = [], []
    for classifier, pred in zip(classifiers, preds):
        target = pred[indices].astype(np.int64)
        explainer = REGISTRY[METHOD](classifier, batch_size=batch_size, seed=seed)
        maps.append(explainer.explain(pixels, target) if len(indices) else
                    np.zeros((0, *pixels.shape[1:]), np.float32))
        targets.append(target)
    return SideBySideMaps(METHOD, indices, kinds, np.stack(maps).astype(np.float32), np.stack(targets))
