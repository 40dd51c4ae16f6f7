"""The attribution stage's output: every map and number the report shows.

Immutable, and complete enough that rendering never touches the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class AttributionResult:
    """Everything the attribution section shows. Arrays: M cases, G grid cases, K classes.

    Maps are float32 in each method's own units (see ``displays``); images are uint8 0–255.
    Mean maps have K+1 rows: correctly classified images of each class, then the errors
    predicted as ``sink_class``; magnitude methods average |map|, the others the signed map.
    """

    methods: tuple[str, ...]
    titles: dict[str, str]
    displays: dict[str, str]  # "signed" | "magnitude" | "positive"
    figures: dict[str, str]  # "overlay" | "superpixels": how the case figures draw it
    params: dict[str, dict[str, object]]
    descriptions: dict[str, str]  # "Title (param=value, ...)" for captions
    seconds: dict[str, float]
    n_images: dict[str, int]
    diagnostics: dict[str, dict[str, float]]
    device: str  # "GPU: <name>" or "CPU"
    batch_size: int
    seed: int
    sink_class: int
    case_indices: np.ndarray  # (M,) rows of the evaluated split
    case_sources: tuple[str, ...]  # (M,) "row R" or file path, as summary.json's cases
    case_images: np.ndarray  # (M, h, w) uint8
    case_labels: np.ndarray  # (M,)
    case_preds: np.ndarray  # (M,), the class each case is explained for
    case_probs: np.ndarray  # (M, K)
    case_maps: dict[str, np.ndarray]  # method → (M, h, w)
    segments: dict[str, np.ndarray]  # method → (M, h, w) region labels, methods that use them
    grid_indices: np.ndarray  # (G,)
    grid_sources: tuple[str, ...]  # (G,)
    grid_images: np.ndarray  # (G, h, w) uint8
    grid_labels: np.ndarray  # (G,)
    grid_preds: np.ndarray  # (G,)
    grid_probs: np.ndarray  # (G, K)
    grid_maps: dict[str, np.ndarray]  # method → (G, K, h, w)
    mean_methods: tuple[str, ...]
    mean_cap: int  # most images averaged per class
    mean_targets: np.ndarray  # (K+1,) the class each mean row explains
    mean_counts: np.ndarray  # (K+1,) images averaged per row
    mean_images: np.ndarray  # (K+1, h, w) float32, the average face of each row
    mean_maps: dict[str, np.ndarray]  # method → (K+1, h, w)

    def describe(self, method: str) -> str:
        """Caption text naming the method and its parameters."""
        return self.descriptions[method]

    def to_summary(self) -> dict[str, dict[str, object]]:
        """``{method: {n_images, seconds, device, params, **diagnostics}}`` for summary.json."""
        return {
            method: {
                "n_images": int(self.n_images[method]),
                "seconds": round(float(self.seconds[method]), 3),
                "device": self.device,
                "params": {key: _plain(value) for key, value in self.params[method].items()},
                **{key: float(value) for key, value in self.diagnostics[method].items()},
            }
            for method in self.methods
        }


def _plain(value: object) -> object:
    """JSON-safe parameter value."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def device_name() -> str:
    """``"GPU: <name>"`` when TensorFlow sees a GPU, else ``"CPU"``."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"
