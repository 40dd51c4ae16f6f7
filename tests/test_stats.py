"""Chunked bootstrap resampling gives bit-identical results to the whole-array implementation.

The reference functions below are copies of the implementation before the resamples were drawn
in chunks (one (n_boot, N) index array per call); they are kept here as the known answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from reportgen.bias.resample import bootstrap_group_means, bootstrap_means
from reportgen.evaluation.evaluate import N_CALIBRATION_BINS, _bin_index, _bootstrap
from reportgen.stats import (
    N_BOOTSTRAP,
    bootstrap_index_chunks,
    bootstrap_indices,
    bootstrap_mean_ci,
    bootstrap_statistic_ci,
    percentile_ci,
)

SIZES = [1, 2, 7, 57, 1001, 3001]


def old_bootstrap_indices(n_items: int, seed: int, n_boot: int = N_BOOTSTRAP) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))


def old_bootstrap_counts(n_items, seed, n_boot=N_BOOTSTRAP):
    indices = old_bootstrap_indices(n_items, seed, n_boot)
    for start in range(0, n_boot, 100):
        rows = indices[start : start + 100]
        offsets = (np.arange(len(rows))[:, None] * n_items + rows).ravel()
        counts = np.bincount(offsets, minlength=len(rows) * n_items)
        yield counts.reshape(len(rows), n_items).astype(np.float64)


def old_bootstrap_means(values, seed, n_boot=N_BOOTSTRAP):
    values = np.asarray(values, dtype=np.float64)
    with threadpool_limits(1, user_api="blas"):
        chunks = [counts @ values / len(values)
                  for counts in old_bootstrap_counts(len(values), seed, n_boot)]
    return np.concatenate(chunks, axis=0)


def old_bootstrap_group_means(values, groups, n_groups, seed, n_boot=N_BOOTSTRAP):
    values = np.asarray(values, dtype=np.float64)
    n_items, n_columns = values.shape
    members = np.eye(n_groups)[groups]
    spread = (members[:, :, None] * values[:, None, :]).reshape(n_items, n_groups * n_columns)
    chunks = []
    with threadpool_limits(1, user_api="blas"):
        for counts in old_bootstrap_counts(n_items, seed, n_boot):
            sums = (counts @ spread).reshape(len(counts), n_groups, n_columns)
            sizes = counts @ members
            with np.errstate(invalid="ignore", divide="ignore"):
                chunks.append(sums / sizes[:, :, None])
    return np.concatenate(chunks, axis=0)


def old_evaluate_bootstrap(probs, preds, labels, seed):
    n_classes = probs.shape[1]
    index = old_bootstrap_indices(len(labels), seed, N_BOOTSTRAP)
    offsets = (np.arange(N_BOOTSTRAP) * n_classes)[:, None]
    y, p = labels[index], preds[index]
    hits = (y == p).astype(float)
    size = N_BOOTSTRAP * n_classes
    true_counts = np.bincount((offsets + y).ravel(), minlength=size).reshape(N_BOOTSTRAP, n_classes)
    pred_counts = np.bincount((offsets + p).ravel(), minlength=size).reshape(N_BOOTSTRAP, n_classes)
    tp = np.bincount((offsets + y).ravel(), hits.ravel(), size).reshape(N_BOOTSTRAP, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / true_counts
        precision = np.where(pred_counts > 0, tp / pred_counts, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = true_counts > 0
    f1 = np.where(present | (pred_counts > 0), np.nan_to_num(f1), np.nan)
    confidence = probs.max(axis=1)[index]
    bins = _bin_index(confidence) + (np.arange(N_BOOTSTRAP) * N_CALIBRATION_BINS)[:, None]
    size_bins = N_BOOTSTRAP * N_CALIBRATION_BINS
    shape = (N_BOOTSTRAP, N_CALIBRATION_BINS)
    bin_conf = np.bincount(bins.ravel(), confidence.ravel(), size_bins).reshape(shape)
    bin_hits = np.bincount(bins.ravel(), hits.ravel(), size_bins).reshape(shape)
    ece = np.abs(bin_hits - bin_conf).sum(axis=1) / len(labels)
    with _quiet():
        return {"accuracy": hits.mean(axis=1), "recall": recall,
                "balanced_accuracy": np.nanmean(recall, axis=1),
                "macro_f1": np.nanmean(f1, axis=1), "ece": ece}


@contextmanager
def _quiet() -> Iterator[None]:
    """nanmean of an all-NaN row (a class absent from a tiny resample) warns; the NaN is valid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit, NaNs in the same places."""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("n_items", SIZES)
@pytest.mark.parametrize("chunk", [1, 33, 50, 1000])
def test_index_chunks_are_the_rows_of_one_big_draw(n_items, chunk):
    rows = np.concatenate(list(bootstrap_index_chunks(n_items, seed=3, chunk=chunk)))
    assert same(rows, old_bootstrap_indices(n_items, seed=3))
    assert same(bootstrap_indices(n_items, seed=3), old_bootstrap_indices(n_items, seed=3))


@pytest.mark.parametrize("n_items", SIZES)
def test_resample_means_are_bit_identical(n_items):
    rng = np.random.default_rng(n_items)
    values = rng.normal(size=(n_items, 5))
    groups = rng.integers(0, 4, n_items)
    assert same(bootstrap_means(values, seed=7), old_bootstrap_means(values, seed=7))
    with np.errstate(invalid="ignore"):
        assert same(bootstrap_group_means(values, groups, 4, seed=7),
                    old_bootstrap_group_means(values, groups, 4, seed=7))


@pytest.mark.parametrize("n_items", SIZES)
def test_mean_and_statistic_cis_are_bit_identical(n_items):
    values = np.random.default_rng(n_items).exponential(size=n_items)
    old_means = values[old_bootstrap_indices(n_items, 5)].mean(axis=1)
    assert bootstrap_mean_ci(values, seed=5) == percentile_ci(old_means)
    old_samples = np.array([values[idx].max() for idx in old_bootstrap_indices(n_items, 5, 200)])
    assert bootstrap_statistic_ci(lambda idx: values[idx].max(), n_items, seed=5, n_boot=200) \
        == percentile_ci(old_samples)


@pytest.mark.parametrize("n_items", SIZES)
def test_metric_bootstrap_is_bit_identical(n_items):
    rng = np.random.default_rng(n_items)
    probs = rng.dirichlet(np.ones(7), size=n_items)
    labels = rng.integers(0, 7, n_items)
    preds = probs.argmax(axis=1)
    with _quiet():
        new = _bootstrap(probs, preds, labels, seed=2)
    old = old_evaluate_bootstrap(probs, preds, labels, seed=2)
    assert new.keys() == old.keys()
    for key in old:
        assert same(new[key], old[key]), key
