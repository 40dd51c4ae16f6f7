"""Natural slices: accuracy and prediction rates by image brightness, contrast and the
periphery-to-face brightness ratio, with CIs and tests of independence.

This asks "are naturally dark images called sad?" without editing any image. Because true
classes may differ between slices, each bin also gets its *excess*: (share predicted as class k
minus share truly of class k) in the bin, minus the same over the whole split, in pp. A positive
excess means the model over-calls k in that bin beyond its split-wide habit.

Two tests per slice: a chi-square test of predicted class × bin (scipy), and a permutation test
of the same association *within* each true class (bins shuffled among images of one true class,
statistic = sum of the per-class chi-square statistics), which a class mix cannot explain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2_contingency

from reportgen.bias.probes import face_weights
from reportgen.bias.resample import bootstrap_category_counts, intervals
from reportgen.numbers import round_all, round_finite

N_BINS = 5
N_PERMUTATIONS = 500


@dataclass(frozen=True)
class SliceFeature:
    """A per-image scalar and how findings name its lowest and highest bins."""

    label: str
    unit: str
    measure: Callable[[np.ndarray], np.ndarray]  # (N, h, w) 0–255 → (N,)
    low: str
    high: str


def _brightness(images: np.ndarray) -> np.ndarray:
    return images.mean(axis=(1, 2))


def _contrast(images: np.ndarray) -> np.ndarray:
    return images.std(axis=(1, 2))


def _periphery_face_ratio(images: np.ndarray) -> np.ndarray:
    face = face_weights(*images.shape[1:])
    face_mean = (images * face).sum(axis=(1, 2)) / face.sum()
    periphery_mean = (images * (1.0 - face)).sum(axis=(1, 2)) / (1.0 - face).sum()
    return periphery_mean / np.maximum(face_mean, 1.0)  # +1 grey level guards black faces


SLICE_FEATURES: dict[str, SliceFeature] = {
    "brightness": SliceFeature("mean brightness", "grey level 0–255", _brightness,
                               "the darkest images", "the brightest images"),
    "contrast": SliceFeature("contrast", "pixel standard deviation", _contrast,
                             "the lowest-contrast images", "the highest-contrast images"),
    "periphery_face_ratio": SliceFeature(
        "periphery-to-face brightness", "ratio of mean grey levels", _periphery_face_ratio,
        "images whose surroundings are darkest relative to the face",
        "images whose surroundings are brightest relative to the face"),
}


@dataclass(frozen=True)
class SliceResult:
    """One slice variable cut into quantile bins. Rates 0–1; excess in pp; CIs (..., 2)."""

    name: str
    feature: SliceFeature
    edges: np.ndarray  # (B + 1,) bin edges in the feature's units
    sizes: np.ndarray  # (B,) images per bin
    accuracy: np.ndarray  # (B,)
    accuracy_ci: np.ndarray  # (B, 2)
    pred_rates: np.ndarray  # (B, K)
    pred_rates_ci: np.ndarray  # (B, K, 2)
    true_rates: np.ndarray  # (B, K)
    excess: np.ndarray  # (B, K) pp
    excess_ci: np.ndarray  # (B, K, 2) pp
    chi2_p: float  # predicted class independent of bin
    accuracy_p: float  # correctness independent of bin
    conditional_p: float  # predicted class independent of bin within each true class

    def most_overcalled(self, b: int) -> int:
        """The class with the largest excess in bin ``b`` (0 when the bin is empty)."""
        row = np.nan_to_num(self.excess[b], nan=-np.inf)
        return int(np.argmax(row))

    def to_summary(self, class_names: Sequence[str]) -> dict:
        """JSON-ready: edges, sizes, accuracy, per-class rates and the three p-values."""
        def rows(values: np.ndarray) -> list:
            values = np.asarray(values, dtype=np.float64)
            return round_all(values)

        return {
            "name": self.name,
            "label": self.feature.label,
            "unit": self.feature.unit,
            "edges": rows(self.edges),
            "sizes": self.sizes.tolist(),
            "accuracy": rows(self.accuracy),
            "accuracy_ci": rows(self.accuracy_ci),
            "pred_rates": {n: rows(self.pred_rates[:, k]) for k, n in enumerate(class_names)},
            "excess_pp": {n: rows(self.excess[:, k]) for k, n in enumerate(class_names)},
            "chi2_p": round_finite(self.chi2_p),
            "accuracy_p": round_finite(self.accuracy_p),
            "conditional_p": round_finite(self.conditional_p),
        }


def analyse_slices(
    images: np.ndarray, labels: np.ndarray, preds: np.ndarray, n_classes: int, seed: int
) -> list[SliceResult]:
    """Every slice in ``SLICE_FEATURES`` for images (N, h, w) 0–255, labels and preds (N,)."""
    return [
        slice_by(name, feature, measure_in_chunks(feature, images), labels, preds, n_classes, seed)
        for name, feature in SLICE_FEATURES.items()
    ]


_CHUNK_IMAGES = 2048


def measure_in_chunks(feature: SliceFeature, images: np.ndarray) -> np.ndarray:
    """``feature.measure`` of images (N, h, w) → (N,), a chunk of images at a time.

    Every feature is per image, so the values are those of one call; the float copies it makes
    (8 bytes a pixel, 530 MB at 28,709 images) stay at one chunk's size.
    """
    return np.concatenate([feature.measure(np.asarray(images[i : i + _CHUNK_IMAGES], np.float32))
                           for i in range(0, max(len(images), 1), _CHUNK_IMAGES)])


def slice_by(name: str, feature: SliceFeature, values: np.ndarray, labels: np.ndarray,
             preds: np.ndarray, n_classes: int, seed: int) -> SliceResult:
    """Cut ``values`` (N,) into ``N_BINS`` quantile bins and measure each bin."""
    edges = np.quantile(values, np.linspace(0.0, 1.0, N_BINS + 1))
    bins = np.searchsorted(edges[1:-1], values, side="right")
    # Each image's values [correct, one-hot prediction, one-hot label] and its bin depend only
    # on (bin, prediction, label): the bootstrap resamples counts of these categories, exactly
    # as it would the (N, 1 + 2K) matrix (every sum is an exact integer).
    present, inverse = np.unique((bins * n_classes + preds) * n_classes + labels,
                                 return_inverse=True)
    key_bins, rest = np.divmod(present, n_classes * n_classes)
    key_preds, key_labels = np.divmod(rest, n_classes)
    onehot = np.eye(n_classes)
    table = np.concatenate([(key_preds == key_labels).astype(np.float64)[:, None],
                            onehot[key_preds], onehot[key_labels]], axis=1)
    in_bin = np.eye(N_BINS)[key_bins]  # (C, G)
    overall, grouped = [], []
    for (counts,) in bootstrap_category_counts([inverse.astype(np.int32)], [len(present)], seed):
        overall.append(counts @ table / len(values))
        sizes = counts @ in_bin  # (chunk, G)
        sums = np.stack([counts[:, key_bins == b] @ table[key_bins == b] for b in range(N_BINS)],
                        axis=1)  # (chunk, G, M)
        with np.errstate(invalid="ignore", divide="ignore"):
            grouped.append(sums / sizes[:, :, None])
    overall, grouped = np.concatenate(overall), np.concatenate(grouped)
    size = np.bincount(inverse, minlength=len(present)).astype(np.float64)
    whole_mean = size @ table / len(values)
    point = np.stack([size[key_bins == b] @ table[key_bins == b] / size[key_bins == b].sum()
                      if (bins == b).any() else np.full(table.shape[1], np.nan)
                      for b in range(N_BINS)])
    pred_k, true_k = slice(1, 1 + n_classes), slice(1 + n_classes, None)

    def excess(group: np.ndarray, whole: np.ndarray) -> np.ndarray:
        return 100.0 * ((group[..., pred_k] - group[..., true_k])
                        - (whole[..., pred_k] - whole[..., true_k])[..., None, :])

    return SliceResult(
        name=name, feature=feature, edges=edges,
        sizes=np.bincount(bins, minlength=N_BINS),
        accuracy=point[:, 0], accuracy_ci=intervals(grouped[:, :, 0]),
        pred_rates=point[:, pred_k], pred_rates_ci=intervals(grouped[:, :, pred_k]),
        true_rates=point[:, true_k],
        excess=excess(point, whole_mean), excess_ci=intervals(excess(grouped, overall)),
        chi2_p=_chi2_p(bins, preds, n_classes),
        accuracy_p=_chi2_p(bins, (preds == labels).astype(int), 2),
        conditional_p=conditional_permutation_p(bins, preds, labels, n_classes, seed),
    )


def _chi2_p(bins: np.ndarray, outcomes: np.ndarray, n_outcomes: int) -> float:
    table = np.bincount(bins * n_outcomes + outcomes, minlength=N_BINS * n_outcomes)
    table = table.reshape(N_BINS, n_outcomes)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 1.0  # one bin or one outcome: nothing can depend on the bin
    return float(chi2_contingency(table).pvalue)


def conditional_permutation_p(bins: np.ndarray, preds: np.ndarray, labels: np.ndarray,
                              n_classes: int, seed: int, n_perm: int = N_PERMUTATIONS) -> float:
    """Permutation p-value that the predicted class is independent of the bin given the label."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(labels == c) for c in range(n_classes)]
    observed = _stratified_chi2(bins, preds, labels, n_classes)
    shuffled = bins.copy()
    exceed = 0
    for _ in range(n_perm):
        for idx in members:
            shuffled[idx] = rng.permutation(bins[idx])
        exceed += _stratified_chi2(shuffled, preds, labels, n_classes) >= observed - 1e-9
    return (1 + exceed) / (1 + n_perm)


def _stratified_chi2(bins: np.ndarray, preds: np.ndarray, labels: np.ndarray,
                     n_classes: int) -> float:
    # Hand-written (not scipy) because it runs N_PERMUTATIONS times on tables with empty cells.
    keys = (labels * N_BINS + bins) * n_classes + preds
    tables = np.bincount(keys, minlength=n_classes * N_BINS * n_classes).astype(np.float64)
    tables = tables.reshape(n_classes, N_BINS, n_classes)
    totals = tables.sum(axis=(1, 2), keepdims=True)
    expected = tables.sum(axis=2, keepdims=True) * tables.sum(axis=1, keepdims=True)
    expected = np.divide(expected, totals, out=np.zeros_like(expected), where=totals > 0)
    terms = np.divide((tables - expected) ** 2, expected, out=np.zeros_like(expected),
                      where=expected > 0)
    return float(terms.sum())

