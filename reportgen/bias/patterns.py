"""Data-side shortcuts: a mark or border that many images of one class share.

A data set in which some 'fear' images carry a small white square teaches any model "white
square means fear". Such a mark is found without a model, from class-conditional pixel
statistics:

1. For each tone (near-white ≥ 250, near-black ≤ 5), class and pixel: the share of the class's
   images whose pixel has that tone against the share of the other images (two-proportion z).
   A pixel is flagged when z passes a Bonferroni threshold over every pixel, class and tone
   (family-wise ``ALPHA``) and the shares differ by at least ``MIN_SHARE``.
2. Flagged pixels are joined into connected regions. A *mark* is a region that whole images
   carry: every pixel of it in that tone at once. Its share among the class's images must
   exceed the other images' share by ``MIN_EXCESS`` and be ``MIN_RATIO`` times it, pass the
   same z threshold, and cover at least ``MIN_MARKED`` images. Natural differences (the dark
   open mouth of 'surprise') flag pixels but are seldom all dark together, and white
   backgrounds fill corners of every class alike (6.7% of PublicTest images have an all-white
   4×4 bottom-right corner), so neither counts: on FER2013 PublicTest and Training no mark is
   found (the closest, 8 white pixels at the right edge in 11.6% of 'surprise' against 4.3%,
   stays below both limits), while 125 stamped 'fear' images of PublicTest are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import label
from scipy.stats import norm

from reportgen.loading.store import ImageArray, blocks

TONES = {"near-white": (250, 255), "near-black": (0, 5)}
ALPHA = 0.01
MIN_SHARE = 0.05
MIN_EXCESS = 0.10  # a mark's share in the class beyond the other images' share
MIN_RATIO = 3.0
MIN_PIXELS = 4
MIN_MARKED = 10  # images: "many images of one class", not a few look-alikes
N_EXAMPLES = 4
TAIL = 0.01  # a contrast region's image is "marked" beyond the other images' 1st/99th percentile


@dataclass(frozen=True)
class ClassMark:
    """A region that ``n_marked`` of the class's ``n_class`` images carry in one tone."""

    class_index: int
    tone: str
    rows: tuple[int, int]  # [top, bottom) in pixels
    columns: tuple[int, int]  # [left, right)
    n_pixels: int
    n_marked: int
    n_class: int
    share_class: float  # 0–1
    share_rest: float  # 0–1, among the other classes' images
    z: float
    examples: np.ndarray = field(repr=False)  # (≤ N_EXAMPLES, h, w) uint8 marked images

    def describe(self, class_names: Sequence[str]) -> str:
        name = class_names[self.class_index]
        return (f"{self.n_marked} of {self.n_class} '{name}' images ({self.share_class:.1%}) share "
                f"a {self.tone} region of {self.n_pixels} pixels at rows {self.rows[0]}–"
                f"{self.rows[1] - 1}, columns {self.columns[0]}–{self.columns[1] - 1}, against "
                f"{self.share_rest:.1%} of the other images: a mark a model can learn as a "
                f"shortcut to '{name}'")

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"class": class_names[self.class_index], "tone": self.tone,
                "rows": list(self.rows), "columns": list(self.columns),
                "n_pixels": self.n_pixels, "n_marked": self.n_marked, "n_class": self.n_class,
                "share_class": round(self.share_class, 6), "share_rest": round(self.share_rest, 6),
                "z": round(self.z, 3), "text": self.describe(class_names)}


def z_threshold(n_tests: int, alpha: float = ALPHA) -> float:
    """One-sided Bonferroni threshold on z for ``n_tests`` comparisons."""
    return float(norm.isf(alpha / max(n_tests, 1)))


def find_marks(images: ImageArray, labels: np.ndarray, n_classes: int) -> list[ClassMark]:
    """Images (N, h, w) uint8, labels (N,) → marks, largest class share first.

    Streams ``images`` a block at a time: one pass for every class's tone counts and pixel
    sums, then one per flagged region; nothing of the size of the split but (N,) vectors.
    """
    labels = np.asarray(labels)
    height, width = images.shape[1:]
    stats = _class_pixel_stats(images, labels, n_classes)
    threshold = z_threshold(height * width * n_classes * len(TONES))
    marks = []
    for tone, (low, high) in TONES.items():
        for k in range(n_classes):
            members = labels == k
            if members.sum() == 0 or (~members).sum() == 0:
                continue
            flagged = _flagged(stats.toned[tone], k, members, threshold)
            regions, n_regions = label(flagged)
            for r in range(1, n_regions + 1):
                region = regions == r
                if int(region.sum()) < MIN_PIXELS:
                    continue
                carried = _per_image(images, lambda block, region=region, low=low, high=high:
                                     ((block >= low) & (block <= high))[:, region].all(axis=1))
                mark = _mark(carried, images, members, region, k, tone, threshold)
                if mark is not None:
                    marks.append(mark)
    # a saturated mark also shifts the mean: state it once, as the saturated mark
    marks += [m for m in _contrast_marks(images, labels, n_classes, stats)
              if not any(_overlap(m, other) for other in marks)]
    return sorted(marks, key=lambda m: -m.share_class)


@dataclass(frozen=True)
class _PixelStats:
    """Per class and pixel: how many images have each tone there, and the pixel's sum and sum
    of squares (exact integers), from one pass over the split."""

    toned: dict[str, np.ndarray]  # tone → (K, h, w) int64 counts
    sums: np.ndarray  # (K, h*w) int64
    squares: np.ndarray  # (K, h*w) int64


def _class_pixel_stats(images: ImageArray, labels: np.ndarray, n_classes: int) -> _PixelStats:
    height, width = images.shape[1:]
    toned = {tone: np.zeros((n_classes, height, width), np.int64) for tone in TONES}
    sums = np.zeros((n_classes, height * width), np.int64)
    squares = np.zeros((n_classes, height * width), np.int64)
    for start, block in blocks(images):
        block = np.asarray(block, np.uint8)
        block_labels = labels[start : start + len(block)]
        flat = block.reshape(len(block), -1).astype(np.int64)
        for k in np.unique(block_labels):
            rows = block_labels == k
            for tone, (low, high) in TONES.items():
                toned[tone][k] += ((block[rows] >= low) & (block[rows] <= high)).sum(axis=0)
            sums[k] += flat[rows].sum(axis=0)
            squares[k] += (flat[rows] ** 2).sum(axis=0)
    return _PixelStats(toned, sums, squares)


def _per_image(images: ImageArray, measure: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``measure(block (n, h, w) uint8) → (n,)`` over the whole split, a block at a time."""
    parts = [measure(np.asarray(block, np.uint8)) for _, block in blocks(images)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _overlap(a: ClassMark, b: ClassMark) -> bool:
    return (a.class_index == b.class_index and a.rows[0] < b.rows[1] and b.rows[0] < a.rows[1]
            and a.columns[0] < b.columns[1] and b.columns[0] < a.columns[1])


def find_contrast_marks(images: ImageArray, labels: np.ndarray, n_classes: int) -> list[ClassMark]:
    """Unsaturated marks (a darkened border, a grey patch): images (N, h, w) uint8 → marks.

    Per class and pixel, the class-vs-rest mean difference in units of its pooled standard
    error (Welch-free two-sample z), flagged past the Bonferroni threshold over every pixel,
    class and sign. Expressions differ in the mean too (a smile brightens the mouth), so a
    flagged region counts only when its mean over the region puts a share of the class's
    images beyond the other images' ``TAIL`` quantile that passes the same limits as a
    saturated mark (``MIN_EXCESS``, ``MIN_RATIO``, ``MIN_MARKED``, z): an edit shared by many
    images of one class makes a tail; a shift of the whole class seldom does.
    """
    labels = np.asarray(labels)
    return _contrast_marks(images, labels, n_classes, _class_pixel_stats(images, labels, n_classes))


def _contrast_marks(images: ImageArray, labels: np.ndarray, n_classes: int,
                    stats: _PixelStats) -> list[ClassMark]:
    height, width = images.shape[1:]
    threshold = z_threshold(height * width * n_classes * 2)
    marks = []
    for k in range(n_classes):
        members = labels == k
        if members.sum() < MIN_MARKED or (~members).sum() < MIN_MARKED:
            continue
        z = _mean_z(stats, k, int(members.sum()), int((~members).sum())).reshape(height, width)
        for sign, tone in ((-1.0, "darker"), (1.0, "brighter")):
            regions, n_regions = label(sign * z > threshold)
            for r in range(1, n_regions + 1):
                mark = _tail_mark(images, members, regions == r, k, sign, tone, threshold)
                if mark is not None:
                    marks.append(mark)
    return marks


def _mean_z(stats: _PixelStats, k: int, n_a: int, n_b: int) -> np.ndarray:
    """(P,) class-vs-rest two-sample z per pixel, from exact integer sums.

    ``n·Σx² − (Σx)²`` is computed in int64 (exact up to ~10⁸ images of 8-bit pixels), so the
    variances are those of a two-pass computation in exact arithmetic.
    """
    sum_a, square_a = stats.sums[k], stats.squares[k]
    sum_b, square_b = stats.sums.sum(axis=0) - sum_a, stats.squares.sum(axis=0) - square_a
    # (n - 1)·var = (n·Σx² − (Σx)²) / n
    spread_a = (n_a * square_a - sum_a * sum_a) / n_a
    spread_b = (n_b * square_b - sum_b * sum_b) / n_b
    se = np.sqrt((spread_a + spread_b) / (n_a + n_b - 2) * (1 / n_a + 1 / n_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(se > 0, (sum_a / n_a - sum_b / n_b) / se, 0.0)


def _tail_mark(images: ImageArray, members: np.ndarray, region: np.ndarray,
               k: int, sign: float, tone: str, threshold: float) -> ClassMark | None:
    n_pixels = int(region.sum())
    if n_pixels < MIN_PIXELS:
        return None
    inside = region.ravel()

    # against the rest of the same image, so a class's brighter or darker photos overall
    # (lighting) do not count as a mark; an edit of one region does
    def contrast(block: np.ndarray) -> np.ndarray:
        pixels = block.reshape(len(block), -1).astype(np.float32)
        return sign * (pixels[:, inside].mean(axis=1) - pixels[:, ~inside].mean(axis=1))

    means = _per_image(images, contrast)
    limit = np.quantile(means[~members], 1.0 - TAIL)
    return _mark(means > limit, images, members, region, k, f"{tone} (mean contrast)", threshold)


def _two_proportion_z(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    pooled = (a * n_a + b * n_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(se > 0, (a - b) / se, 0.0)


def _flagged(toned: np.ndarray, k: int, members: np.ndarray, threshold: float) -> np.ndarray:
    """toned (K, h, w) counts per class → pixels where class k's share of the tone stands out."""
    n_a, n_b = int(members.sum()), int((~members).sum())
    share_a = toned[k] / n_a
    share_b = (toned.sum(axis=0) - toned[k]) / n_b
    z = _two_proportion_z(share_a, share_b, n_a, n_b)
    return (z > threshold) & (share_a - share_b >= MIN_SHARE)


def _mark(carried: np.ndarray, images: ImageArray, members: np.ndarray, region: np.ndarray,
          k: int, tone: str, threshold: float) -> ClassMark | None:
    """carried (N,) bool: the image holds the whole region in the tone at once."""
    n_pixels = int(region.sum())
    if n_pixels < MIN_PIXELS:
        return None
    n_a, n_b = int(members.sum()), int((~members).sum())
    share_a, share_b = carried[members].mean(), carried[~members].mean()
    z = float(_two_proportion_z(np.array(share_a), np.array(share_b), n_a, n_b))
    n_marked = int((members & carried).sum())
    if not (share_a - share_b >= MIN_EXCESS and share_a >= MIN_RATIO * share_b
            and n_marked >= MIN_MARKED and z > threshold):
        return None
    rows, cols = np.nonzero(region)
    marked = np.flatnonzero(members & carried)
    return ClassMark(k, tone, (int(rows.min()), int(rows.max()) + 1),
                     (int(cols.min()), int(cols.max()) + 1), n_pixels, len(marked), n_a,
                     float(share_a), float(share_b), z,
                     np.asarray(images[marked[:N_EXAMPLES]], dtype=np.uint8))
