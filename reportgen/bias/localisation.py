"""Where the attribution mass lies: periphery vs face, eye/brow band vs mouth band.

Maps are taken as |attribution| normalised to sum to 1 per image, so a region's share is the
fraction of the image's evidence that lies there (0–1). A uniform map would give each region its
area share, which is reported beside the measured shares as the reference point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.probes import region_masks
from reportgen.bias.resample import bootstrap_group_means, bootstrap_means, intervals
from reportgen.numbers import round_all, round_finite
from reportgen.progress import Track

Attribute = Callable[[np.ndarray, np.ndarray], np.ndarray]
ATTRIBUTION_BATCH = 512
REGIONS = ("periphery", "face", "eye band", "mouth band")


@dataclass(frozen=True)
class RegionShares:
    """Mean share of attribution per region for one group of images, with 95% CIs."""

    group: str
    n_images: int
    shares: np.ndarray  # (R,) 0–1, in ``REGIONS`` order
    shares_ci: np.ndarray  # (R, 2)

    def to_summary(self) -> dict:
        return {
            "group": self.group,
            "n_images": self.n_images,
            **{region: {"share": round_finite(s), "ci": [round_finite(lo), round_finite(hi)]}
               for region, s, (lo, hi) in zip(REGIONS, self.shares, self.shares_ci)},
        }


@dataclass(frozen=True)
class LocalisationResult:
    """Attribution shares per predicted class and for the errors that go into the sink class."""

    area_shares: np.ndarray  # (R,) what a uniform map gives
    per_class: list[RegionShares]  # one per predicted class (n_images may be 0)
    sink_errors: RegionShares | None
    sink_correct: RegionShares | None

    def to_summary(self) -> dict:
        return {
            "area_shares": dict(zip(REGIONS, round_all(self.area_shares))),
            "per_predicted_class": [group.to_summary() for group in self.per_class],
            "sink_errors": self.sink_errors.to_summary() if self.sink_errors else None,
            "sink_correct": self.sink_correct.to_summary() if self.sink_correct else None,
        }


def normalised_attributions(
    attribute: Attribute, images: np.ndarray, targets: np.ndarray,
    progress: Track | None = None,
) -> np.ndarray:
    """Images (N, h, w) 0–255, targets (N,) → (N, h, w) float32 |maps| summing to 1 (NaN if 0)."""
    maps = np.empty(images.shape, dtype=np.float32)
    advance = progress("Attribution localisation", len(images)) if progress else None
    for start in range(0, len(images), ATTRIBUTION_BATCH):
        stop = start + ATTRIBUTION_BATCH
        batch = np.asarray(images[start:stop], dtype=np.float32)
        maps[start:stop] = np.abs(np.asarray(attribute(batch, targets[start:stop]), np.float32))
        if advance:
            advance(len(batch))
    totals = maps.sum(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, maps / totals, np.nan).astype(np.float32)


def region_shares(maps: np.ndarray) -> np.ndarray:
    """Normalised maps (N, h, w) → (N, R) share of each map's mass in each region."""
    masks = region_masks(*maps.shape[1:])
    weights = np.stack([masks[region] for region in REGIONS]).reshape(len(REGIONS), -1)
    return maps.reshape(len(maps), -1) @ weights.T


def localise(
    maps: np.ndarray, labels: np.ndarray, preds: np.ndarray, sink: int | None,
    class_names: Sequence[str], seed: int,
) -> LocalisationResult:
    """Region shares by predicted class, and for errors into / correct calls of ``sink``."""
    shares = region_shares(maps)
    valid = np.isfinite(shares).all(axis=1)  # all-zero maps carry no location
    height, width = maps.shape[1:]
    areas = region_shares(np.full((1, height, width), 1.0 / (height * width), np.float32))[0]
    n_classes = len(class_names)
    grouped = bootstrap_group_means(shares[valid], preds[valid], n_classes, seed)
    cis = intervals(grouped)
    per_class = []
    for k, name in enumerate(class_names):
        members = valid & (preds == k)
        mean = shares[members].mean(axis=0) if members.any() else np.full(len(REGIONS), np.nan)
        per_class.append(RegionShares(f"predicted {name}", int(members.sum()), mean, cis[k]))
    if sink is None:
        return LocalisationResult(areas, per_class, None, None)
    errors = _group(shares, valid & (preds == sink) & (labels != sink),
                    f"errors into {class_names[sink]}", seed)
    correct = _group(shares, valid & (preds == sink) & (labels == sink),
                     f"correct {class_names[sink]}", seed)
    return LocalisationResult(areas, per_class, errors, correct)


def _group(shares: np.ndarray, members: np.ndarray, name: str, seed: int) -> RegionShares | None:
    if not members.any():
        return None
    subset = shares[members]
    return RegionShares(name, len(subset), subset.mean(axis=0),
                        intervals(bootstrap_means(subset, seed)))


