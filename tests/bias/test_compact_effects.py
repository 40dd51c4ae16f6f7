"""Probe effects from category counts equal the old whole-matrix bootstrap, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bias.effects import measure_effects
from reportgen.bias.probes import PROBES
from reportgen.bias.resample import bootstrap_means, intervals
from reportgen.stats import rows_per_chunk


def _matrix_effects(preds_before, preds_after, labels, n_classes, seed, reference):
    """The formula before issue 17: an (N, P × width) float64 matrix, bootstrapped whole."""
    onehot = np.eye(n_classes)
    before = onehot[preds_before]
    correct_before = (preds_before == labels).astype(np.float64)
    columns = []
    for p, after in enumerate(preds_after):
        change = 100.0 * (onehot[after] - before)
        columns += [change, (after != preds_before).astype(np.float64)[:, None],
                    100.0 * ((after == labels) - correct_before)[:, None]]
        if reference is not None:
            columns.append(change - 100.0 * (onehot[reference[1][p]] - onehot[reference[0]]))
    values = np.concatenate(columns, axis=1)
    return values.mean(axis=0), intervals(bootstrap_means(values, seed))


@pytest.mark.parametrize("with_reference", [False, True])
@pytest.mark.parametrize("entries", [None, 1500])
def test_category_bootstrap_equals_the_whole_matrix(monkeypatch, with_reference, entries):
    if entries is not None:  # a budget of 2 probes per turn: each turn redraws the same resamples
        from reportgen.bias import resample

        monkeypatch.setattr(resample, "MAX_ENTRIES", entries)
    rng = np.random.default_rng(3)
    n_images, n_classes, probes = 700, 7, [PROBES[name] for name in list(PROBES)[:5]]
    labels = rng.integers(0, n_classes, n_images)
    before = np.where(rng.random(n_images) < 0.6, labels, rng.integers(0, n_classes, n_images))
    after = np.where(rng.random((len(probes), n_images)) < 0.8, before,
                     rng.integers(0, n_classes, (len(probes), n_images))).astype(np.int16)
    reference = None
    if with_reference:
        reference = (rng.integers(0, n_classes, n_images),
                     rng.integers(0, n_classes, (len(probes), n_images)))
    effects = measure_effects(probes, before, after, labels, n_classes, 5, reference)
    points, cis = _matrix_effects(before, after.astype(np.int64), labels, n_classes, 5, reference)
    width = n_classes + 2 + (n_classes if with_reference else 0)
    points, cis = points.reshape(len(probes), width), cis.reshape(len(probes), width, 2)
    for effect, point, ci in zip(effects, points, cis):
        np.testing.assert_array_equal(effect.rate_change, point[:n_classes])
        np.testing.assert_array_equal(effect.rate_change_ci, ci[:n_classes])
        assert effect.flip_rate == point[n_classes] and effect.flip_ci == tuple(ci[n_classes])
        assert effect.accuracy_change == point[n_classes + 1]
        assert effect.accuracy_change_ci == tuple(ci[n_classes + 1])
        if with_reference:
            np.testing.assert_array_equal(effect.specific, point[n_classes + 2:])
            np.testing.assert_array_equal(effect.specific_ci, ci[n_classes + 2:])


def test_fewer_resamples_per_chunk_only_past_the_budget():
    assert rows_per_chunk(3_589) == rows_per_chunk(28_709) == 50
    assert rows_per_chunk(1_000_000) == 4 and rows_per_chunk(10**9) == 1
