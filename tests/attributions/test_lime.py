"""LIME: equivalence with stock lime_image, segmentation size, hide colours."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from lime import lime_image

from reportgen.attributions.lime import (
    LimeExplainer,
    compile_masked_predict,
    hidden_image,
    perturb,
    segment,
)
from tests.conftest import DEMO_CSV


class FixedMasks(LimeExplainer):
    """Our LIME, but with the perturbation matrix that stock lime_image draws."""

    def __init__(self, *args, matrix_seed: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.matrix_seed = matrix_seed

    def masks(self, n_segments: int) -> np.ndarray:
        num_samples = int(self.params["num_samples"])
        rng = np.random.RandomState(self.matrix_seed)  # as LimeImageExplainer.data_labels
        masks = rng.randint(0, 2, num_samples * n_segments).reshape(num_samples, n_segments)
        masks[0, :] = 1
        return masks


@pytest.mark.parametrize("hide", ["mean", "segment_mean"])
def test_weights_match_stock_lime_image(tiny_classifier, face_like_images, hide):
    image = face_like_images[1].astype(np.float32)
    target = 3
    segments = segment(image)
    n_samples = 400

    ours = FixedMasks(tiny_classifier, num_samples=n_samples, hide=hide, matrix_seed=7)
    our_map = ours.explain(image[None], np.array([target]))[0]

    stock = lime_image.LimeImageExplainer(random_state=7)
    explanation = stock.explain_instance(
        image.astype(np.float64), lambda rgb: tiny_classifier.predict(rgb[..., 0]),
        labels=(target,), top_labels=None, num_samples=n_samples, batch_size=50,
        hide_color=float(image.mean()) if hide == "mean" else None,
        segmentation_fn=lambda _: segments, random_seed=0,
    )
    stock_weights = np.zeros(segments.max() + 1)
    for feature, weight in explanation.local_exp[target]:
        stock_weights[feature] = weight

    np.testing.assert_allclose(our_map, stock_weights[segments], rtol=1e-3,
                               atol=1e-4 * np.abs(stock_weights).max())
    assert np.abs(stock_weights).max() > 0


def demo_faces(n_images: int) -> np.ndarray:
    """The first ``n_images`` faces of the bundled demo CSV, (N, 48, 48) uint8."""
    with gzip.open(DEMO_CSV, "rt") as handle:
        rows = handle.read().splitlines()[1 : n_images + 1]
    pixels = [np.array(row.split(",")[1].split(), dtype=np.uint8) for row in rows]
    return np.stack(pixels).reshape(-1, 48, 48)


def test_segmentation_gives_30_to_60_superpixels_on_real_faces():
    counts = [segment(face).max() + 1 for face in demo_faces(40)]
    assert 30 <= min(counts) and max(counts) <= 60


def test_segments_are_labelled_densely():
    labels = segment(np.zeros((48, 48)))
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))


def test_perturb_replaces_only_switched_off_superpixels():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    segments = np.repeat([[0, 0, 1, 1]], 4, axis=0)
    hidden = hidden_image(image, segments, 100.0)
    out = perturb(image, hidden, segments, np.array([[1, 0], [0, 1]]))
    np.testing.assert_array_equal(out[0][:, :2], image[:, :2])
    assert (out[0][:, 2:] == 100).all() and (out[1][:, :2] == 100).all()


def test_hide_colours():
    image = np.array([[0.0, 10.0], [20.0, 30.0]], np.float32)
    segments = np.array([[0, 0], [1, 1]])
    assert (hidden_image(image, segments, "mean") == 15).all()
    np.testing.assert_array_equal(hidden_image(image, segments, "segment_mean"),
                                  [[5, 5], [25, 25]])
    assert (hidden_image(image, segments, 128) == 128).all()


def test_diagnostics_report_segment_counts(tiny_classifier, face_like_images):
    lime = LimeExplainer(tiny_classifier, num_samples=200)
    maps = lime.explain(face_like_images[:2], np.array([0, 1]))
    numbers = lime.diagnostics(face_like_images[:2], np.array([0, 1]), maps)
    assert 30 <= numbers["segments_min"] <= numbers["segments_max"] <= 60
    assert -1.0 <= numbers["fit_r2_median"] <= 1.0


def test_maps_are_constant_within_superpixels(tiny_classifier, face_like_images):
    lime = LimeExplainer(tiny_classifier, num_samples=200)
    amap = lime.explain(face_like_images[:1], np.array([2]))[0]
    labels = lime.segments(face_like_images[:1])[0]
    for label in np.unique(labels):
        assert np.ptp(amap[labels == label]) == 0


def test_in_graph_perturbation_matches_numpy_perturb(tiny_classifier, face_like_images):
    images = face_like_images[:2].astype(np.float32)
    segments = np.stack([segment(image) for image in images])
    hidden = np.stack([hidden_image(i, s, "segment_mean") for i, s in zip(images, segments)])
    rng = np.random.default_rng(0)
    masks = [rng.integers(0, 2, (5, s.max() + 1)).astype(bool) for s in segments]
    width = max(m.shape[1] for m in masks)
    padded = np.ones((10, width), bool)
    padded[:5, : masks[0].shape[1]] = masks[0]
    padded[5:, : masks[1].shape[1]] = masks[1]
    owners = np.repeat(np.arange(2, dtype=np.int32), 5)

    predict = compile_masked_predict(tiny_classifier)
    got = predict(images, hidden, segments.astype(np.int32), padded, owners).numpy()
    want = tiny_classifier.predict(np.concatenate([
        perturb(image, fill, labels, mask)
        for image, fill, labels, mask in zip(images, hidden, segments, masks)
    ]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
