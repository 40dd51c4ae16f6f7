"""Dataset hygiene: exact and near duplicates, conflicting labels, near-blank images.

- Exact duplicates: identical pixels (sha1 of the bytes), within the split and against other
  splits of the same source.
- Near duplicates: perceptual hash (DCT pHash, 64 bits) within ``NEAR_HAMMING`` bits, not
  exact copies. The hash is hand-written (a dozen lines with scipy's DCT) because no
  perceptual-hash package is a dependency; it follows the usual pHash recipe.
- Conflicting labels: duplicate groups (exact or near) whose images carry different labels.
- Near-blank: pixel standard deviation below ``BLANK_STD`` grey levels; left out of the
  near-duplicate search, since blank images all hash alike.
- Class marks: a region that many images of one class share in one extreme tone, from
  class-vs-rest pixel statistics with a Bonferroni threshold (``reportgen.bias.patterns``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.fft import dctn
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.transform import resize

from reportgen.bias.patterns import ClassMark, find_marks
from reportgen.loading.store import ImageArray

NEAR_HAMMING = 4  # of 64 bits: pHash pairs this close are the same picture, re-encoded or cropped
BLANK_STD = 3.0  # grey levels: no visible structure
N_EXAMPLES = 6  # examples kept per kind


@dataclass(frozen=True)
class ImageGroup:
    """Images that belong together (copies of one picture, or one blank image)."""

    indices: tuple[int, ...]
    sources: tuple[str, ...]
    labels: tuple[int, ...]
    images: np.ndarray = field(repr=False)  # (n, h, w) uint8, at most 4 kept for display
    unrelated: bool = False  # True: a list of separate images (e.g. near-blank), not copies

    @property
    def size(self) -> int:
        return len(self.indices)

    @property
    def conflict(self) -> bool:
        """Copies of one picture that carry different labels."""
        return not self.unrelated and len(set(self.labels)) > 1

    @property
    def short_sources(self) -> list[str]:
        """Sources without their folders (file names, or CSV rows as they are)."""
        return [source.replace("\\", "/").rsplit("/", 1)[-1] for source in self.sources]

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"sources": list(self.sources), "labels": [class_names[k] for k in self.labels]}


@dataclass(frozen=True)
class HygieneResult:
    """Counts and example groups of each hygiene problem."""

    class_names: tuple[str, ...]
    n_images: int
    exact_groups: list[ImageGroup]  # every group of ≥ 2 identical images
    near_groups: list[ImageGroup]  # groups of ≥ 2 near-identical images (not all identical)
    conflicting: list[ImageGroup]  # exact or near groups with more than one label
    near_blank: list[ImageGroup]  # one image per group
    cross_split: dict[str, list[ImageGroup]]  # split → images here whose copy is in that split
    marks: list[ClassMark] = field(default_factory=list)  # regions one class's images share

    @property
    def n_exact_copies(self) -> int:
        """Images that repeat an earlier image of the split."""
        return sum(len(g.indices) - 1 for g in self.exact_groups)

    @property
    def n_near_copies(self) -> int:
        return sum(len(g.indices) - 1 for g in self.near_groups)

    @property
    def thresholds(self) -> dict[str, float]:
        return {"near_hamming": NEAR_HAMMING, "blank_std": BLANK_STD}

    def example_sets(self) -> list[tuple[str, list[ImageGroup]]]:
        """(title, up to ``N_EXAMPLES`` groups) for every kind of problem found."""
        sets = [("Exact duplicates", self.exact_groups), ("Near duplicates", self.near_groups),
                ("Duplicates with conflicting labels", self.conflicting)]
        if self.near_blank:
            sets.append(("Near-blank images", [_collect(self.near_blank)]))
        sets += [(f"Also in split '{name}'", [_collect(groups)])
                 for name, groups in self.cross_split.items() if groups]
        return [(title, groups[:N_EXAMPLES]) for title, groups in sets if groups]

    def to_summary(self) -> dict:
        """JSON-ready counts, thresholds and up to ``N_EXAMPLES`` example groups per kind."""
        def examples(groups: list[ImageGroup]) -> list[dict]:
            return [g.to_summary(self.class_names) for g in groups[:N_EXAMPLES]]

        return {
            "n_images": self.n_images,
            "exact_duplicates": {"groups": len(self.exact_groups), "copies": self.n_exact_copies,
                                 "examples": examples(self.exact_groups)},
            "near_duplicates": {"groups": len(self.near_groups), "copies": self.n_near_copies,
                                "max_hamming_bits": NEAR_HAMMING,
                                "examples": examples(self.near_groups)},
            "conflicting_labels": {"groups": len(self.conflicting),
                                   "examples": examples(self.conflicting)},
            "near_blank": {"count": len(self.near_blank), "max_std": BLANK_STD,
                           "examples": examples(self.near_blank)},
            "cross_split": {name: {"count": len(groups), "examples": examples(groups)}
                            for name, groups in self.cross_split.items()},
            "class_marks": [mark.to_summary(self.class_names) for mark in self.marks],
        }


def check_hygiene(
    images: np.ndarray,
    labels: np.ndarray,
    sources: Sequence[str | int],
    class_names: Sequence[str],
    other_splits: dict[str, np.ndarray] | None = None,
) -> HygieneResult:
    """Images (N, h, w) uint8, labels (N,), sources (N,) (CSV rows or paths) → HygieneResult.

    ``other_splits`` maps split names to their images (M, h, w) uint8 for cross-split copies.
    """
    labels = np.asarray(labels)
    names = [str(s) for s in sources]
    digests, stds = [], []
    for chunk in _chunks(images):  # a chunk at a time: ``images`` may be a spill on disk
        chunk = np.asarray(chunk, dtype=np.uint8)
        digests += [hashlib.sha1(image.tobytes()).digest() for image in chunk]
        # per image: std's float64 copy of every pixel was 530 MB at 28,709 images
        stds.append(chunk.reshape(len(chunk), -1).std(axis=1))
    del chunk  # the loop's last chunk would stay referenced through the stages below
    # 20 raw bytes each (void, not "S20", which would drop trailing zero bytes)
    digests = np.frombuffer(b"".join(digests), dtype=np.dtype((np.void, 20)))
    exact_ids = np.unique(digests, return_inverse=True)[1]
    stds = np.concatenate(stds)
    blank = stds < BLANK_STD
    near_ids = _near_duplicate_ids(images, ~blank)

    none = np.zeros((0, *images.shape[1:]), np.uint8)

    def make(indices: Sequence[int]) -> ImageGroup:  # its images are read only if it is shown
        idx = tuple(int(i) for i in indices)
        return ImageGroup(idx, tuple(names[i] for i in idx), tuple(int(labels[i]) for i in idx),
                          none)

    def shown(groups: list[ImageGroup], limit: int = N_EXAMPLES) -> list[ImageGroup]:
        """``groups`` with the images of the first ``limit`` (those the report shows) read."""
        return [replace(g, images=images[list(g.indices[:4])]) if n < limit else g
                for n, g in enumerate(groups)]

    exact = [make(g) for g in _groups(exact_ids)]
    near = [make(g) for g in _groups(near_ids) if len(set(exact_ids[g])) > 1]
    # a near group contains its exact copies: count each conflicting picture once
    near_conflicts = [g for g in near if g.conflict]
    covered = {i for g in near_conflicts for i in g.indices}
    conflicting = [g for g in exact if g.conflict and not covered.issuperset(g.indices)]
    conflicting += near_conflicts
    cross = {}
    for split, others in (other_splits or {}).items():
        seen = {hashlib.sha1(image.tobytes()).digest() for image in np.asarray(others, np.uint8)}
        cross[split] = [make([i]) for i, digest in enumerate(digests) if bytes(digest) in seen]
    # one (h, w) image per group and at most 4 for a few: 4 per group was ~0.8 KB per image
    # of a split full of look-alikes
    return HygieneResult(tuple(class_names), len(images), shown(exact), shown(near),
                         shown(conflicting), shown([make([i]) for i in np.flatnonzero(blank)],
                                                   _COLLECTED),
                         {split: shown(groups, _COLLECTED) for split, groups in cross.items()},
                         find_marks(images, labels, len(class_names)))


_COLLECTED = 8  # single-image groups shown together (near-blank, cross-split)


def _collect(groups: list[ImageGroup], keep: int = _COLLECTED) -> ImageGroup:
    """Single-image groups gathered into one list for display."""
    return ImageGroup(
        tuple(i for g in groups for i in g.indices), tuple(s for g in groups for s in g.sources),
        tuple(k for g in groups for k in g.labels),
        np.concatenate([g.images for g in groups[:keep]]), unrelated=True,
    )


def perceptual_hashes(images: np.ndarray) -> np.ndarray:
    """Images (N, h, w) 0–255 → (N,) uint64 pHash: sign of the 8×8 low DCT vs its median."""
    small = resize(np.asarray(images, np.float32), (len(images), 32, 32), anti_aliasing=True)
    low = dctn(small, axes=(1, 2), norm="ortho")[:, :8, :8].reshape(len(images), 64)
    bits = low > np.median(low[:, 1:], axis=1, keepdims=True)  # DC excluded from the median
    return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)


def _near_duplicate_ids(images: ImageArray, usable: np.ndarray) -> np.ndarray:
    """(N,) component id: images within ``NEAR_HAMMING`` bits share an id (transitively)."""
    n_images = len(images)
    hashes = np.concatenate([perceptual_hashes(chunk) for chunk in _chunks(images)])
    rows, cols, new = [], [], 0
    for row, col in near_pairs(hashes, np.flatnonzero(usable)):
        row, col = _local_links(row, col)
        rows.append(row)
        cols.append(col)
        new += len(row)
        if new > MAX_EDGES:  # many look-alikes: keep only who is joined to whom
            ids = _components(rows, cols, n_images)
            rows, cols, new = [np.arange(n_images)], [_lowest_member(ids)], 0
    return _components(rows, cols, n_images)


def _local_links(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block of near pairs → edges joining each of its images to the lowest image of its
    component within the block: the same connectivity in at most one edge per image (a bucket
    of m look-alikes gives m², not m, pairs)."""
    nodes, inverse = np.unique(np.concatenate([rows, cols]), return_inverse=True)
    local = _components([inverse[:len(rows)]], [inverse[len(rows):]], len(nodes))
    return nodes, nodes[_lowest_member(local)]


MAX_EDGES = 4_000_000  # new edges held (64 MB) before all are reduced to one per image


def _components(rows: list[np.ndarray], cols: list[np.ndarray], n_images: int) -> np.ndarray:
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(row), np.int8), (row, col)), shape=(n_images, n_images))
    return connected_components(graph, directed=False)[1]


def _lowest_member(ids: np.ndarray) -> np.ndarray:
    """Component ids (N,) → (N,) the lowest index with each item's id: edges i → that index
    join exactly the same components."""
    present, lowest = np.unique(ids, return_index=True)
    first = np.zeros(ids.max() + 1 if len(ids) else 0, np.int64)
    first[present] = lowest
    return first[ids]


# 64 bits in NEAR_HAMMING + 1 runs: two hashes within NEAR_HAMMING bits agree on a whole run
# (pigeonhole), so only hashes sharing a run's value need comparing (multi-index hashing).
_RUNS = np.array_split(np.arange(64), NEAR_HAMMING + 1)
_PAIR_BLOCK = 4_000_000  # hash comparisons held at a time


def near_pairs(hashes: np.ndarray, candidates: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks of (rows, cols): every ordered pair of ``candidates`` whose hashes are within
    ``NEAR_HAMMING`` bits (each pair possibly more than once; self-pairs omitted).

    The same pairs as comparing all N² of them, found by comparing only hashes that share one
    of the ``_RUNS`` bit runs: about N²/8192 comparisons per run on spread-out hashes.
    """
    values = hashes[candidates]
    for bits in _RUNS:
        run = (values >> np.uint64(bits[0])) & np.uint64((1 << len(bits)) - 1)
        order = np.argsort(run, kind="stable")
        bounds = np.flatnonzero(np.diff(run[order])) + 1
        for bucket in np.split(order, bounds):
            if len(bucket) < 2:
                continue
            step = max(1, _PAIR_BLOCK // len(bucket))
            for start in range(0, len(bucket), step):
                block = bucket[start : start + step]
                distances = np.bitwise_count(values[block, None] ^ values[None, bucket])
                i, j = np.nonzero(distances <= NEAR_HAMMING)
                keep = block[i] != bucket[j]
                if keep.any():
                    yield candidates[block[i[keep]]], candidates[bucket[j[keep]]]


def _chunks(images: ImageArray, size: int = 2048) -> Iterator[np.ndarray]:
    """``size`` images at a time (one empty chunk for no images), for per-image work. A
    generator: on a spilled split each chunk is read from disk only when it is reached."""
    for start in range(0, max(len(images), 1), size):
        yield images[start : start + size]


def _groups(ids: np.ndarray) -> list[np.ndarray]:
    """Indices of every id shared by two or more items, groups in order of first index."""
    order = np.argsort(ids, kind="stable")
    bounds = np.flatnonzero(np.diff(ids[order])) + 1
    groups = [g for g in np.split(order, bounds) if len(g) > 1]
    return sorted(groups, key=lambda g: g[0])
