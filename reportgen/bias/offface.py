"""Evidence outside the face: per predicted class, the share of attribution in off-face regions.

A model that learned a mark, a border or a dark background as a cue for one class draws that
class's evidence from where the cue is. For each predicted class and each region (outside the
face ellipse, four border bands of ``BAND`` of the size, four corners of ``CORNER`` × ``CORNER``)
the class's mean share of attribution mass (maps normalised to sum to 1 per image) is set
against the mean share of the images predicted as any other class, in percentage points, with a
seeded paired-bootstrap CI of the difference (``reportgen.bias.resample``).

Severity is ``reportgen.bias.findings.grade`` of the difference with the other classes' share as
the "rate before": ``critical`` when the CI's lower bound is ≥ 10 pp, or ≥ 5 pp *and* at least
the others' share (the class draws at least twice the others' share from there); a smaller
excess is a warning or info. One finding per class: the region with the highest severity, then
the largest ratio to the others; the other regions that pass are listed inside it. The regions
are generic (every band and corner, the whole off-face area), never positions of known marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from reportgen.bias.findings import (
    DOUBLING_CI_LOW_PP,
    MIN_EFFECT_PP,
    MIN_IMAGES,
    WARNING_CI_LOW_PP,
    Finding,
)
from reportgen.bias.probes import region_masks
from reportgen.bias.resample import bootstrap_counts, intervals
from reportgen.numbers import round_finite
from reportgen.severity import Severity

BAND = 0.12  # border band width, as a share of the image's height or width
CORNER = 0.20  # corner square side, as a share of the image's height or width
MECHANISM = "evidence outside the face"
# severity → (excess CI lower bound in pp, ratio CI lower bound), most severe first
RULES = {
    Severity.CRITICAL: (DOUBLING_CI_LOW_PP, 2.0),
    Severity.WARNING: (WARNING_CI_LOW_PP, 1.5),
    Severity.INFO: (MIN_EFFECT_PP, 1.25),
}


def off_face_masks(height: int, width: int) -> dict[str, np.ndarray]:
    """(h, w) float32 weights of each off-face region: soft periphery, bands, corners."""
    band_h, band_w = max(1, round(BAND * height)), max(1, round(BAND * width))
    corner_h, corner_w = max(1, round(CORNER * height)), max(1, round(CORNER * width))
    masks = {"outside the face": region_masks(height, width)["periphery"]}
    for name, (rows, cols) in {
        "top band": (slice(0, band_h), slice(None)),
        "bottom band": (slice(height - band_h, None), slice(None)),
        "left band": (slice(None), slice(0, band_w)),
        "right band": (slice(None), slice(width - band_w, None)),
        "top-left corner": (slice(0, corner_h), slice(0, corner_w)),
        "top-right corner": (slice(0, corner_h), slice(width - corner_w, None)),
        "bottom-left corner": (slice(height - corner_h, None), slice(0, corner_w)),
        "bottom-right corner": (slice(height - corner_h, None), slice(width - corner_w, None)),
    }.items():
        mask = np.zeros((height, width), np.float32)
        mask[rows, cols] = 1.0
        masks[name] = mask
    return masks


@dataclass(frozen=True)
class OffFaceShares:
    """Per class × region shares (0–1) and the class-vs-others difference (pp) with its CI."""

    regions: tuple[str, ...]
    area_shares: np.ndarray  # (R,) what a uniform map gives
    n_images: np.ndarray  # (K,) images predicted as each class (with a usable map)
    shares: np.ndarray  # (K, R) mean share among the class's predictions
    others: np.ndarray  # (K, R) mean share among the other classes' predictions
    excess: np.ndarray  # (K, R) pp, 100 × (shares − others)
    excess_ci: np.ndarray  # (K, R, 2)
    ratio_ci: np.ndarray  # (K, R, 2) of shares / others

    def ratio(self, k: int, r: int) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(self.shares[k, r] / self.others[k, r])

    def severity(self, k: int, r: int) -> Severity | None:
        """The severity class ``k``'s share in region ``r`` earns (None: not unusual)."""
        return grade_region(float(self.excess_ci[k, r, 0]), float(self.ratio_ci[k, r, 0]))

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {
            "regions": list(self.regions),
            "area_shares": [round_finite(a) for a in self.area_shares],
            "per_predicted_class": [
                {"class": name, "n_images": int(self.n_images[k]),
                 **{region: {"share": round_finite(self.shares[k, r]),
                             "others": round_finite(self.others[k, r]),
                             "excess_pp": round_finite(self.excess[k, r]),
                             "excess_ci": [round_finite(v) for v in self.excess_ci[k, r]],
                             "ratio_ci": [round_finite(v) for v in self.ratio_ci[k, r]]}
                    for r, region in enumerate(self.regions)}}
                for k, name in enumerate(class_names)],
        }


def off_face_shares(maps: np.ndarray, preds: np.ndarray, n_classes: int, seed: int) -> OffFaceShares:
    """Normalised maps (N, h, w) (NaN rows: no map), predicted classes (N,) → OffFaceShares."""
    masks = off_face_masks(*maps.shape[1:])
    weights = np.stack(list(masks.values())).reshape(len(masks), -1)
    per_image = maps.reshape(len(maps), -1).astype(np.float64) @ weights.T.astype(np.float64)
    valid = np.isfinite(per_image).all(axis=1)
    shares, groups = per_image[valid], np.asarray(preds)[valid]
    members = np.eye(n_classes)[groups]  # (N, K)
    spread = (members[:, :, None] * shares[:, None, :]).reshape(len(shares), -1)
    area = weights.mean(axis=1)
    point = _class_vs_others(np.ones((1, len(shares))), shares, members, spread)
    excesses, ratios = [np.full((1, *point[2].shape[1:]), np.nan)], [np.full((1, *point[2].shape[1:]), np.nan)]
    if len(shares):
        excesses, ratios = [], []
        with threadpool_limits(1, user_api="blas"):  # small products: see resample._BLAS_THREADS
            for counts in bootstrap_counts(len(shares), seed):
                inside, outside, excess = _class_vs_others(counts, shares, members, spread)
                excesses.append(excess)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratios.append(inside / outside)
    class_mean, others_mean, excess = (p[0] for p in point)
    return OffFaceShares(tuple(masks), area, members.sum(axis=0).astype(int), class_mean,
                         others_mean, excess, intervals(np.concatenate(excesses)),
                         intervals(np.concatenate(ratios)))


def _class_vs_others(counts: np.ndarray, shares: np.ndarray, members: np.ndarray,
                     spread: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample counts (B, N) → class means, others' means (B, K, R) and their difference in pp."""
    n_classes, n_regions = members.shape[1], shares.shape[1]
    class_sums = (counts @ spread).reshape(len(counts), n_classes, n_regions)
    class_sizes = (counts @ members)[:, :, None]
    total_sums = (counts @ shares)[:, None, :]
    total_sizes = counts.sum(axis=1)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = class_sums / class_sizes
        outside = (total_sums - class_sums) / (total_sizes - class_sizes)
    return inside, outside, 100.0 * (inside - outside)


def grade_region(excess_low: float, ratio_low: float) -> Severity | None:
    """Severity from the CI lower bounds of the excess (pp) and of the ratio to the others."""
    if not (np.isfinite(excess_low) and np.isfinite(ratio_low)):
        return None
    for severity, (min_pp, min_ratio) in RULES.items():
        if excess_low >= min_pp and ratio_low >= min_ratio:
            return severity
    return None


def off_face_findings(result: OffFaceShares, class_names: Sequence[str]) -> list[Finding]:
    """One finding per predicted class whose evidence sits unusually far outside the face."""
    findings = []
    for k, name in enumerate(class_names):
        if result.n_images[k] < MIN_IMAGES:
            continue
        graded = []
        for r in range(len(result.regions)):
            severity = result.severity(k, r)
            if severity is not None:
                graded.append((severity, r))
        if not graded:
            continue
        graded.sort(key=lambda sr: (-sr[0].rank, -result.ratio(k, sr[1])))
        findings.append(_finding(result, k, name, graded))
    return findings


def _finding(result: OffFaceShares, k: int, name: str,
             graded: list[tuple[Severity, int]]) -> Finding:
    severity, r = graded[0]
    region = result.regions[r]
    low, high = result.excess_ci[k, r]
    text = (f"Evidence outside the face: '{name}' predictions put {result.shares[k, r]:.0%} of "
            f"their saliency in the {region} (area {result.area_shares[r]:.0%}), "
            f"{result.ratio(k, r):.1f}× the other classes' {result.others[k, r]:.0%} "
            f"({result.excess[k, r]:+.1f} pp, 95% CI {low:.1f}–{high:.1f}; "
            f"{result.n_images[k]} images).")
    also = [f"{result.regions[j]} {result.shares[k, j]:.0%} vs {result.others[k, j]:.0%}"
            for _, j in graded[1:4]]
    if also:
        text += " Also: " + "; ".join(also) + "."
    support = tuple({"region": result.regions[j], "severity": s.value,
                     "share": round_finite(result.shares[k, j]),
                     "others": round_finite(result.others[k, j]),
                     "area": round_finite(result.area_shares[j]),
                     "excess_pp": round_finite(result.excess[k, j]),
                     "excess_ci": [round_finite(v) for v in result.excess_ci[k, j]]}
                    for s, j in graded)
    return Finding(f"off_face-{name}", f"saliency:{region}", k, name, text, severity,
                   float(result.excess[k, r]), float(low), float(high), mechanism=MECHANISM,
                   support=support)
