"""Seeded bootstrap confidence intervals, anytime-valid confidence sequences and per-image rank
correlations shared by every stage."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from scipy.stats import rankdata

N_BOOTSTRAP = 1000
# Resamples drawn at a time: the full (n_boot, N) int64 array is 8 KB per image (230 MB on
# FER2013 Training) and was built on every call; 50 rows keep it at 400 B per image.
CHUNK = 50


# Index draws held at a time, whatever N: (rows, N) arrays stay at ~32 MB of int64 each.
DRAW_BUDGET = 4_000_000
LAMBDA_CAP = 0.5  # the betting fraction's cap in confidence sequences (c in Waudby-Smith & Ramdas)


def rows_per_chunk(n_items: int, most: int = CHUNK) -> int:
    """Resamples per chunk for ``n_items``: ``most`` up to 80,000 items at the default
    budget, fewer beyond (any chunking gives the same rows: ``bootstrap_index_chunks``)."""
    return int(min(most, max(1, DRAW_BUDGET // max(n_items, 1))))


def bootstrap_index_chunks(
    n_items: int, seed: int, n_boot: int = N_BOOTSTRAP, chunk: int = CHUNK
) -> Iterator[np.ndarray]:
    """Yield (<=chunk, n_items) int64 index rows; stacked, they equal ``bootstrap_indices``.

    numpy's Generator draws ``integers`` value by value from one stream (its 32-bit buffer lives
    in the bit generator), so rows drawn a chunk at a time are the rows of one big call
    (``tests/test_stats.py`` checks this bit for bit).
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, chunk):
        yield rng.integers(0, n_items, size=(min(chunk, n_boot - start), n_items))


def bootstrap_indices(n_items: int, seed: int, n_boot: int = N_BOOTSTRAP) -> np.ndarray:
    """(n_boot, n_items) int indices resampled with replacement, reproducible under ``seed``.

    Memory grows with n_boot × n_items: stages iterate ``bootstrap_index_chunks`` instead.
    """
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(n_boot, n_items))


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples along axis 0; NaNs are ignored."""
    tail = (1.0 - level) / 2.0 * 100.0
    if np.isnan(samples).all():  # e.g. the recall of a class with no images in the split
        return float("nan"), float("nan")
    low, high = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return float(low), float(high)


def wilson_ci(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / trials``; NaNs when ``trials`` is 0.

    Unlike the bootstrap, it is not degenerate at 0 and 1: 0 of 50 gives 0–7.1%, not 0–0%.
    """
    if trials <= 0:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    interval = binomtest(int(successes), int(trials)).proportion_ci(level, method="wilson")
    return float(interval.low), float(interval.high)


def bootstrap_mean_ci(
    values: np.ndarray, seed: int, n_boot: int = N_BOOTSTRAP, level: float = 0.95
) -> tuple[float, float]:
    """95% CI of the mean of ``values`` (N,) by the percentile bootstrap."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan")
    means = np.concatenate([values[rows].mean(axis=1)
                            for rows in bootstrap_index_chunks(len(values), seed, n_boot)])
    return percentile_ci(means, level)


def bootstrap_statistic_ci(
    statistic: Callable[[np.ndarray], float],
    n_items: int,
    seed: int,
    n_boot: int = N_BOOTSTRAP,
    level: float = 0.95,
) -> tuple[float, float]:
    """CI of ``statistic(indices)`` over bootstrap resamples of ``range(n_items)``."""
    if n_items == 0:
        return float("nan"), float("nan")
    samples = np.array([statistic(idx) for rows in bootstrap_index_chunks(n_items, seed, n_boot)
                        for idx in rows])
    return percentile_ci(samples, level)


def spearman_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N, ...) and (N, ...) → (N,) Spearman rank correlation of each pair of maps.

    Vectorised over images with ``scipy.stats.rankdata`` (ties get their average rank), as
    ``spearmanr`` would give pair by pair. A constant map carries no ranking, so its
    correlation is 0 rather than NaN.
    """
    ranks_a = _standardised_ranks(first)
    ranks_b = _standardised_ranks(second)
    return (ranks_a * ranks_b).mean(axis=1)


def _standardised_ranks(maps: np.ndarray) -> np.ndarray:
    flat = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    ranks = rankdata(flat, axis=1) if flat.size else flat
    centred = ranks - ranks.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


def confidence_bounds(values: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Anytime-valid bounds on the mean of values (t, M) in [0, 1], taken in row order.

    Returns (M,) lower and upper bounds after all t rows; at every t at once they hold with
    probability at least 1 - alpha per column (two-sided). Predictable plug-in empirical
    Bernstein (Waudby-Smith & Ramdas 2023, eq. 13-15): small variance gives tight bounds.
    """
    values = np.asarray(values, np.float64)
    t = len(values)
    if t == 0:
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    steps = np.arange(1, t + 1, dtype=np.float64)[:, None]
    means = (0.5 + np.cumsum(values, axis=0)) / (steps + 1)  # mu-hat_i, i = 1..t
    variances = (0.25 + np.cumsum((values - means) ** 2, axis=0)) / (steps + 1)
    previous_var = np.vstack([np.full((1, values.shape[1]), 0.25), variances[:-1]])
    previous_mean = np.vstack([np.full((1, values.shape[1]), 0.5), means[:-1]])
    log_term = np.log(2.0 / alpha)
    lambdas = np.minimum(np.sqrt(2 * log_term / (previous_var * steps * np.log1p(steps))),
                         LAMBDA_CAP)
    psi = (-np.log1p(-lambdas) - lambdas) / 4
    penalty = 4 * (values - previous_mean) ** 2 * psi
    weight = lambdas.sum(axis=0)
    centre = (lambdas * values).sum(axis=0) / weight
    half = (log_term + penalty.sum(axis=0)) / weight
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
