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
    found = {pair for rows, cols in near_pairs(hashes, candidates)
             for pair in zip(rows.tolist(), cols.tolist())}
    expected = _all_pairs(hashes, candidates)
    assert found == expected and len(expected) > 100


def test_near_pairs_on_real_faces(demo_data):
    images = np.asarray(demo_data[0])
    hashes = perceptual_hashes(images)
    candidates = np.arange(len(images))
    found = {pair for rows, cols in near_pairs(hashes, candidates)
             for pair in zip(rows.tolist(), cols.tolist())}
    assert found == _all_pairs(hashes, candidates)


def test_many_look_alikes_give_the_same_groups_in_bounded_edges(monkeypatch):
    from reportgen.bias import hygiene

    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (30, 48, 48), dtype=np.uint8)
    copies = np.repeat(images, 12, axis=0)  # 12 look-alikes of each: 66 pairs per picture
    noisy = np.clip(copies + rng.integers(-2, 3, copies.shape), 0, 255).astype(np.uint8)
    usable = np.ones(len(noisy), bool)
    whole = hygiene._near_duplicate_ids(noisy, usable)
    monkeypatch.setattr(hygiene, "MAX_EDGES", 50)
    np.testing.assert_array_equal(hygiene._near_duplicate_ids(noisy, usable), whole)
    assert len(np.unique(whole)) < len(noisy)
