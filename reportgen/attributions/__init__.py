"""Attribution stage: what in the face drives each prediction.

One interface (``Explainer.explain(images, targets) -> maps``), a plain dict registry of the
methods (LIME, SHAP, saliency, SmoothGrad, Integrated Gradients, Grad-CAM) and
``run_attributions``, which produces the immutable ``AttributionResult`` the report shows.
"""

from reportgen.attributions.base import Explainer, default_batch_size
from reportgen.attributions.registry import (
    DEFAULT_METHODS,
    REGISTRY,
    check_methods,
    default_methods,
    make_explainer,
)
from reportgen.attributions.result import AttributionResult, device_name
from reportgen.attributions.runner import run_attributions
from reportgen.attributions.settings import AttributionSettings

__all__ = [
    "DEFAULT_METHODS",
    "REGISTRY",
    "AttributionResult",
    "AttributionSettings",
    "Explainer",
    "check_methods",
    "default_batch_size",
    "default_methods",
    "device_name",
    "make_explainer",
    "run_attributions",
]
