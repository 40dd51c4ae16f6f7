"""SHAP Partition: efficiency, and equality with stock shap whatever the batch size.

Slow: shap's numba kernels compile on first use.
"""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions.shap import ShapExplainer, blurred
from tests.attributions.conftest import block_images

pytestmark = pytest.mark.slow


def stock_partition(classifier, image: np.ndarray, target: int, max_evals: int,
                    seed: int) -> np.ndarray:
    """Stock shap at its defaults (batch_size 10), the same blur as an array mask value."""
    import shap

    masker = shap.maskers.Image(blurred(image, 10)[..., None], shape=(*image.shape, 1))
    explainer = shap.PartitionExplainer(lambda x: classifier.predict(x[..., 0]), masker)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        explanation = explainer(image[None, ..., None], max_evals=max_evals, outputs=[target],
                                silent=True)
    finally:
        np.random.set_state(state)
    return np.asarray(explanation.values)[0, :, :, 0, 0]


def test_values_sum_to_the_change_from_the_blurred_image(tiny_classifier, face_like_images):
    image = face_like_images[0].astype(np.float32)
    maps = ShapExplainer(tiny_classifier, max_evals=300, blur=10).explain(image[None],
                                                                          np.array([4]))
    p_image = tiny_classifier.predict(image[None])[0, 4]
    p_blurred = tiny_classifier.predict(blurred(image, 10)[None])[0, 4]
    np.testing.assert_allclose(maps.sum(), p_image - p_blurred, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("batch_size", [10, 256, 512])
def test_equals_stock_partition_at_its_defaults_whatever_the_batch_size(
        batch_size, quadrant_classifier):
    """The issue-13 check: 3 images explained together at batch 10, 256 and 512 each equal
    stock Partition (max_evals 500, its own batch of 10, same seed) to 1e-5, and also to a
    thousandth of the map's range, since these maps are small."""
    images = block_images(3, seed=1).astype(np.float32)
    targets = quadrant_classifier.predict(images).argmax(axis=1)
    ours = ShapExplainer(quadrant_classifier, batch_size=batch_size, seed=0).explain(images,
                                                                                    targets)
    for image, target, values in zip(images, targets, ours):
        stock = stock_partition(quadrant_classifier, image, int(target), 500, seed=0)
        assert np.abs(stock).max() > 0
        gap = np.abs(values - stock).max()
        assert gap <= 1e-5 and gap <= 1e-3 * np.abs(stock).max(), gap
