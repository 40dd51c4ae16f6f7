"""Per-image features measured a chunk of images at a time equal one whole-array call, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bias import hygiene, slices
from reportgen.bias.hygiene import perceptual_hashes


@pytest.mark.parametrize("name", list(slices.SLICE_FEATURES))
def test_slice_features_in_chunks_equal_one_call(monkeypatch, demo_data, name):
    images = demo_data[0]
    feature = slices.SLICE_FEATURES[name]
    whole = feature.measure(np.asarray(images, np.float32))
    monkeypatch.setattr(slices, "_CHUNK_IMAGES", 7)
    np.testing.assert_array_equal(slices.measure_in_chunks(feature, images), whole)
    assert slices.measure_in_chunks(feature, images[:0]).shape == (0,)


def test_hygiene_hashes_and_spreads_in_chunks_equal_one_call(demo_data):
    images = np.asarray(demo_data[0])
    chunks = list(hygiene._chunks(images, 7))
    np.testing.assert_array_equal(np.concatenate([perceptual_hashes(c) for c in chunks]),
                                  perceptual_hashes(images))
    np.testing.assert_array_equal(np.concatenate([c.reshape(len(c), -1).std(axis=1) for c in chunks]),
                                  images.reshape(len(images), -1).std(axis=1))


def test_contrast_mark_z_from_streamed_sums_equals_a_two_pass_computation(demo_data):
    from reportgen.bias.patterns import _class_pixel_stats, _mean_z

    images, labels = demo_data
    pixels = np.asarray(images, np.float64).reshape(len(images), -1)
    stats = _class_pixel_stats(images, labels, 7)
    for k in range(7):
        members = labels == k
        inside, outside = pixels[members], pixels[~members]  # two-pass, in float64
        n_a, n_b = len(inside), len(outside)
        pooled = (n_a - 1) * inside.var(axis=0, ddof=1) + (n_b - 1) * outside.var(axis=0, ddof=1)
        se = np.sqrt(pooled / (n_a + n_b - 2) * (1 / n_a + 1 / n_b))
        with np.errstate(invalid="ignore", divide="ignore"):
            whole = np.where(se > 0, (inside.mean(axis=0) - outside.mean(axis=0)) / se, 0.0)
        np.testing.assert_allclose(_mean_z(stats, k, n_a, n_b), whole, rtol=1e-9, atol=1e-12)
