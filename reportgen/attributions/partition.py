"""shap's Partition (Owen value) search, run for many images in lockstep.

``shap.PartitionExplainer`` expands a best-first queue of partition-tree nodes, taking up to
``batch_size`` masked images (two per node) from it per model call. A large ``batch_size``
makes the search nearly breadth-first, so its maps depend on the batch size. Here every
image keeps shap's own per-step batch (``SEARCH_BATCH``, shap's default of 10); only the
model calls are shared: each step gathers every image's masked images and sends them to the
model together. The values then equal stock Partition at its defaults whatever the model's
batch size. ``PartitionSearch.step`` is a line-by-line copy of ``PartitionExplainer.owen``
(shap 0.51, ``fixed_context=None``) with the model call taken out of the loop.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

import numpy as np

SEARCH_BATCH = 10  # shap's default batch_size for PartitionExplainer with an Image masker


class PartitionTree:
    """The image masker's partition tree: (M-1, 4) scipy-style clustering and dense masks."""

    def __init__(self, height: int, width: int) -> None:
        import shap
        from shap.utils import make_masks

        masker = shap.maskers.Image(np.zeros((height, width, 1)), shape=(height, width, 1))
        self.clustering = masker.clustering
        self.n_leaves = len(self.clustering) + 1
        self.masks = make_masks(self.clustering).toarray()  # (2M-1, M) bool

    def lower_credit(self, dvalues: np.ndarray) -> np.ndarray:
        """(2M-1, ...) node values → (M, ...) leaf values, as shap's ``lower_credit``: each
        node's value is split over its two children in proportion to their leaf counts."""
        values = dvalues.copy()
        n = self.n_leaves
        sizes = np.ones(2 * n - 1)
        sizes[n:] = self.clustering[:, 3]
        # Children always have smaller indices than their parent, so one sweep from the root
        # down finishes every node before its children read it.
        for node in range(2 * n - 2, n - 1, -1):
            left, right = (int(c) for c in self.clustering[node - n, :2])
            values[left] += values[node] * sizes[left] / sizes[node]
            values[right] += values[node] * sizes[right] / sizes[node]
        return values[:n]


class PartitionSearch:
    """One image's Owen-value search for one output. Drive it with ``masks()`` / ``feed()``.

    ``f00``/``f11``: the output with everything hidden / shown, shape (1,); ``max_evals`` the
    budget as shap passes it to ``owen`` (the caller's max_evals minus the 2 base calls);
    ``seed`` seeds the tie-breaking draws as ``np.random.seed(seed)`` would for stock shap.
    """

    def __init__(self, tree: PartitionTree, f00: np.ndarray, f11: np.ndarray, max_evals: int,
                 seed: int, batch_size: int = SEARCH_BATCH) -> None:
        self.tree = tree
        self.max_evals = max_evals
        self.batch_size = batch_size
        self.random = np.random.RandomState(seed)
        self.dvalues = np.zeros((2 * tree.n_leaves - 1, len(f00)))
        self.queue: queue.PriorityQueue = queue.PriorityQueue()
        root = np.zeros(tree.n_leaves, dtype=bool)
        self.queue.put((0, 0, (root, f00, f11, len(self.dvalues) - 1, 1.0)))
        self.eval_count = 0
        self.pending: list[tuple] = []
        self.done = False

    def masks(self) -> np.ndarray:
        """(2k, M) bool masks to evaluate next; empty (and ``done``) when the search ended."""
        n = self.tree.n_leaves
        clustering = self.tree.clustering
        while not self.done:
            if self.queue.empty():
                self.done = True
                break
            if self.eval_count >= self.max_evals:
                while not self.queue.empty():
                    m00, f00, f11, ind, weight = self.queue.get()[2]
                    self.dvalues[ind] += (f11 - f00) * weight
                self.done = True
                break
            batch: list[np.ndarray] = []
            while (not self.queue.empty() and len(batch) < self.batch_size
                   and self.eval_count + len(batch) < self.max_evals):
                m00, f00, f11, ind, weight = self.queue.get()[2]
                lind = int(clustering[ind - n, 0]) if ind >= n else -1
                rind = int(clustering[ind - n, 1]) if ind >= n else -1
                distance = -1 if ind < n else clustering[ind - n, 2]
                if distance < 0:
                    self.dvalues[ind] += (f11 - f00) * weight
                    continue
                m10 = m00 | self.tree.masks[lind]
                m01 = m00 | self.tree.masks[rind]
                self.pending.append((m00, m10, m01, f00, f11, ind, lind, rind, weight))
                batch += [m10, m01]
            if batch:
                return np.array(batch)
        return np.zeros((0, n), dtype=bool)

    def feed(self, outputs: np.ndarray) -> None:
        """The outputs (2k, 1) float64 for the last ``masks()``; queues the children."""
        self.eval_count += len(outputs)
        put, randn = self.queue.put, self.random.randn
        for i, (m00, m10, m01, f00, f11, ind, lind, rind, weight) in enumerate(self.pending):
            f10, f01 = outputs[2 * i], outputs[2 * i + 1]
            new_weight = weight / 2
            put((-np.max(np.abs(f10 - f00)) * new_weight, randn(),
                 (m00, f00, f10, lind, new_weight)))
            put((-np.max(np.abs(f01 - f00)) * new_weight, randn(),
                 (m00, f00, f01, rind, new_weight)))
            put((-np.max(np.abs(f11 - f01)) * new_weight, randn(),
                 (m01, f01, f11, lind, new_weight)))
            put((-np.max(np.abs(f11 - f10)) * new_weight, randn(),
                 (m10, f10, f11, rind, new_weight)))
        self.pending = []


def owen_values(tree: PartitionTree, evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray],
                n_images: int, max_evals: int, seed: int,
                search_batch: int = SEARCH_BATCH) -> np.ndarray:
    """(n_images, M) Owen values, every image's search run in lockstep.

    ``evaluate(owners (B,), masks (B, M))`` → (B,) float64 output of image ``owners[b]``
    with the leaves in ``masks[b]`` shown (the caller batches the model calls).
    """
    leaves = tree.n_leaves
    owners = np.repeat(np.arange(n_images), 2)
    ends = np.tile([np.zeros(leaves, bool), np.ones(leaves, bool)], (n_images, 1))
    base = evaluate(owners, ends).reshape(n_images, 2)
    searches = [PartitionSearch(tree, base[i, :1], base[i, 1:], max_evals - 2, seed,
                                search_batch) for i in range(n_images)]
    while True:
        asked = [(i, search.masks()) for i, search in enumerate(searches) if not search.done]
        asked = [(i, masks) for i, masks in asked if len(masks)]
        if not asked:
            break
        owners = np.concatenate([np.full(len(masks), i) for i, masks in asked])
        outputs = evaluate(owners, np.concatenate([masks for _, masks in asked]))
        start = 0
        for i, masks in asked:
            searches[i].feed(outputs[start : start + len(masks), None])
            start += len(masks)
    values = np.zeros((n_images, leaves))
    for i, search in enumerate(searches):
        # Node values (2M-1, 1) → leaf values; interaction terms stay on the nodes (dvalues).
        values[i] = tree.lower_credit(search.dvalues)[:, 0]
    return values
