"""Spectral relevance analysis (SpRAy, Lapuschkin et al. 2019, "Unmasking Clever Hans predictors").

Per predicted class, up to ``MAX_MAPS`` normalised saliency maps (a seeded sample) are shrunk to
``GRID`` × ``GRID``, joined in a symmetric ``N_NEIGHBOURS``-nearest-neighbour graph, and
clustered spectrally; the number of clusters is the largest eigengap of the graph's normalised
Laplacian among 2…``MAX_CLUSTERS``. A cluster is *unusual* when, in some off-face region of
``reportgen.bias.offface`` (outside the face, a border band, a corner), its members' mean share
of saliency is at least ``UNUSUAL_RATIO`` times that of the class's other clusters and at least
``UNUSUAL_PP`` points above it, with at least ``MIN_CLUSTER`` members: a group of images the
model explains by something away from the face. Unusual clusters are shown with their mean map
and members; they are not graded as findings (a cluster is a lead for a reader, not a measured
effect), and the off-face finding of the same class states the effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse.csgraph import laplacian
from skimage.transform import resize
from sklearn.cluster import SpectralClustering
from sklearn.neighbors import kneighbors_graph

from reportgen.bias.findings import MIN_IMAGES
from reportgen.bias.offface import off_face_masks
from reportgen.numbers import round_finite

MAX_MAPS = 500  # per class: bounds the cost (graph and eigenproblem grow with its square)
GRID = 12
N_NEIGHBOURS = 10
MAX_CLUSTERS = 6
MIN_CLUSTER = 10
UNUSUAL_RATIO = 1.8
UNUSUAL_PP = 4.0
N_MEMBERS = 6  # member images kept for the report


@dataclass(frozen=True)
class Cluster:
    """An unusual cluster of one class's saliency maps."""

    class_index: int
    size: int  # members among the class's sampled maps
    n_sampled: int
    region: str  # where it puts more of its evidence than the class's other clusters
    share: float  # 0–1, the members' mean share there
    rest_share: float  # 0–1, the class's other clusters' mean share there
    mean_map: np.ndarray = field(repr=False)  # (h, w) mean normalised map of the members
    rest_map: np.ndarray = field(repr=False)  # (h, w) that of the class's other sampled maps
    members: tuple[int, ...] = ()  # indices into the split, most typical first (≤ N_MEMBERS)
    sources: tuple[str, ...] = ()
    images: np.ndarray = field(default=None, repr=False)  # (≤ N_MEMBERS, h, w) uint8

    def describe(self, class_names: Sequence[str]) -> str:
        return (f"{self.size} of {self.n_sampled} '{class_names[self.class_index]}' maps form a "
                f"cluster that puts {self.share:.0%} of its saliency in the {self.region}, "
                f"against {self.rest_share:.0%} for the class's other clusters")

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"class": class_names[self.class_index], "size": self.size,
                "n_sampled": self.n_sampled, "region": self.region,
                "share": round_finite(self.share), "rest_share": round_finite(self.rest_share),
                "members": list(self.members), "sources": list(self.sources),
                "text": self.describe(class_names)}


@dataclass(frozen=True)
class SprayResult:
    """Per class: maps clustered and clusters chosen; and every unusual cluster."""

    n_sampled: np.ndarray  # (K,) maps clustered per class (0: too few to cluster)
    n_clusters: np.ndarray  # (K,) clusters chosen by the eigengap (0: not clustered)
    clusters: list[Cluster]  # unusual clusters, largest excess first
    seconds: float = 0.0

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"max_maps": MAX_MAPS, "grid": GRID, "n_neighbours": N_NEIGHBOURS,
                "per_class": [{"class": name, "n_sampled": int(self.n_sampled[k]),
                               "n_clusters": int(self.n_clusters[k])}
                              for k, name in enumerate(class_names)],
                "unusual_clusters": [c.to_summary(class_names) for c in self.clusters]}


def spray(maps: np.ndarray, preds: np.ndarray, images: np.ndarray, n_classes: int, seed: int,
          sources: Sequence[str] | None = None) -> SprayResult:
    """Normalised maps (N, h, w) (NaN rows: none), predictions (N,), images (N, h, w) uint8."""
    valid = np.isfinite(maps).all(axis=(1, 2))
    masks = off_face_masks(*maps.shape[1:])
    weights = np.stack(list(masks.values())).reshape(len(masks), -1)
    rng = np.random.default_rng(seed)
    sampled, chosen, clusters = np.zeros(n_classes, int), np.zeros(n_classes, int), []
    for k in range(n_classes):
        members = np.flatnonzero(valid & (preds == k))
        if len(members) < max(MIN_IMAGES, 2 * MIN_CLUSTER):
            continue
        if len(members) > MAX_MAPS:
            members = np.sort(rng.choice(members, MAX_MAPS, replace=False))
        labels = cluster_maps(maps[members], seed)
        sampled[k], chosen[k] = len(members), labels.max() + 1
        shares = maps[members].reshape(len(members), -1) @ weights.T  # (n, R)
        found = _unusual(shares, labels, tuple(masks))
        if found is not None:
            clusters.append(_cluster(k, members, labels, *found, maps, shares, images, sources))
    clusters.sort(key=lambda c: -(c.share - c.rest_share))
    return SprayResult(sampled, chosen, clusters)


def cluster_maps(maps: np.ndarray, seed: int) -> np.ndarray:
    """Maps (n, h, w) → (n,) cluster labels from the kNN graph's spectral clustering."""
    small = resize(maps, (len(maps), GRID, GRID), anti_aliasing=True)
    small = small.reshape(len(maps), -1)
    small /= np.maximum(small.sum(axis=1, keepdims=True), 1e-12)
    graph = kneighbors_graph(small, min(N_NEIGHBOURS, len(maps) - 1), include_self=False)
    affinity = 0.5 * (graph + graph.T)
    eigenvalues = np.linalg.eigvalsh(laplacian(affinity, normed=True).toarray())
    gaps = np.diff(eigenvalues[: MAX_CLUSTERS + 1])
    n_clusters = int(np.argmax(gaps[1:])) + 2  # gap after the k-th eigenvalue → k clusters
    model = SpectralClustering(n_clusters, affinity="precomputed", random_state=seed,
                               assign_labels="cluster_qr")
    with warnings.catch_warnings():  # a graph in separate pieces is a clear cluster, not a fault
        warnings.filterwarnings("ignore", "Graph is not fully connected")
        return model.fit_predict(affinity)


def _unusual(shares: np.ndarray, labels: np.ndarray,
             regions: tuple[str, ...]) -> tuple[int, int, float, float] | None:
    """(cluster, region, share, rest share) of the largest unusual excess, or None."""
    best = None
    for c in range(labels.max() + 1):
        inside = labels == c
        if inside.sum() < MIN_CLUSTER or (~inside).sum() == 0:
            continue
        share, rest = shares[inside].mean(axis=0), shares[~inside].mean(axis=0)
        for r in range(len(regions)):
            excess = 100.0 * (share[r] - rest[r])
            unusual = excess >= UNUSUAL_PP and share[r] >= UNUSUAL_RATIO * rest[r]
            if unusual and (best is None or excess > 100.0 * (best[2] - best[3])):
                best = (c, r, float(share[r]), float(rest[r]))
    return best


def _cluster(k: int, members: np.ndarray, labels: np.ndarray, c: int, r: int, share: float,
             rest: float, maps: np.ndarray, shares: np.ndarray, images: np.ndarray,
             sources: Sequence[str] | None) -> Cluster:
    inside = labels == c
    order = np.argsort(-shares[inside, r], kind="stable")[:N_MEMBERS]
    picked = members[inside][order]
    regions = tuple(off_face_masks(*maps.shape[1:]))
    return Cluster(k, int(inside.sum()), len(members), regions[r], share, rest,
                   maps[members[inside]].mean(axis=0), maps[members[~inside]].mean(axis=0),
                   tuple(int(i) for i in picked),
                   tuple(str(sources[i]) for i in picked) if sources is not None else (),
                   np.asarray(images[picked], dtype=np.uint8))
