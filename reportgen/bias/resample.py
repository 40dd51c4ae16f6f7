"""Seeded, paired bootstrap of many statistics at once.

Every statistic here is a mean (or a ratio of sums) of per-image values, so one bootstrap
resample is a vector of counts per image and the resampled means of all columns are a single
matrix product. That shares each resample across all probes and classes (a paired bootstrap)
and is far faster than looping ``reportgen.stats.bootstrap_statistic_ci`` over ~150 statistics;
the resamples themselves come from ``reportgen.stats.bootstrap_index_chunks`` (the rows of
``bootstrap_indices``, drawn a chunk at a time), so seeds agree and memory does not grow with
resamples × images.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix
from threadpoolctl import threadpool_limits

from reportgen.stats import N_BOOTSTRAP, bootstrap_index_chunks, rows_per_chunk

# Resamples per matrix product, as before the draws were chunked: BLAS may sum in a different
# order for other shapes, and these products must stay bit-identical to earlier releases. Past
# 40,000 items fewer rows are drawn at a time (``rows_per_chunk``), so memory stays bounded;
# integer-valued statistics (every probe effect) are exact sums, so unaffected.
_CHUNK = 100

# These products are small; multi-threaded BLAS on a shared 2-core machine spent 10-30x longer
# waiting for its threads than computing (measured), so they run on one thread.
_BLAS_THREADS = 1
LEVEL = 0.95


def bootstrap_counts(n_items: int, seed: int, n_boot: int = N_BOOTSTRAP) -> Iterator[np.ndarray]:
    """Yield (<=100, n_items) float64 counts: how often each item is drawn in each resample."""
    for rows in bootstrap_index_chunks(n_items, seed, n_boot, rows_per_chunk(n_items, _CHUNK)):
        offsets = (np.arange(len(rows))[:, None] * n_items + rows).ravel()
        counts = np.bincount(offsets, minlength=len(rows) * n_items)
        yield counts.reshape(len(rows), n_items).astype(np.float64)


def bootstrap_means(values: np.ndarray, seed: int, n_boot: int = N_BOOTSTRAP) -> np.ndarray:
    """Per-item values (N, M) → (n_boot, M) column means over seeded resamples of the N items."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return np.full((n_boot, values.shape[1]), np.nan)
    with threadpool_limits(_BLAS_THREADS, user_api="blas"):
        chunks = [counts @ values / len(values)
                  for counts in bootstrap_counts(len(values), seed, n_boot)]
    return np.concatenate(chunks, axis=0)


# Category entries held in one sparse matrix (one per item and group): ~64 MB of float32
# values and int32 indices. More groups than fit are reduced in turns, each redrawing the same
# seeded resamples, so memory stays bounded at any N and the results do not change.
MAX_ENTRIES = 8_000_000


def bootstrap_category_counts(
    categories: Sequence[np.ndarray], n_categories: Sequence[int], seed: int,
    n_boot: int = N_BOOTSTRAP,
) -> Iterator[list[np.ndarray]]:
    """Per chunk of resamples: for each group g, (chunk, C_g) counts of drawn items per category.

    categories[g] (N,) ints in [0, C_g): item i's category in group g. The counts are those of
    the resamples of ``bootstrap_counts`` (same seed, same draws); they are exact integers.
    """
    n_items = len(categories[0])
    offsets = np.cumsum([0, *n_categories])
    columns = np.stack([np.asarray(c, np.int32) + np.int32(o)
                        for c, o in zip(categories, offsets[:-1])], axis=1)
    # one entry per item and group: a CSR matrix with G entries per row. float32 holds every
    # count exactly below 2^24 items.
    members = csr_matrix((np.ones(columns.size, np.float32), columns.ravel(),
                          np.arange(0, columns.size + 1, len(categories))),
                         shape=(n_items, int(offsets[-1]))).T.tocsr()
    del columns
    for counts in bootstrap_counts(n_items, seed, n_boot):
        per_category = (members @ counts.astype(np.float32).T).T.astype(np.float64)
        yield [per_category[:, start:stop] for start, stop in pairwise(offsets)]


def bootstrap_category_means(
    categories: Sequence[np.ndarray], tables: Sequence[np.ndarray], seed: int,
    n_boot: int = N_BOOTSTRAP,
) -> np.ndarray:
    """Resampled column means of per-item values that depend only on a category per item.

    categories[g] (N,) int: item i's category in group g; tables[g] (C_g, M_g): the values of
    each category. Returns (n_boot, ΣM_g), the same as ``bootstrap_means`` of the (N, ΣM_g)
    matrix ``[tables[g][categories[g]] for g]`` (bit for bit when the values are integers, as
    every sum is then exact) without building it: each resample is reduced to its counts per
    category, so memory is N × G small integers, not N × ΣM_g floats.
    """
    n_items = len(categories[0]) if categories else 0
    if n_items == 0:
        return np.full((n_boot, sum(t.shape[1] for t in tables)), np.nan)
    per_turn = max(1, MAX_ENTRIES // n_items)
    parts = []
    for first in range(0, len(tables), per_turn):
        turn = slice(first, first + per_turn)
        chunks = []
        with threadpool_limits(_BLAS_THREADS, user_api="blas"):
            for counts in bootstrap_category_counts(categories[turn],
                                                    [len(t) for t in tables[turn]], seed, n_boot):
                chunks.append(np.concatenate([c @ t for c, t in zip(counts, tables[turn])], axis=1)
                              / n_items)
        parts.append(np.concatenate(chunks, axis=0))
    return np.concatenate(parts, axis=1)


def bootstrap_group_means(
    values: np.ndarray, groups: np.ndarray, n_groups: int, seed: int, n_boot: int = N_BOOTSTRAP
) -> np.ndarray:
    """Per-item values (N, M), group ids (N,) in [0, G) → (n_boot, G, M) within-group means.

    The whole set is resampled (group sizes vary between resamples, as they would between
    samples); a group that draws no item in a resample gives NaN there.
    """
    values = np.asarray(values, dtype=np.float64)
    n_items, n_columns = values.shape
    members = np.eye(n_groups)[groups]  # (N, G) one-hot
    spread = (members[:, :, None] * values[:, None, :]).reshape(n_items, n_groups * n_columns)
    chunks = []
    with threadpool_limits(_BLAS_THREADS, user_api="blas"):
        for counts in bootstrap_counts(n_items, seed, n_boot):
            sums = (counts @ spread).reshape(len(counts), n_groups, n_columns)
            sizes = counts @ members  # (chunk, G)
            with np.errstate(invalid="ignore", divide="ignore"):
                chunks.append(sums / sizes[:, :, None])
    return np.concatenate(chunks, axis=0)


def intervals(samples: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Percentile intervals of bootstrap samples (n_boot, ...) → (..., 2) [low, high]; NaN-safe."""
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():  # an all-NaN column (empty group) is a valid NaN interval
        warnings.simplefilter("ignore", RuntimeWarning)
        bounds = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return np.moveaxis(bounds, 0, -1)
