"""The multi-index near-duplicate search finds exactly the pairs of the all-pairs search."""

from __future__ import annotations

import numpy as np

from reportgen.bias.hygiene import NEAR_HAMMING, near_pairs, perceptual_hashes


def _all_pairs(hashes: np.ndarray, candidates: np.ndarray) -> set[tuple[int, int]]:
    values = hashes[candidates]
    distances = np.bitwise_count(values[:, None] ^ values[None, :])
    i, j = np.nonzero(distances <= NEAR_HAMMING)
    return {(int(candidates[a]), int(candidates[b])) for a, b in zip(i, j) if a != b}


def test_near_pairs_equal_the_all_pairs_search():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 400, dtype=np.int64).astype(np.uint64)
    # planted neighbours at 0-6 flipped bits, so pairs on both sides of the limit exist
    flips = [np.bitwise_or.reduce(np.uint64(1) << rng.choice(64, k, replace=False).astype(np.uint64))
             if k else np.uint64(0) for k in rng.integers(0, 7, 300)]
    hashes = np.concatenate([base, base[:300] ^ np.array(flips, np.uint64)])
    candidates = np.flatnonzero(rng.random(len(hashes)) < 0.9)
    rows, cols = near_pairs(hashes, candidates)
    found = set(zip(rows.tolist(), cols.tolist()))
    expected = _all_pairs(hashes, candidates)
    assert found == expected and len(expected) > 100


def test_near_pairs_on_real_faces(demo_data):
    images = np.asarray(demo_data[0])
    hashes = perceptual_hashes(images)
    candidates = np.arange(len(images))
    rows, cols = near_pairs(hashes, candidates)
    assert set(zip(rows.tolist(), cols.tolist())) == _all_pairs(hashes, candidates)
