"""Run the probe suite through the classifier and measure what each probe changes.

Effects are paired: each image is compared with its own probed copy, and the bootstrap resamples
images (the same resamples for every probe and class), so the CIs reflect which images the
split happens to hold, not the model's randomness (it has none at inference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.probes import Probe, apply_probe
from reportgen.bias.resample import bootstrap_category_means, bootstrap_means, intervals
from reportgen.bias.spread import Z_MIN
from reportgen.loading.model import Classifier
from reportgen.numbers import round_finite
from reportgen.progress import Track

MAX_BATCH_IMAGES = 8192  # probed images per predict call (~75 MB of 48x48 float32)
PREDICT_BATCH = 512  # per compiled call: large enough that call overhead is negligible


@dataclass(frozen=True)
class ProbeEffect:
    """What one probe does to the model's predictions over the whole split.

    Rates are shares of images (0–1); changes are in percentage points (pp); CIs are 95%
    paired-bootstrap percentile intervals, arrays shaped (..., 2) as [low, high].
    """

    probe: Probe
    rates_before: np.ndarray  # (K,) share predicted as each class on the original images
    rates_after: np.ndarray  # (K,) the same on the probed images
    rate_change: np.ndarray  # (K,) pp
    rate_change_ci: np.ndarray  # (K, 2) pp
    flip_rate: float  # share of images whose predicted class changes, 0–1
    flip_ci: tuple[float, float]
    accuracy_change: float  # pp
    accuracy_change_ci: tuple[float, float]
    # (K,) 0–1: of the images predicted as k after the edit, the share not predicted k before
    # (NaN where none is predicted k after): how many of k's predictions the edit alone makes
    new_share: np.ndarray | None = None
    # The same probe on a reference model (None without one): its rate change (K,) pp and
    # this model's change beyond it, the *model-specific* part (K,) pp with its CI (K, 2)
    reference_change: np.ndarray | None = None
    specific: np.ndarray | None = None
    specific_ci: np.ndarray | None = None
    # With a panel of clean models (``reportgen.bias.panel``): each member's change (R, K) pp;
    # ``reference_change`` is then their maximum and ``specific`` the part beyond it; and how
    # far this model's change sits above the panel's median in robust SDs (K,)
    panel_changes: np.ndarray | None = None
    panel_z: np.ndarray | None = None
    # Images that decided it: the whole split, or fewer when sequential probing settled it
    # early (``reportgen.bias.sequential``)
    n_images: int | None = None

    def is_specific(self, k: int) -> bool | None:
        """Whether class k's effect is this model's own: beyond the reference (or the panel's
        maximum, CI and all) and, with a panel, far above its median. None without either."""
        if self.specific_ci is None:
            return None
        beyond = bool(np.isfinite(self.specific_ci[k, 0]) and self.specific_ci[k, 0] > 0)
        return beyond and (self.panel_z is None or bool(self.panel_z[k] >= Z_MIN))

    def panel_range(self, k: int) -> tuple[float, float]:
        """The clean panel's lowest and highest change (pp) toward class k."""
        members = self.panel_changes[:, k]
        return float(members.min()), float(members.max())

    @property
    def top_gainer(self) -> int:
        """The class whose prediction rate rises most."""
        return int(np.argmax(self.rate_change))

    def to_summary(self, class_names: Sequence[str]) -> dict:
        """The contract's ``bias.probes`` entry plus the effects and their CIs."""
        return {
            "name": self.probe.name,
            "description": self.probe.description,
            "kind": self.probe.kind.value,
            "rates_before": _by_class(self.rates_before, class_names),
            "rates_after": _by_class(self.rates_after, class_names),
            "rate_change_pp": {
                name: {"effect": round_finite(c), "ci_low": round_finite(lo), "ci_high": round_finite(hi)}
                for name, c, (lo, hi) in zip(class_names, self.rate_change, self.rate_change_ci)
            },
            "flip_rate": round_finite(self.flip_rate),
            "flip_rate_ci": [round_finite(v) for v in self.flip_ci],
            "accuracy_change_pp": round_finite(self.accuracy_change),
            "accuracy_change_ci": [round_finite(v) for v in self.accuracy_change_ci],
            "top_gainer": class_names[self.top_gainer],
            "family": self.probe.family,
            "mechanism": self.probe.mechanism,
            "extreme": self.probe.extreme,
            "n_images": self.n_images,
            **({} if self.new_share is None else
               {"new_share": _by_class(self.new_share, class_names)}),
            **({} if self.specific is None else {
                "reference_change_pp": _by_class(self.reference_change, class_names),
                "specific_pp": {
                    name: {"effect": round_finite(c), "ci_low": round_finite(lo),
                           "ci_high": round_finite(hi)}
                    for name, c, (lo, hi) in zip(class_names, self.specific, self.specific_ci)
                }}),
            **({} if self.panel_changes is None else {
                "panel_pp": {name: [round_finite(self.panel_changes[:, k].min()),
                                    round_finite(float(np.median(self.panel_changes[:, k]))),
                                    round_finite(self.panel_changes[:, k].max())]
                             for k, name in enumerate(class_names)},
                "panel_z": _by_class(self.panel_z, class_names)}),
        }


def predict_probes(
    classifier: Classifier,
    images: np.ndarray,
    probes: Sequence[Probe],
    progress: Track | None = None,
) -> np.ndarray:
    """Images (N, h, w) in 0–255 → (P, N) int16 predicted class under each probe.

    Probe variants of a block of images are concatenated so that every ``predict`` call sees
    up to ``MAX_BATCH_IMAGES`` images, whatever the split size.
    """
    n_images, n_probes = len(images), len(probes)
    if n_probes == 0:
        return np.empty((0, n_images), dtype=np.int16)
    # A power of two, so that blocks of a split read ``BLOCK_IMAGES`` at a time (2048) split
    # into the same blocks as the whole split: every executor makes the same predict calls.
    block_size = 1 << max(0, (MAX_BATCH_IMAGES // max(n_probes, 1)).bit_length() - 1)
    predictions = np.empty((n_probes, n_images), dtype=np.int16)
    advance = progress("Probes", n_images) if progress else None
    for start in range(0, n_images, block_size):
        block = np.asarray(images[start : start + block_size], dtype=np.float32)
        variants = np.concatenate([apply_probe(probe, block) for probe in probes])
        labels = classifier.predict(variants, batch_size=PREDICT_BATCH).argmax(axis=1)
        predictions[:, start : start + len(block)] = labels.reshape(n_probes, len(block))
        if advance:
            advance(len(block))
    return predictions


def measure_effects(
    probes: Sequence[Probe],
    preds_before: np.ndarray,
    preds_after: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    seed: int,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[ProbeEffect]:
    """Per-probe rate changes, flip rate and accuracy change with paired bootstrap CIs.

    preds_before (N,) and labels (N,) are class ids; preds_after is (P, N), one row per probe.
    ``reference`` is a reference model's (preds_before (N,), preds_after (P, N)) on the same
    images: each image's change minus the reference's change on that image is resampled
    with the rest, so the model-specific part gets a paired CI at no extra bootstrap.
    """
    preds_before = np.asarray(preds_before, np.int64)
    n_images = len(preds_before)
    correct_before = preds_before == labels
    ref_before = None if reference is None else np.asarray(reference[0], np.int64)
    # Each image's values under probe p depend only on (before, after, correct before, correct
    # after[, reference before, reference after]): the bootstrap resamples counts of these
    # categories (``bootstrap_category_means``), exactly as it would the (N, P × width) values.
    categories, tables = [], []
    for p, after in enumerate(preds_after):
        after = np.asarray(after, np.int64)
        key = ((preds_before * n_classes + after) * 2 + correct_before) * 2 + (after == labels)
        if reference is not None:
            key = (key * n_classes + ref_before) * n_classes + np.asarray(reference[1][p], np.int64)
        present, inverse = np.unique(key, return_inverse=True)
        categories.append(inverse.astype(np.int32))  # 4 bytes per image and probe, not 8
        tables.append(_effect_values(present, n_classes, reference is not None))
    width = n_classes + 2 + (n_classes if reference is not None else 0)
    sizes = [np.bincount(inverse, minlength=len(table)) for inverse, table in zip(categories, tables)]
    points = np.stack([size @ table for size, table in zip(sizes, tables)]) / n_images
    cis = intervals(bootstrap_category_means(categories, tables, seed)).reshape(len(probes), width, 2)
    rates_before = _rates(preds_before, n_classes)
    effects = []
    for p, (probe, after, point, ci) in enumerate(zip(probes, preds_after, points, cis)):
        extra = {}
        if reference is not None:
            ref_change = 100.0 * (_rates(reference[1][p], n_classes) - _rates(ref_before, n_classes))
            extra = {"reference_change": ref_change, "specific": point[n_classes + 2:],
                     "specific_ci": ci[n_classes + 2:]}
        effects.append(ProbeEffect(
            probe=probe,
            rates_before=rates_before,
            rates_after=_rates(after, n_classes),
            rate_change=point[:n_classes],
            rate_change_ci=ci[:n_classes],
            flip_rate=float(point[n_classes]),
            flip_ci=(float(ci[n_classes, 0]), float(ci[n_classes, 1])),
            accuracy_change=float(point[n_classes + 1]),
            accuracy_change_ci=(float(ci[n_classes + 1, 0]), float(ci[n_classes + 1, 1])),
            new_share=new_shares(preds_before, after, n_classes),
            n_images=n_images,
            **extra,
        ))
    return effects


def _rates(preds: np.ndarray, n_classes: int) -> np.ndarray:
    """(K,) share of the images predicted as each class (count / N: the mean of a one-hot)."""
    return np.bincount(np.asarray(preds, np.int64), minlength=n_classes) / len(preds)


def _effect_values(keys: np.ndarray, n_classes: int, with_reference: bool) -> np.ndarray:
    """Category keys (C,) from ``measure_effects`` → (C, width) values of one image of each:
    rate change per class (pp), flip (0/1), accuracy change (pp)[, change beyond the reference]."""
    onehot = np.eye(n_classes)
    if with_reference:
        keys, ref_after = np.divmod(keys, n_classes)
        keys, ref_before = np.divmod(keys, n_classes)
    keys, correct_after = np.divmod(keys, 2)
    keys, correct_before = np.divmod(keys, 2)
    before, after = np.divmod(keys, n_classes)
    change = 100.0 * (onehot[after] - onehot[before])
    columns = [change, (after != before).astype(np.float64)[:, None],
               100.0 * (correct_after - correct_before).astype(np.float64)[:, None]]
    if with_reference:
        columns.append(change - 100.0 * (onehot[ref_after] - onehot[ref_before]))
    return np.concatenate(columns, axis=1)


def new_shares(preds_before: np.ndarray, preds_after: np.ndarray, n_classes: int) -> np.ndarray:
    """(K,) of the images predicted k after an edit, the share not predicted k before it."""
    after = np.bincount(preds_after, minlength=n_classes).astype(np.float64)
    new = np.bincount(preds_after[preds_after != preds_before], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(after > 0, new / after, np.nan)


def class_rate_changes(
    preds_before: np.ndarray, preds_after: np.ndarray, target: int, subset: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Change (pp) in the rate of predicting ``target`` within ``subset`` (bool (N,)), per probe.

    preds_after (P, N) may hold -1 where a probe was not evaluated (sequential probing): each
    probe's change is then the mean over the images it was evaluated on, resampled as a ratio.
    Returns (P,) changes and (P, 2) 95% CIs; NaN when the subset is empty.
    """
    after = preds_after[:, subset] == target
    before = preds_before[subset] == target
    values = 100.0 * (after.astype(np.float64) - before).T  # (n_subset, P)
    if len(values) == 0:
        return np.full(len(preds_after), np.nan), np.full((len(preds_after), 2), np.nan)
    evaluated = (preds_after[:, subset] >= 0).T.astype(np.float64)
    if evaluated.all():
        return values.mean(axis=0), intervals(bootstrap_means(values, seed))
    n_probes = values.shape[1]
    sums = bootstrap_means(np.concatenate([values * evaluated, evaluated], axis=1), seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = (values * evaluated).sum(axis=0) / evaluated.sum(axis=0)
        return point, intervals(sums[:, :n_probes] / sums[:, n_probes:])


def _by_class(values: np.ndarray, class_names: Sequence[str]) -> dict[str, float | None]:
    return {name: round_finite(v) for name, v in zip(class_names, values)}
