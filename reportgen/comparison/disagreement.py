"""Where models disagree: the images on which their predictions differ, grouped by true class,
the most informative of them for a gallery, and each model's confusion matrix minus the first's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from reportgen.numbers import round_finite

GALLERY_SIZE = 12
PER_CLASS_FIRST = 2  # gallery cases per true class before any class gets a third


@dataclass(frozen=True)
class DisagreementCase:
    """One image the models answer differently. ``preds``/``p_true``/``p_pred`` hold one
    entry per model, in the run's model order."""

    index: int  # into the data set
    source: str  # relative to the data root ("row R" for CSV rows)
    true: int
    preds: tuple[int, ...]
    p_true: tuple[float, ...]  # each model's probability of the true class
    p_pred: tuple[float, ...]  # each model's probability of its own answer

    @property
    def spread(self) -> float:
        """How informative: max − min probability of the true class across models (1 when one
        model is sure and right while another is sure and wrong)."""
        return max(self.p_true) - min(self.p_true)

    def to_summary(self, class_names: Sequence[str], model_names: Sequence[str]) -> dict:
        return {"source": self.source, "true": class_names[self.true],
                "preds": {m: class_names[p] for m, p in zip(model_names, self.preds)},
                "p_true": {m: round_finite(p) for m, p in zip(model_names, self.p_true)},
                "spread": round_finite(self.spread)}


@dataclass(frozen=True)
class Disagreement:
    """confusion_deltas: for each model after the first, its (K, K) confusion counts minus the
    first model's (rows true, columns predicted)."""

    n_images: int
    n_differ: int  # images on which at least two models differ
    by_class: tuple[int, ...]  # (K,) those images per true class
    class_totals: tuple[int, ...]  # (K,) images per true class
    pair_counts: tuple[tuple[int, int, int], ...]  # (a, b, images where a and b differ)
    cases: tuple[DisagreementCase, ...]  # the gallery, most informative first
    confusion_deltas: tuple[np.ndarray, ...]

    def to_summary(self, class_names: Sequence[str], model_names: Sequence[str]) -> dict:
        return {
            "n_images": self.n_images, "n_differ": self.n_differ,
            "by_true_class": {n: {"differ": d, "total": t}
                              for n, d, t in zip(class_names, self.by_class, self.class_totals)},
            "pairs": [{"a": model_names[a], "b": model_names[b], "differ": n}
                      for a, b, n in self.pair_counts],
            "cases": [c.to_summary(class_names, model_names) for c in self.cases],
            "confusion_deltas": {model_names[i + 1]: d.astype(int).tolist()
                                 for i, d in enumerate(self.confusion_deltas)},
        }


def relative_source(source: str, root: Path) -> str:
    """An image's file path relative to the data root (CSV "row R" sources stay as they are)."""
    try:
        return str(Path(source).relative_to(root))
    except ValueError:
        return source


def find_disagreements(probs: Sequence[np.ndarray], labels: np.ndarray, sources: Sequence[str],
                       root: Path, confusions: Sequence[np.ndarray],
                       size: int = GALLERY_SIZE) -> Disagreement:
    """probs: one (N, K) array per model; labels (N,); confusions: each model's (K, K)."""
    n_classes = probs[0].shape[1]
    preds = np.stack([p.argmax(axis=1) for p in probs])  # (M, N)
    differ = (preds != preds[0]).any(axis=0)
    idx = np.flatnonzero(differ)
    p_true = np.stack([p[idx, labels[idx]] for p in probs])  # (M, n_differ)
    p_pred = np.stack([p[idx, preds[m, idx]] for m, p in enumerate(probs)])
    spread = p_true.max(axis=0) - p_true.min(axis=0)
    chosen = pick_gallery(spread, labels[idx], size)
    cases = tuple(DisagreementCase(int(idx[j]), relative_source(sources[idx[j]], root), int(labels[idx[j]]),
                                   tuple(int(v) for v in preds[:, idx[j]]),
                                   tuple(float(v) for v in p_true[:, j]),
                                   tuple(float(v) for v in p_pred[:, j])) for j in chosen)
    pairs = tuple((a, b, int((preds[a] != preds[b]).sum()))
                  for a, b in combinations(range(len(probs)), 2))
    return Disagreement(
        n_images=len(labels), n_differ=int(differ.sum()),
        by_class=tuple(int(v) for v in np.bincount(labels[differ], minlength=n_classes)),
        class_totals=tuple(int(v) for v in np.bincount(labels, minlength=n_classes)),
        pair_counts=pairs, cases=cases,
        confusion_deltas=tuple(np.asarray(c) - np.asarray(confusions[0]) for c in confusions[1:]))


def pick_gallery(scores: np.ndarray, classes: np.ndarray, size: int) -> list[int]:
    """Positions of the ``size`` highest ``scores`` (N,), at most ``PER_CLASS_FIRST`` per class
    until every class with candidates has had its turn, then the best remaining ones."""
    order = np.argsort(-scores, kind="stable")
    taken: list[int] = []
    per_class: dict[int, int] = {}
    for j in order:
        if len(taken) == size:
            break
        if per_class.get(int(classes[j]), 0) < PER_CLASS_FIRST:
            taken.append(int(j))
            per_class[int(classes[j])] = per_class.get(int(classes[j]), 0) + 1
    rest = [int(j) for j in order if int(j) not in set(taken)]
    return sorted(taken + rest[:size - len(taken)], key=lambda j: -scores[j])
