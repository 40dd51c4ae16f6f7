"""SHAP Partition: efficiency (values add up) and the blur masker. Slow: numba compiles."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions.shap import ShapExplainer, blurred, numpy_seed

pytestmark = pytest.mark.slow


def test_values_sum_to_the_change_from_the_blurred_image(tiny_classifier, face_like_images):
    image = face_like_images[0].astype(np.float32)
    maps = ShapExplainer(tiny_classifier, max_evals=300, blur=10).explain(image[None],
                                                                          np.array([4]))
    p_image = tiny_classifier.predict(image[None])[0, 4]
    p_blurred = tiny_classifier.predict(blurred(image, 10)[None])[0, 4]
    np.testing.assert_allclose(maps.sum(), p_image - p_blurred, rtol=1e-3, atol=1e-6)


def test_numpy_seed_restores_the_global_state():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    with numpy_seed(0):
        np.random.rand()
    assert np.random.rand() == expected
