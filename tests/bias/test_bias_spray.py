"""Spectral relevance analysis on hand-built saliency maps with a known sub-population."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from reportgen.bias.probes import region_masks
from reportgen.bias.spray import MAX_MAPS, spray

FEAR = 2


def _maps(n: int, seed: int) -> np.ndarray:
    """(n, 48, 48) smooth random maps centred on the face, normalised to sum to 1."""
    rng = np.random.default_rng(seed)
    maps = np.abs(gaussian_filter(rng.normal(size=(n, 48, 48)), sigma=(0, 3, 3)))
    maps *= region_masks(48, 48)["face"] + 0.1
    return (maps / maps.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def test_a_group_explained_by_a_corner_is_surfaced_with_its_members() -> None:
    maps = _maps(700, seed=0)
    preds = np.arange(700) % 7
    marked = np.flatnonzero(preds == FEAR)[:50]
    maps[marked, 39:45, 39:45] += 0.01  # these 'fear' maps look at the bottom-right corner
    maps /= maps.sum(axis=(1, 2), keepdims=True)
    images = np.zeros((700, 48, 48), np.uint8)
    result = spray(maps, preds, images, 7, seed=0, sources=[f"img{i}" for i in range(700)])
    (cluster,) = result.clusters
    assert cluster.class_index == FEAR and "corner" in cluster.region
    assert set(cluster.members) <= set(marked.tolist())
    assert cluster.sources[0] == f"img{cluster.members[0]}"
    assert cluster.share > 1.8 * cluster.rest_share
    assert (result.n_clusters[[0, 3]] >= 2).all()


def test_maps_without_such_a_group_surface_nothing_and_the_sample_is_capped() -> None:
    maps = _maps(1200, seed=1)
    preds = np.where(np.arange(1200) < 600, FEAR, 0)
    result = spray(maps, preds, np.zeros((1200, 48, 48), np.uint8), 7, seed=0)
    assert result.clusters == []
    assert result.n_sampled[FEAR] == MAX_MAPS and result.n_sampled[1] == 0
