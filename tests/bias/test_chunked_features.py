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
    images = demo_data[0]
    chunks = hygiene._chunks(images, 7)
    np.testing.assert_array_equal(np.concatenate([perceptual_hashes(c) for c in chunks]),
                                  perceptual_hashes(images))
    np.testing.assert_array_equal(np.concatenate([c.reshape(len(c), -1).std(axis=1) for c in chunks]),
                                  images.reshape(len(images), -1).std(axis=1))
