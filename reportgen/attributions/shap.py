"""SHAP: shap's Partition explainer with a blur Image masker, many images in lockstep.

Each image runs shap's own Partition search with shap's default per-step batch, so the values
equal stock ``shap.PartitionExplainer`` at its defaults (same ``max_evals``, masker and seed);
only the model calls are shared across images, in batches of ``batch_size`` (see
``partition.py``). The batch size therefore changes the speed, never the maps.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

from reportgen.attributions.base import Explainer, as_pixels, as_targets
from reportgen.attributions.partition import SEARCH_BATCH, PartitionTree, owen_values
from reportgen.loading.model import Classifier


def blurred(image: np.ndarray, size: int) -> np.ndarray:
    """(h, w) → (h, w) box blur of width ``size``.

    The same as shap's ``"blur(size,size)"`` mask value (cv2.blur, reflect-101 borders),
    which needs OpenCV, not a dependency of this project.
    """
    return uniform_filter(np.asarray(image, np.float32), size=size, mode="mirror")


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
        self.params = {"max_evals": int(max_evals), "masker": f"blur({blur},{blur})",
                       "search_batch": SEARCH_BATCH}
        self.blur = int(blur)
        self._tree: PartitionTree | None = None

    def explain(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, h, w) pixels, (N,) targets → (N, h, w) float32 Owen values."""
        pixels = as_pixels(images)
        classes = as_targets(targets, len(pixels))
        if len(pixels) == 0:
            return np.zeros_like(pixels)
        n_images, height, width = pixels.shape
        if self._tree is None or self._tree.n_leaves != height * width:
            self._tree = PartitionTree(height, width)
        shown = pixels.reshape(n_images, -1)
        # A hidden pixel shows the image's own blur, as shap's Image masker with that array.
        hidden = np.stack([blurred(image, self.blur) for image in pixels]).reshape(n_images, -1)

        def evaluate(owners: np.ndarray, masks: np.ndarray) -> np.ndarray:
            masked = np.where(masks, shown[owners], hidden[owners]).reshape(-1, height, width)
            probs = self.classifier.predict(masked, batch_size=self.batch_size)
            return probs[np.arange(len(owners)), classes[owners]].astype(np.float64)

        values = owen_values(self._tree, evaluate, n_images, int(self.params["max_evals"]),
                             self.seed, SEARCH_BATCH)
        return values.reshape(pixels.shape).astype(np.float32)
