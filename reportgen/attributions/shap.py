"""SHAP: shap's Partition explainer with a blur Image masker, called with large batches.

The model is called through the classifier's compiled, batched ``predict`` with
``batch_size`` up to 512, instead of shap's default of 10 masked images per call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from scipy.ndimage import uniform_filter

from reportgen.attributions.base import Explainer, as_pixels, as_targets
from reportgen.loading.model import Classifier


def blurred(image: np.ndarray, size: int) -> np.ndarray:
    """(h, w) → (h, w) box blur of width ``size``.

    The same as shap's ``"blur(size,size)"`` mask value (cv2.blur, reflect-101 borders),
    which needs OpenCV, not a dependency of this project.
    """
    return uniform_filter(np.asarray(image, np.float32), size=size, mode="mirror")


@contextmanager
def numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG and restore it afterwards.

    shap's Partition explainer breaks priority ties with ``np.random.randn``; seeding it per
    image makes the maps reproducible without leaking state into the caller.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class ShapExplainer(Explainer):
    """Partition SHAP (Owen values) over a hierarchy of axis-aligned image blocks.

    A hidden block shows the image blurred with a ``blur`` x ``blur`` box filter. Values are
    in probability units and sum to p(image) - p(fully blurred image).
    """

    name = "shap"
    title = "SHAP (Partition)"
    display = "signed"
    stochastic = True  # shap breaks priority ties at random

    def __init__(self, classifier: Classifier, batch_size: int | None = None, seed: int = 0,
                 max_evals: int = 500, blur: int = 10) -> None:
        super().__init__(classifier, batch_size, seed)
        self.params = {"max_evals": int(max_evals), "masker": f"blur({blur},{blur})"}
        self.blur = int(blur)

    def _predict(self, masked: np.ndarray) -> np.ndarray:
        """(n, h, w, 1) masked images from shap → (n, K) probabilities."""
        return self.classifier.predict(masked[..., 0], batch_size=self.batch_size)

    def explain_one(self, image: np.ndarray, target: int) -> np.ndarray:
        """(h, w) pixels, a class → (h, w) float64 Owen values for that class."""
        # Imported here: shap pulls in pandas, numba and pyplot, seconds of start-up that an
        # audit without SHAP should not pay.
        import shap

        shape = (*image.shape, 1)
        # A fresh masker per image: an array mask value is the image's own blur.
        masker = shap.maskers.Image(blurred(image, self.blur)[..., None], shape=shape)
        explainer = shap.PartitionExplainer(self._predict, masker)
        with numpy_seed(self.seed):
            explanation = explainer(image[None, ..., None], max_evals=int(self.params["max_evals"]),
                                    batch_size=self.batch_size, outputs=[int(target)], silent=True)
        return np.asarray(explanation.values)[0, :, :, 0, 0]

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 Owen values."""
        pixels = as_pixels(images)
        classes = as_targets(targets, len(pixels))
        maps = np.zeros_like(pixels)
        for index, (image, target) in enumerate(zip(pixels, classes)):
            maps[index] = self.explain_one(image, int(target))
        return maps
