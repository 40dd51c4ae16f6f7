"""Dataset hygiene on a small planted set of problems."""

from __future__ import annotations

import json

import numpy as np

from reportgen.bias.hygiene import check_hygiene, perceptual_hashes
from reportgen.report.render import make_environment

NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def _images(n: int = 40) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    smooth = gaussian_filter(rng.normal(size=(n, 48, 48)), sigma=(0, 3, 3))
    smooth /= smooth.std(axis=(1, 2), keepdims=True)
    return np.clip(128 + 50 * smooth, 0, 255).astype(np.uint8)


def test_planted_problems_are_found() -> None:
    images = _images()
    labels = np.arange(40) % 7
    images[10] = images[3]  # exact copy, labels 3 vs 3 → no conflict
    images[11] = images[4]  # exact copy, labels 4 vs 4
    labels[11] = 0  # ... now conflicting
    images[12] = np.clip(images[5].astype(int) + 3, 0, 255)  # near copy (brighter)
    images[20] = 90  # blank
    images[21] = 90 + (np.arange(48) % 2)[None, :]  # near-blank (std 0.5)
    sources = [f"row {i}" for i in range(40)]
    other = {"Training": np.stack([images[7], _images(41)[40]])}
    result = check_hygiene(images, labels, sources, NAMES, other_splits=other)
    assert [g.indices for g in result.exact_groups] == [(3, 10), (4, 11)]
    assert result.n_exact_copies == 2
    assert [g.indices for g in result.near_groups] == [(5, 12)]
    assert [g.indices for g in result.conflicting] == [(4, 11)]
    assert result.conflicting[0].conflict
    assert [g.indices for g in result.near_blank] == [(20,), (21,)]
    assert [g.indices for g in result.cross_split["Training"]] == [(7,)]
    titles = [title for title, _ in result.example_sets()]
    assert "Near-blank images" in titles and "Also in split 'Training'" in titles
    summary = result.to_summary()
    json.dumps(summary, allow_nan=False)
    assert summary["conflicting_labels"]["examples"][0] == {
        "sources": ["row 4", "row 11"], "labels": ["sad", "angry"]}
    # The stage keeps pixels; the renderer turns them into thumbnails.
    uris = make_environment().filters["data_uris"](result.exact_groups[0].images)
    assert uris[0].startswith("data:image/png;base64,")


def test_clean_set_has_no_problems() -> None:
    result = check_hygiene(_images(), np.zeros(40, int), list(range(40)), NAMES)
    assert not (result.exact_groups or result.near_groups or result.near_blank)
    assert result.example_sets() == []


def test_perceptual_hash_is_stable_under_small_changes() -> None:
    images = _images(3)
    hashes = perceptual_hashes(np.concatenate([images, np.clip(images * 1.05, 0, 255)]))
    assert hashes.dtype == np.uint64
    distance = [(int(a) ^ int(b)).bit_count() for a, b in zip(hashes[:3], hashes[3:])]
    assert max(distance) <= 4
    assert (int(hashes[0]) ^ int(hashes[1])).bit_count() > 10  # different pictures differ
