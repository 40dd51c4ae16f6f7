"""Confusion analysis: the top confusion pairs and the sink class.

For each of the most frequent confusions (true A predicted as B) this gives where the evidence
of A→B errors lies compared with correct A calls (a difference of mean normalised |attribution|
maps), which probes push true-A images toward B, and example images. The *sink* class is the
class that receives the most errors: which true classes feed it and which probes push into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from reportgen.bias.effects import ProbeEffect, class_rate_changes
from reportgen.bias.resample import bootstrap_means, intervals
from reportgen.numbers import round_finite

N_PAIRS = 3
N_EXAMPLES = 4


@dataclass(frozen=True)
class ConfusionPair:
    """True class A predicted as B. Probe changes: pp change of the B-rate among true-A images."""

    true_class: int
    pred_class: int
    count: int
    share_of_true: float  # count / images of class A, 0–1
    difference_map: np.ndarray | None  # (h, w) mean map of A→B errors minus correct A
    probe_changes: np.ndarray  # (P,) pp
    probe_changes_ci: np.ndarray  # (P, 2) pp
    example_indices: np.ndarray  # (E,) the most confident A→B errors
    examples: np.ndarray  # (E, h, w) uint8

    def to_summary(self, class_names: Sequence[str], probe_names: Sequence[str]) -> dict:
        return {
            "true": class_names[self.true_class],
            "pred": class_names[self.pred_class],
            "count": self.count,
            "share_of_true": round_finite(self.share_of_true),
            "probe_changes_pp": {
                name: {"effect": round_finite(c), "ci_low": round_finite(lo), "ci_high": round_finite(hi)}
                for name, c, (lo, hi) in zip(probe_names, self.probe_changes,
                                             self.probe_changes_ci)
            },
            "example_indices": self.example_indices.tolist(),
        }


@dataclass(frozen=True)
class SinkClass:
    """The class that receives the most errors."""

    index: int
    incoming: int  # errors predicted as this class
    share_of_errors: float  # 0–1
    feeders: np.ndarray  # (K,) errors into the sink by true class
    overcall: float  # pp: share predicted as the sink minus share truly of it
    overcall_ci: tuple[float, float]

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {
            "class": class_names[self.index],
            "incoming_errors": self.incoming,
            "share_of_errors": round_finite(self.share_of_errors),
            "feeders": {n: int(c) for n, c in zip(class_names, self.feeders) if c > 0},
            "overcall_pp": round_finite(self.overcall),
            "overcall_ci": [round_finite(v) for v in self.overcall_ci],
        }


@dataclass(frozen=True)
class ConfusionResult:
    """Confusion matrix (rows true, columns predicted), top pairs and the sink class."""

    matrix: np.ndarray  # (K, K) int
    pairs: list[ConfusionPair]
    sink: SinkClass | None  # None when the model makes no error

    def to_summary(self, class_names: Sequence[str], probe_names: Sequence[str]) -> dict:
        return {
            "pairs": [pair.to_summary(class_names, probe_names) for pair in self.pairs],
            "sink": self.sink.to_summary(class_names) if self.sink else None,
        }


def find_sink(labels: np.ndarray, preds: np.ndarray, n_classes: int, seed: int) -> SinkClass | None:
    """The class with the most incoming errors, with its over-call and 95% CI."""
    matrix = confusion_matrix(labels, preds, labels=np.arange(n_classes))
    errors = matrix - np.diag(np.diag(matrix))
    if errors.sum() == 0:
        return None
    sink = int(np.argmax(errors.sum(axis=0)))
    values = 100.0 * ((preds == sink).astype(np.float64) - (labels == sink))[:, None]
    low, high = intervals(bootstrap_means(values, seed))[0]
    return SinkClass(sink, int(errors[:, sink].sum()), float(errors[:, sink].sum() / errors.sum()),
                     errors[:, sink], float(values.mean()), (float(low), float(high)))


def analyse_confusions(
    images: np.ndarray, labels: np.ndarray, probs: np.ndarray, preds_after: np.ndarray,
    maps: np.ndarray | None, seed: int, map_index: np.ndarray | None = None,
) -> ConfusionResult:
    """Top ``N_PAIRS`` confusions and the sink class.

    images (N, h, w) uint8; labels (N,); probs (N, K) on the originals; preds_after (P, N)
    under each probe; maps (M, h, w) normalised |attribution| of the images ``map_index`` (M,)
    (all N when None), or None (no difference maps).
    """
    n_classes = probs.shape[1]
    preds = probs.argmax(axis=1)
    matrix = confusion_matrix(labels, preds, labels=np.arange(n_classes))
    errors = matrix - np.diag(np.diag(matrix))
    order = np.argsort(-errors, axis=None, kind="stable")[:N_PAIRS]
    pairs = [
        _pair(int(a), int(b), images, labels, probs, preds, preds_after, maps, seed, map_index)
        for a, b in zip(*np.unravel_index(order, errors.shape))
        if errors[a, b] > 0
    ]
    return ConfusionResult(matrix, pairs, find_sink(labels, preds, n_classes, seed))


def _pair(a: int, b: int, images: np.ndarray, labels: np.ndarray, probs: np.ndarray,
          preds: np.ndarray, preds_after: np.ndarray, maps: np.ndarray | None,
          seed: int, map_index: np.ndarray | None = None) -> ConfusionPair:
    wrong = (labels == a) & (preds == b)
    right = (labels == a) & (preds == a)
    changes, cis = class_rate_changes(preds, preds_after, b, labels == a, seed)
    difference = None
    mapped = slice(None) if map_index is None else map_index
    if maps is not None and wrong[mapped].any() and right[mapped].any():
        difference = (np.nanmean(maps[wrong[mapped]], axis=0)
                      - np.nanmean(maps[right[mapped]], axis=0))
    candidates = np.flatnonzero(wrong)
    examples = candidates[np.argsort(-probs[candidates, b], kind="stable")[:N_EXAMPLES]]
    return ConfusionPair(a, b, int(wrong.sum()), float(wrong.sum() / (labels == a).sum()),
                         difference, changes, cis, examples,
                         np.asarray(images[examples], dtype=np.uint8))


def sink_pushes(effects: Sequence[ProbeEffect], sink: int) -> list[ProbeEffect]:
    """Probes whose whole CI for the sink's rate change lies above zero, largest first."""
    pushing = [e for e in effects if e.rate_change_ci[sink, 0] > 0]
    return sorted(pushing, key=lambda e: -e.rate_change[sink])


