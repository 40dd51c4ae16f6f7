"""Paired tests between models scored on the same images.

Accuracy differences get McNemar's exact test on the discordant pairs; every other metric
(balanced accuracy, macro-F1, ECE, per-class recall) gets a paired bootstrap: each resample
draws one set of image indices and scores every model on it, so the difference's spread
holds only what differs between the models, not the luck of the draw. The resamples are the
ones ``evaluate`` drew for each model's own CI (same seed, same N), so the side-by-side CIs
and the differences' CIs come from one set of draws.

Multiple comparisons: Holm's step-down correction, separately for each headline metric
across the model pairs, and once over every (pair, class) for per-class recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import binom

# The per-resample scorer evaluate() uses for each model's own CIs: one scorer, one place.
from reportgen.evaluation.evaluate import _bootstrap_rows as score_resamples
from reportgen.numbers import round_all, round_finite
from reportgen.stats import N_BOOTSTRAP, bootstrap_index_chunks, percentile_ci, rows_per_chunk

ALPHA = 0.05
HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1", "ece")
LOWER_IS_BETTER = frozenset({"ece"})
RULE = ("Holm's step-down correction at α = 0.05, separately for each headline metric across "
        "the model pairs, and once across every pair and class for per-class recall. Accuracy: "
        "McNemar's exact test (two-sided binomial on the images exactly one model gets right); "
        "the others: a paired bootstrap of 1,000 resamples, the same image indices for every "
        "model, two-sided p from the share of resampled differences on either side of zero.")


@dataclass(frozen=True)
class MetricDifference:
    """One metric of model b minus model a (fractions, or ECE in its own units)."""

    metric: str  # "accuracy", "balanced_accuracy", "macro_f1", "ece" or "recall:CLASS"
    a: float
    b: float
    ci: tuple[float, float]  # 95% paired-bootstrap CI of b − a
    test: str  # "mcnemar-exact" or "paired-bootstrap"
    p_value: float
    p_holm: float = float("nan")

    @property
    def difference(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < ALPHA)

    @property
    def better(self) -> str | None:
        """"a" or "b": the side that is significantly better; None when not significant."""
        if not self.significant:
            return None
        b_higher = self.difference > 0
        return ("a" if b_higher else "b") if self.metric in LOWER_IS_BETTER else ("b" if b_higher else "a")

    def to_summary(self) -> dict:
        return {"metric": self.metric, "a": round_finite(self.a), "b": round_finite(self.b),
                "difference": round_finite(self.difference), "ci": round_all(self.ci),
                "test": self.test, "p_value": round_finite(self.p_value),
                "p_holm": round_finite(self.p_holm), "significant": self.significant}


@dataclass(frozen=True)
class PairComparison:
    """Models ``a`` and ``b`` (indices into the run's models, a < b) on the same images."""

    a: int
    b: int
    only_a_right: int  # McNemar's discordant counts
    only_b_right: int
    differences: tuple[MetricDifference, ...]

    def get(self, metric: str) -> MetricDifference:
        return next(d for d in self.differences if d.metric == metric)

    def to_summary(self, names: Sequence[str]) -> dict:
        return {"a": names[self.a], "b": names[self.b], "only_a_right": self.only_a_right,
                "only_b_right": self.only_b_right,
                "differences": [d.to_summary() for d in self.differences]}


@dataclass(frozen=True)
class PairedStatistics:
    pairs: tuple[PairComparison, ...]
    n_boot: int
    seed: int
    rule: str = RULE

    def pair(self, a: int, b: int) -> PairComparison:
        return next(p for p in self.pairs if {p.a, p.b} == {a, b})

    def to_summary(self, names: Sequence[str]) -> dict:
        return {"n_boot": self.n_boot, "seed": self.seed, "alpha": ALPHA,
                "multiple_comparisons": self.rule,
                "pairs": [p.to_summary(names) for p in self.pairs]}


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """Two-sided exact McNemar p-value: 2 · P(X ≤ min(b, c)), X ~ Binomial(b + c, ½), at most 1
    (1 when no image is discordant), as statsmodels' ``mcnemar(exact=True)`` computes it."""
    n = only_a_right + only_b_right
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(only_a_right, only_b_right), n, 0.5)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; NaNs stay NaN, uncounted)."""
    p = np.asarray(p_values, dtype=float)
    finite = np.flatnonzero(np.isfinite(p))
    adjusted = np.full(len(p), np.nan)
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided p of a paired bootstrap: twice the smaller share of resampled differences at
    or beyond zero on either side, at most 1 (NaN resamples ignored)."""
    d = differences[np.isfinite(differences)]
    if not len(d):
        return float("nan")
    return float(min(1.0, 2.0 * min((d <= 0).mean(), (d >= 0).mean())))


def resample_metrics(probs: Sequence[np.ndarray], labels: np.ndarray, seed: int,
                     n_boot: int = N_BOOTSTRAP) -> list[dict[str, np.ndarray]]:
    """Each model's headline metrics and per-class recall on the same ``n_boot`` resamples.

    probs: one (N, K) array per model; labels (N,). Returns per model {metric: (n_boot,)},
    "recall": (n_boot, K). The index rows are drawn once per chunk and shared by all models.
    """
    n_items, n_classes = len(labels), probs[0].shape[1]
    chunks: list[list[dict[str, np.ndarray]]] = [[] for _ in probs]
    for rows in bootstrap_index_chunks(n_items, seed, n_boot, rows_per_chunk(n_items)):
        for m, p in enumerate(probs):
            chunks[m].append(score_resamples(rows, p.argmax(axis=1), labels, p.max(axis=1), n_classes))
    return [{key: np.concatenate([c[key] for c in per_model]) for key in per_model[0]}
            for per_model in chunks]


def compare_pairs(probs: Sequence[np.ndarray], labels: np.ndarray, point: Sequence[dict[str, float]],
                  class_names: Sequence[str], seed: int,
                  n_boot: int = N_BOOTSTRAP) -> PairedStatistics:
    """Every pair of models: McNemar for accuracy, paired bootstrap for the rest, Holm-adjusted.

    probs: one (N, K) array per model; point: each model's metrics on the full data
    ({"accuracy", "balanced_accuracy", "macro_f1", "ece", "recall:CLASS"}).
    """
    draws = resample_metrics(probs, labels, seed, n_boot)
    preds = [p.argmax(axis=1) for p in probs]
    raw: list[tuple[int, int, int, int, list[MetricDifference]]] = []
    for a, b in combinations(range(len(probs)), 2):
        right_a, right_b = preds[a] == labels, preds[b] == labels
        only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
        diffs = []
        for metric in (*HEADLINE, *(f"recall:{name}" for name in class_names)):
            d = _resampled(draws[b], metric, class_names) - _resampled(draws[a], metric, class_names)
            p = mcnemar_exact(only_a, only_b) if metric == "accuracy" else bootstrap_p(d)
            test = "mcnemar-exact" if metric == "accuracy" else "paired-bootstrap"
            diffs.append(MetricDifference(metric, point[a][metric], point[b][metric],
                                          percentile_ci(d), test, p))
        raw.append((a, b, only_a, only_b, diffs))
    return PairedStatistics(tuple(_adjusted(raw)), n_boot, seed)


def _resampled(draws: dict[str, np.ndarray], metric: str, class_names: Sequence[str]) -> np.ndarray:
    if metric.startswith("recall:"):
        return draws["recall"][:, list(class_names).index(metric.split(":", 1)[1])]
    return draws[metric]


def _adjusted(raw: list[tuple[int, int, int, int, list[MetricDifference]]]) -> list[PairComparison]:
    """Holm within each family: one per headline metric (across pairs), one for all recalls."""
    family = [d.metric if d.metric in HEADLINE else "recall" for d in raw[0][4]] if raw else []
    adjusted: dict[tuple[int, int], float] = {}
    for name in dict.fromkeys(family):
        cells = [(r, i) for r in range(len(raw)) for i, f in enumerate(family) if f == name]
        for (r, i), q in zip(cells, holm([raw[r][4][i].p_value for r, i in cells])):
            adjusted[(r, i)] = q
    return [PairComparison(a, b, only_a, only_b, tuple(
        MetricDifference(d.metric, d.a, d.b, d.ci, d.test, d.p_value, adjusted[(r, i)])
        for i, d in enumerate(diffs)))
        for r, (a, b, only_a, only_b, diffs) in enumerate(raw)]
