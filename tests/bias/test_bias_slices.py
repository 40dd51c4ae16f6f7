"""Natural slices: a model that calls dark images 'sad' is caught; an independent one is not."""

from __future__ import annotations

import numpy as np

from reportgen.bias.findings import Severity, slice_findings
from reportgen.bias.slices import SLICE_FEATURES, analyse_slices, slice_by

NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
N = 1000


def _data(dark_to_sad: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    brightness = rng.uniform(40, 200, N)
    labels = rng.integers(0, 7, N)
    preds = np.where(rng.random(N) < 0.7, labels, rng.integers(0, 7, N))
    if dark_to_sad:
        preds = np.where((brightness < 70) & (rng.random(N) < 0.6), 4, preds)
    return brightness, labels, preds, rng.normal(size=N)


def test_dark_images_called_sad_are_found() -> None:
    brightness, labels, preds, _ = _data(dark_to_sad=True)
    result = slice_by("brightness", SLICE_FEATURES["brightness"], brightness, labels, preds, 7, 0)
    assert result.sizes.tolist() == [200] * 5
    assert result.most_overcalled(0) == 4 and result.excess[0, 4] > 20
    assert result.excess_ci[0, 4, 0] > 5
    assert result.conditional_p < 0.01 and result.chi2_p < 0.01
    findings = slice_findings([result], NAMES)
    dark = [f for f in findings if f.id == "slice-brightness-low-sad"]
    assert dark and dark[0].severity is Severity.WARNING  # slices stop at warning
    assert "The darkest images (the lowest fifth by mean brightness)" in dark[0].text


def test_independent_predictions_give_no_finding() -> None:
    _, labels, preds, noise = _data(dark_to_sad=False)
    result = slice_by("brightness", SLICE_FEATURES["brightness"], noise, labels, preds, 7, 0)
    assert result.conditional_p > 0.05
    assert slice_findings([result], NAMES) == []


def test_excess_removes_the_class_mix() -> None:
    """Dark images that truly are 'sad' and are called 'sad' are no over-call."""
    brightness = np.linspace(0, 255, N)
    labels = np.where(brightness < 51, 4, 3)
    result = slice_by("brightness", SLICE_FEATURES["brightness"], brightness, labels, labels, 7, 0)
    assert result.pred_rates[0, 4] == 1.0 and np.allclose(result.excess, 0.0)
    assert result.chi2_p < 1e-6  # the marginal test sees the class mix ...
    assert result.conditional_p > 0.5  # ... the within-class test does not


def test_analyse_slices_on_images() -> None:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(60, 48, 48)).astype(np.uint8)
    labels = rng.integers(0, 7, 60)
    results = analyse_slices(images, labels, labels, 7, seed=0)
    assert [r.name for r in results] == list(SLICE_FEATURES)
    for result in results:
        assert result.sizes.sum() == 60 and np.allclose(result.accuracy, 1.0)
        summary = result.to_summary(NAMES)
        assert set(summary["pred_rates"]) == set(NAMES)
